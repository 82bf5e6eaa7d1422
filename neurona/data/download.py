"""Downloading dataset files: checksum verification, atomic writes, a progress bar, the cache dir.

A download goes to a temporary file beside its destination and is renamed into
place only after its size and checksum are verified, so an interrupted or
corrupted transfer never leaves a file that a later run would trust.
"""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

_CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A file could not be downloaded from any of its URLs (the message lists each attempt)."""


def cache_dir() -> Path:
    """neurona's download cache: ``$XDG_CACHE_HOME/neurona``, by default ``~/.cache/neurona``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "neurona"


def _parse_checksum(checksum: str) -> tuple[str, str]:
    """'md5:<hex>' / 'sha256:<hex>', or bare hex whose length says which (32 md5, 64 sha256)."""
    algo, _, digest = checksum.rpartition(":")
    if not algo:
        algo = {32: "md5", 64: "sha256"}.get(len(digest), "")
    if algo not in ("md5", "sha256") or not digest:
        raise ValueError(f"download: checksum must be 'md5:<hex>' or 'sha256:<hex>'. Received: {checksum!r}")
    return algo, digest.lower()


def file_checksum(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The hex digest of a file (md5 or sha256), read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url: str, tmp: Path, algo: str, timeout: float, progress: bool, size: int | None,
           max_bytes: int | None, deadline: float) -> str:
    """Stream url into tmp; return the digest. Raises on HTTP errors, short or oversized transfers,
    and when the whole transfer passes ``deadline`` (a ``time.monotonic()`` instant)."""
    h = hashlib.new(algo)
    received = 0
    cap = size if size is not None else max_bytes
    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and size is not None and total != size:
            raise DownloadError(f"the server announces {total} bytes; the file has {size}")
        if total is not None and cap is not None and total > cap:
            raise DownloadError(f"the server announces {total} bytes, more than the limit of {cap}")
        with open(tmp, "wb") as f, tqdm(total=total or size, unit="B", unit_scale=True, unit_divisor=1024,
                                        desc=Path(url).name, disable=not progress, leave=False) as bar:
            while True:
                # read1 returns what has arrived (one socket read, at most `timeout` seconds), so a
                # server that trickles bytes cannot keep one call waiting for a whole chunk
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if cap is not None and received > cap:
                    raise DownloadError(f"received more than the expected {cap} bytes")
                if time.monotonic() > deadline:
                    raise DownloadError(f"gave up after {received} bytes: the download took longer than "
                                        "its deadline")
                f.write(chunk)
                h.update(chunk)
                bar.update(len(chunk))
    # http.client returns a short body without complaint when the server hangs up early
    expected = total if total is not None else size
    if expected is not None and received != expected:
        raise DownloadError(f"connection closed after {received} of {expected} bytes")
    return h.hexdigest()


def download_file(urls: str | Sequence[str], destination: str | os.PathLike, checksum: str,
                  progress: bool = True, timeout: float = 30.0, size: int | None = None,
                  max_bytes: int | None = None, deadline: float | None = 1800.0) -> Path:
    """Download a file to ``destination``, trying each URL in turn, and verify its checksum.

    ``checksum`` is ``"sha256:<hex>"`` or ``"md5:<hex>"``. ``timeout``: seconds any one
    read (or the connection) may wait; ``deadline``: seconds the whole download of the
    file may take, over all URLs (None: no limit). ``size``: the file's known size in
    bytes (a transfer of any other size fails as soon as that is clear); ``max_bytes``:
    an upper bound when the exact size is unknown. The bytes are written to a temporary
    file in the destination's folder and renamed into place only when the transfer is
    complete and the checksum matches; on any failure (interruptions included) the
    temporary file is removed. Raises ``DownloadError`` listing every URL tried and why it failed.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    algo, expected = _parse_checksum(checksum)
    for name, value in (("size", size), ("max_bytes", max_bytes)):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ValueError(f"download: {name} must be a whole number of bytes >= 0. Received: {name}={value!r}")
    if deadline is not None and not deadline > 0:
        raise ValueError(f"download: deadline must be a positive number of seconds or None. "
                         f"Received: deadline={deadline!r}")
    end = time.monotonic() + deadline if deadline is not None else math.inf
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f".{destination.name}.{os.getpid()}.part")
    failures = []
    for url in urls:
        if time.monotonic() > end:
            failures.append(f"{url}: not tried, the deadline of {deadline} s had passed")
            continue
        try:
            digest = _fetch(url, tmp, algo, timeout, progress, size, max_bytes, end)
            if digest != expected:
                raise DownloadError(f"{algo} checksum mismatch: expected {expected}, received {digest}")
            os.replace(tmp, destination)
            return destination
        except (DownloadError, urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            if isinstance(exc, urllib.error.HTTPError):
                reason = f"HTTP {exc.code} {exc.reason}"
            else:
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            failures.append(f"{url}: {reason}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(f"could not download {destination.name}:\n  " + "\n  ".join(failures))
