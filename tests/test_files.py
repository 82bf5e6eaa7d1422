"""Atomic writes: the file is complete or untouched, with the usual permissions."""

import errno
import os
import stat
import subprocess
import sys

import pytest

from neurona.files import atomic_write


def test_writes_bytes_and_callables_with_the_usual_permissions(tmp_path):
    path = atomic_write(tmp_path / "sub" / "a.bin", b"hello")
    assert path.read_bytes() == b"hello"
    atomic_write(path, lambda f: f.write(b"world"))
    assert path.read_bytes() == b"world"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_a_failing_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"old")

    def broken(f):
        f.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    real = tmp_path / "store" / "model.bin"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "latest.bin"
    link.symlink_to(real)
    atomic_write(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new"
    assert sorted(p.name for p in real.parent.iterdir()) == ["model.bin"]
    dangling = tmp_path / "dangling.bin"
    dangling.symlink_to(tmp_path / "store" / "future.bin")
    atomic_write(dangling, b"first")
    assert dangling.is_symlink() and (tmp_path / "store" / "future.bin").read_bytes() == b"first"


def test_an_existing_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "private.bin"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    atomic_write(path, b"new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_bytes() == b"new"
    os.chmod(path, 0o640)
    atomic_write(path, lambda f: f.write(b"newer"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_non_regular_files_are_refused_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileExistsError, match="pipe is a FIFO, not a regular file.*will not replace it"):
        atomic_write(fifo, b"x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(FileExistsError, match="folder is a folder"):
        atomic_write(folder, b"x")
    with pytest.raises(FileExistsError, match="is a character device"):
        atomic_write("/dev/null", b"x")
    link = tmp_path / "to_null"
    link.symlink_to("/dev/null")
    with pytest.raises(FileExistsError, match="to_null is a character device"):
        atomic_write(link, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "pipe", "to_null"]


def test_temporaries_of_a_killed_save_are_removed_by_the_next_save(tmp_path):
    path = tmp_path / "model.bin"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # a process that has exited: its temporary is stale
    stale = tmp_path / f".model.bin.{dead_pid}.abc123.tmp"
    stale.write_bytes(b"half a model")
    live = tmp_path / f".model.bin.{os.getppid()}.xyz.tmp"  # a writer that is still running: left alone
    live.write_bytes(b"being written")
    other = tmp_path / f".other.bin.{dead_pid}.abc.tmp"  # another file's temporary: not ours to judge
    other.write_bytes(b"x")
    atomic_write(path, b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name, "model.bin"])


def test_a_full_disk_names_the_path_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"old")

    def full(f):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="cannot write .*model.bin: No space left on device") as info:
        atomic_write(path, full)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]
