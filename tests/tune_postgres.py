"""A private PostgreSQL server for the tests: initdb in a temporary folder, listening on 127.0.0.1 only.

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user
(created by Debian's package) through ``runuser``. Where no server can be had the tests
that need one skip, saying why; .ci/run installs the package so that CI always has one.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """initdb + pg_ctl start in ``root``; ``url`` connects as the superuser without a password."""

    def __init__(self) -> None:
        bindir = _bin_dir()
        if bindir is None:
            pytest.skip("no PostgreSQL server binaries (pg_ctl) found; .ci/run installs Debian's postgresql package")
        self.bindir = bindir
        self.prefix: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="neurona-pg-"))
        if os.geteuid() == 0:
            try:
                shutil.chown(self.root, user="postgres", group="postgres")
            except (LookupError, OSError) as exc:
                shutil.rmtree(self.root, ignore_errors=True)
                pytest.skip(f"running as root and there is no 'postgres' user to run the server as ({exc})")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *cmd: str) -> None:
        result = subprocess.run([*self.prefix, *cmd], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = (self.root / "server.log")
            tail = log.read_text()[-2000:] if log.is_file() else ""
            raise RuntimeError(f"{' '.join(cmd[:2])} failed: {result.stderr or result.stdout}{tail}")

    def start(self) -> Server:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "server.log"), "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        subprocess.run([*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def serve():
    """Generator for a fixture: yields the URL of a private server, stops it after (skips when none can be had)."""
    server = Server()
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        server.stop()
        pytest.skip(f"could not start a private PostgreSQL server: {str(exc).strip().splitlines()[0]}")
    yield server.url
    server.stop()
