"""Atomic file writes: a crash or an error never leaves a half-written file behind.

The data goes to a temporary file in the destination's folder, is flushed to disk,
and then renamed over the destination in one step (``os.replace`` is atomic on the
same file system), so readers see the old file or the new one, never a mix.

* A symbolic link is followed: its target is replaced and the link stays a link.
* An existing file keeps its permission bits; a new one gets the usual ``0666 & ~umask``.
* Only regular files are replaced: a folder, a device node or a FIFO at the path is refused.
* A temporary file left by a save that was killed (its name carries the writer's process
  id) is removed by the next save of the same path.
* A full disk is reported with the path that could not be written.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

_SPACE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_active: set[str] = set()  # temporary files this process is writing now (other threads' saves)
_lock = threading.Lock()


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _remove_stale_temporaries(target: Path) -> None:
    """Delete ``.<name>.<pid>.*.tmp`` files of ``target`` whose writer is gone (a killed save)."""
    prefix = f".{target.name}."
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        pid = entry.name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit():
            continue  # not a name this module makes
        full = os.path.join(target.parent, entry.name)
        with _lock:
            busy = full in _active
        if busy or (int(pid) != os.getpid() and _pid_alive(int(pid))):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(full)
        except OSError:
            pass


def write_target(path: str | os.PathLike) -> Path:
    """The file a write to ``path`` replaces: the link's target for a symbolic link, checked to be
    a regular file (or absent)."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    if not stat.S_ISREG(mode):
        raise FileExistsError(errno.EEXIST, f"{path} is {_kind(mode)}, not a regular file: neurona writes only "
                                            "regular files and will not replace it; choose another path")
    return target


def atomic_write(path: str | os.PathLike, data: bytes | Callable[[IO[bytes]], None]) -> Path:
    """Write ``data`` (bytes, or a function that writes to a binary file) to exactly ``path``, atomically."""
    path = Path(path)
    target = write_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()  # mkstemp makes files private (0600); give the usual permissions
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    with _lock:
        _active.add(tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.errno in _SPACE_ERRORS:
            raise OSError(exc.errno, f"cannot write {path}: {os.strerror(exc.errno)} (the old file, if any, is "
                                     "unchanged; free some space or choose another folder)", str(path)) from exc
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        with _lock:
            _active.discard(tmp)
    return path
