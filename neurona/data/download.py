"""Downloading dataset files: checksum verification, atomic writes, a progress bar, the cache dir.

A download goes to a temporary file beside its destination and is renamed into
place only after its size and checksum are verified, so an interrupted or
corrupted transfer never leaves a file that a later run would trust.
"""

from __future__ import annotations

import hashlib
import http.client
import os
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


def _fetch(url: str, tmp: Path, algo: str, timeout: float, progress: bool) -> str:
    """Stream url into tmp; return the digest. Raises on HTTP errors and short transfers."""
    h = hashlib.new(algo)
    received = 0
    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        with open(tmp, "wb") as f, tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                                        desc=Path(url).name, disable=not progress, leave=False) as bar:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                f.write(chunk)
                h.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    # http.client returns a short body without complaint when the server hangs up early
    if total is not None and received != total:
        raise DownloadError(f"connection closed after {received} of {total} bytes")
    return h.hexdigest()


def download_file(urls: str | Sequence[str], destination: str | os.PathLike, checksum: str,
                  progress: bool = True, timeout: float = 30.0) -> Path:
    """Download a file to ``destination``, trying each URL in turn, and verify its checksum.

    ``checksum`` is ``"sha256:<hex>"`` or ``"md5:<hex>"``. The bytes are written to a
    temporary file in the destination's folder and renamed into place only when the
    transfer is complete and the checksum matches; on any failure nothing is left
    behind. Raises ``DownloadError`` listing every URL tried and why it failed.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    algo, expected = _parse_checksum(checksum)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f".{destination.name}.{os.getpid()}.part")
    failures = []
    for url in urls:
        try:
            digest = _fetch(url, tmp, algo, timeout, progress)
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
