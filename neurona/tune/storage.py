"""Where a study lives: a SQLite file, a journal file, or a PostgreSQL (any SQLAlchemy) database.

    sqlite:///runs/tune-digits/study.db       the default: one worker on one machine
    journal:///abs/path/study.journal         several local workers (``--workers K`` without --storage)
    postgresql://user@host:5432/db            many machines: every worker runs the same command

Relational storages record a heartbeat for each running trial: when a worker dies mid-trial
(power cut, SIGKILL), the next worker to start a trial marks the dead one failed and queues
its parameters again (once). SQLite locks the whole file for each write, so it serves one
worker; several local workers share a journal file instead (Optuna's JournalStorage).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .space import TuneError

HEARTBEAT_S = 10
RELATIONAL = ("sqlite", "postgresql", "postgresql+psycopg2", "mysql", "mysql+pymysql")


def scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()


def check_url(url: str, workers: int = 1) -> None:
    """Refuse what cannot work before anything is written: an unknown scheme, SQLite with several workers."""
    s = scheme(url)
    if s not in RELATIONAL and s != "journal":
        raise TuneError(f"--storage {_safe(url)}: expected sqlite:///FILE, journal:///FILE or "
                        f"postgresql://USER@HOST[:PORT]/DB. Received scheme {s or 'none'!r}")
    if s == "sqlite" and workers > 1:
        raise TuneError(f"--storage {url}: SQLite serves one worker at a time (it locks the whole file on "
                        f"every write); for {workers} workers leave out --storage (a journal file is used) "
                        f"or use a PostgreSQL server")
    if s in ("sqlite", "journal") and not urlsplit(url).path.strip("/"):
        raise TuneError(f"--storage {url}: expected a file path after {s}:///")


def driver_url(url: str) -> str:
    """``postgresql://`` spelled with the psycopg2 driver that the ``tune`` extra installs
    (SQLAlchemy 2.1 picks psycopg 3 for a bare ``postgresql://``)."""
    if scheme(url) == "postgresql":
        return "postgresql+psycopg2" + url[len("postgresql"):]
    return url


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def _reachable(url: str) -> None:
    """Connect once, so an unreachable server or a wrong database is one clear line, not a traceback."""
    import sqlalchemy

    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
    try:
        timeout = {"connect_timeout": 5} if "postgres" in parts.scheme else {}
        engine = sqlalchemy.create_engine(url, connect_args=timeout)
        with engine.connect():
            pass
        engine.dispose()
    except ModuleNotFoundError as exc:
        raise TuneError(f"--storage {_safe(url)}: the database driver is missing ({exc.name}); "
                        f"pip install 'neurona[tune]'") from None
    except sqlalchemy.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise TuneError(f"cannot use the database at {where}: {reason}") from None


def open_storage(url: str, workers: int = 1, heartbeat: int = HEARTBEAT_S) -> Any:
    """An Optuna storage for ``url`` (checked, connected). ``heartbeat``: seconds between a running
    trial's signs of life; a trial silent for three of them is failed and retried once."""
    try:
        import optuna
    except ImportError:
        raise TuneError("hyperparameter search needs Optuna: pip install 'neurona[tune]'") from None
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    check_url(url, workers)
    if scheme(url) == "journal":
        path = Path(urlsplit(url).path)
        if not path.parent.is_dir():
            raise TuneError(f"--storage {url}: no such directory {path.parent}")
        return JournalStorage(JournalFileBackend(str(path)))
    if scheme(url) == "sqlite":
        path = Path(url.split(":///", 1)[1])
        if not path.parent.is_dir():
            raise TuneError(f"--storage {url}: no such directory {path.parent}")
    else:
        url = driver_url(url)
        _reachable(url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import sqlalchemy

    for attempt in range(5):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna since v2.8
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(url, heartbeat_interval=heartbeat, grace_period=3 * heartbeat,
                                  heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
                                  engine_kwargs={"pool_pre_ping": True})
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            # Workers started together on a fresh database all create Optuna's tables; one wins,
            # the others fail on the duplicate and find the tables there when they try again.
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")
