"""Atomic writes: the file is complete or untouched, with the usual permissions."""

import os
import stat

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
