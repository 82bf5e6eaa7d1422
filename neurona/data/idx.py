"""The IDX file format of MNIST and Fashion-MNIST: read and write, gzip or not.

An IDX file is a header and then the array's bytes, big-endian, in C order::

    byte 0-1   0x00 0x00
    byte 2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte 3     number of dimensions d
    4 * d      the size of each dimension, big-endian uint32
    ...        the data

``train-images-idx3-ubyte`` is uint8 (60000, 28, 28); ``train-labels-idx1-ubyte`` is uint8 (60000,).
Files ending in ``.gz`` are (de)compressed with gzip.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..files import atomic_write

_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_TYPES = {np.dtype(v).newbyteorder("="): k for k, v in _CODES.items()}


class IDXError(ValueError):
    """A file that is not a well-formed IDX file (bad magic, truncated, trailing bytes)."""


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":  # gzip's magic: decompress whatever the name says
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise IDXError(f"read_idx: {path} is a damaged or truncated gzip file ({exc}); "
                       "delete it and download it again") from None


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes (already decompressed) into an array in native byte order."""
    if len(data) < 4:
        raise IDXError(f"read_idx: {source} is too short to be an IDX file ({len(data)} bytes, the header needs 4)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _CODES:
        raise IDXError(f"read_idx: {source} is not an IDX file: expected the magic bytes 00 00 <type> <ndim> with "
                       f"type one of {', '.join(hex(c) for c in _CODES)}. Received: {data[:4].hex(' ')}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"read_idx: {source} is truncated inside its header (expected {header} bytes for {ndim} "
                       f"dimensions, received {len(data)})")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_CODES[code])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise IDXError(f"read_idx: {source} is {what}: a {dtype.newbyteorder('=')} array of shape {shape} "
                       f"needs {expected} bytes, the file has {len(data)}")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))  # native order, and a writable copy


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a NumPy array.

    >>> x = read_idx("train-images-idx3-ubyte.gz")     # uint8 (60000, 28, 28)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_idx: no such file: {path}")
    return parse_idx(_read_bytes(path), str(path))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write an array as an IDX file (gzip-compressed when the name ends in .gz), atomically.

    Supported dtypes: uint8, int8, int16, int32, float32, float64.
    """
    array = np.asarray(array)
    code = _TYPES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"write_idx: IDX stores uint8, int8, int16, int32, float32 or float64. "
                        f"Received: dtype={array.dtype}")
    if array.ndim > 255:
        raise ValueError(f"write_idx: IDX stores at most 255 dimensions. Received: ndim={array.ndim}")
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.dtype(_CODES[code])).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)
    return atomic_write(path, data)
