"""Reading ``.neurona`` files that may be damaged or hostile: every size is checked before it costs memory.

A model file is a zip archive (see ``saving``). Reading one trusts nothing in it:

* only the members the format uses are read (others are ignored unread); two members
  with one name, encrypted members and compression methods other than stored/deflate
  are refused; a member's declared size must fit the archive (at most ``MAX_RATIO``
  times its compressed size), so a small file cannot decompress into gigabytes;
* every ``.npy`` header (shape, dtype) is read and checked against the bytes that follow
  it before the array is allocated; weights must be float32 or float64, and nothing is
  ever unpickled;
* the architecture (JSON) is checked before any layer exists: at most ``MAX_LAYERS``
  layers, no integer larger than ``MAX_DIM`` in a layer's configuration, only concrete
  layer classes, an input shape of at most ``MAX_INPUT_ELEMENTS`` values; building it may
  then allocate no more weight memory than the file holds (``nn.module.weight_budget``).

Every problem is a ``ModelFileError`` that names the file and what is wrong with it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import zipfile
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from ..nn.module import Module, find_layer_class

MANIFEST = "neurona.json"
MAX_JSON_BYTES = 8 << 20  # the architecture of a 1,000-layer network is well under 1 MB
MAX_RATIO = 20  # decompressed / compressed size of a member, and of all of them / the file (floats: ~1.1)
MAX_LAYERS = 10_000
MAX_DEPTH = 100  # nesting of the architecture's JSON
MAX_DIM = 1 << 24  # the largest number a layer's configuration may hold (units, filters, sizes...)
MAX_INPUT_ELEMENTS = 1 << 25  # values in one input sample (a 2048 x 2048 x 8 image)
_FREE_NUMBERS = {"seed", "name"}  # configuration keys whose numbers size nothing
WEIGHT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
BUILD_HEADROOM = 1 << 30  # memory for building on one sample beyond twice the weights (activations, temporaries)


class ModelFileError(ValueError):
    """A file that is not a neurona model, is damaged, or comes from a newer neurona."""


def check_regular_file(path: str, what: str) -> int:
    """The size of ``path``, which must be a regular file (a FIFO would block, a folder cannot be read)."""
    mode = os.stat(path).st_mode  # FileNotFoundError passes through as it is
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise ModelFileError(f"{path} is {kind}; expected a {what} file")
    return os.stat(path).st_size


# ---------------------------------------------------------------- zip members
def _members(z: zipfile.ZipFile, path: str, where: str) -> dict[str, zipfile.ZipInfo]:
    """{name: info}, refusing duplicate names and members whose declared sizes cannot be honest."""
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in z.infolist():
        if info.filename in infos:
            raise ModelFileError(f"{path} is damaged or forged: {where} holds two members named {info.filename!r}")
        infos[info.filename] = info
    return infos


def _check_member(info: zipfile.ZipInfo, path: str, where: str, available: int, limit: int | None = None,
                  left: list[int] | None = None) -> None:
    """Refuse a member whose declared sizes cannot be honest or exceed ``limit``; charge its size to ``left``
    (the bytes all the members read may still decompress into)."""
    name = f"{where}/{info.filename}" if where else info.filename
    if info.flag_bits & 0x1:
        raise ModelFileError(f"{path}: member {name} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFileError(f"{path}: member {name} uses compression method {info.compress_type}; "
                             "expected stored (0) or deflate (8)")
    if info.compress_size > available:
        raise ModelFileError(f"{path} is damaged: member {name} declares {info.compress_size} bytes but the "
                             f"archive holds {available}")
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise ModelFileError(f"{path} is damaged: stored member {name} declares {info.file_size} bytes "
                             f"uncompressed but {info.compress_size} stored")
    if info.file_size > MAX_RATIO * info.compress_size + 4096:
        raise ModelFileError(f"{path} is refused: member {name} would decompress {info.compress_size} bytes into "
                             f"{info.file_size} (more than {MAX_RATIO} times: a decompression bomb?)")
    if limit is not None and info.file_size > limit:
        raise ModelFileError(f"{path} is refused: member {name} holds {info.file_size} bytes; at most {limit} "
                             "are expected")
    if left is not None:
        if info.file_size > left[0]:
            raise ModelFileError(f"{path} is refused: with member {name} its members would decompress into more "
                                 f"than {MAX_RATIO} times the file's size (a decompression bomb?)")
        left[0] -= info.file_size


def _read_exactly(f: IO[bytes], n: int) -> bytearray:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = f.readinto(view[got:])
        if not k:
            raise EOFError(f"expected {n} bytes, found {got}")
        got += k
    return buf


def _read_npy(z: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, where: str, kinds: str) -> np.ndarray:
    """One .npy member: its header checked against its size and ``kinds`` before the data is read."""
    name = f"{where}/{info.filename}"
    with z.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ModelFileError(f"{path}: array {name} has .npy format version {version}; expected 1.0-3.0")
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in kinds:
            expected = "float32 or float64" if kinds == "f" else "numbers"
            raise ModelFileError(f"{path}: array {name} holds {dtype}; expected {expected}")
        if not all(isinstance(s, int) and s >= 0 for s in shape):
            raise ModelFileError(f"{path}: array {name} has an invalid shape {shape}")
        count = int(np.prod(shape, dtype=object))
        nbytes = count * dtype.itemsize
        if f.tell() + nbytes != info.file_size:
            raise ModelFileError(f"{path} is damaged: array {name} declares shape {shape} ({dtype}, {nbytes} bytes) "
                                 f"but its member holds {info.file_size - f.tell()} bytes of data")
        data = _read_exactly(f, nbytes)
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C")


def _read_npz(source: bytes | str, path: str, where: str, kinds: str, left: list[int]) -> dict[str, np.ndarray]:
    available = len(source) if isinstance(source, bytes) else os.path.getsize(source)
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as z:
        for name, info in _members(z, path, where).items():
            _check_member(info, path, where, available, left=left)
            if not name.endswith(".npy"):
                raise ModelFileError(f"{path}: {where} holds {name!r}; expected only .npy arrays")
            arrays[name[:-4]] = _read_npy(z, info, path, where, kinds)
    return arrays


def read_npz_file(path: str, kinds: str = "f") -> dict[str, np.ndarray]:
    """{key: array} from an npz file (``save_weights``'s), with the checks of ``read_archive``."""
    check_regular_file(path, "weights")
    try:
        return _read_npz(path, path, os.path.basename(path), kinds, [MAX_RATIO * os.path.getsize(path) + (1 << 20)])
    except ModelFileError:
        raise
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"{path} is not a weights file (npz), or it is damaged ({exc})") from None
    except (ValueError, OSError, KeyError, EOFError, MemoryError, NotImplementedError) as exc:
        raise ModelFileError(f"{path} is damaged and cannot be read ({type(exc).__name__}: {exc})") from None


def read_archive(path: str | os.PathLike, what: str = "neurona model",
                 blobs: dict[str, str] | None = None) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """(manifest, {blob: {key: array}}) from ``write_archive``'s file, reading only ``neurona.json`` and the
    ``<blob>.npz`` members named in ``blobs`` ({blob: dtype kinds allowed, "f" for floats}). Every size is
    checked before it is read; every problem is a ``ModelFileError`` naming the file."""
    path = os.fspath(path)
    blobs = {"weights": "f", "optimizer": "f"} if blobs is None else blobs
    size = check_regular_file(path, what)
    try:
        with zipfile.ZipFile(path) as z:
            members = _members(z, path, "")
            left = [MAX_RATIO * size + (1 << 20)]  # what all the members read may decompress into
            info = members.get(MANIFEST)
            if info is None:
                raise ModelFileError(f"{path} is not a {what} file (no {MANIFEST} inside)")
            _check_member(info, path, "", size, MAX_JSON_BYTES)
            with z.open(info) as f:
                manifest = json.loads(f.read().decode("utf-8"))
            out = {}
            for blob, kinds in blobs.items():
                info = members.get(f"{blob}.npz")
                if info is not None:
                    _check_member(info, path, "", size, left=left)
                    with z.open(info) as f:
                        data = f.read()
                    out[blob] = _read_npz(data, path, f"{blob}.npz", kinds, left)
    except (FileNotFoundError, ModelFileError):
        raise
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"{path} is not a {what} file, or it is damaged ({exc})") from None
    except RecursionError:
        raise ModelFileError(f"{path} is damaged or forged: its {MANIFEST} is nested too deeply") from None
    except (ValueError, OSError, KeyError, EOFError, UnicodeDecodeError, MemoryError, NotImplementedError) as exc:
        raise ModelFileError(f"{path} is damaged and cannot be read ({type(exc).__name__}: {exc})") from None
    if not isinstance(manifest, dict):
        raise ModelFileError(f"{path} is not a {what} file ({MANIFEST} is not a JSON object)")
    return manifest, out


def check_format(path: str, manifest: dict[str, Any], kind: str, version: int) -> None:
    """The manifest's format is ``kind`` and its version an integer this neurona reads."""
    from .. import __version__

    if manifest.get("format") != kind:
        raise ModelFileError(f"{path} is not a {kind} file (format {manifest.get('format')!r})")
    found = manifest.get("format_version")
    if type(found) is not int:  # noqa: E721 (True is an int to isinstance)
        raise ModelFileError(f"{path} is damaged: its format version is {found!r}; expected an integer")
    if found > version:
        raise ModelFileError(
            f"{path} was written in format version {found} by neurona {manifest.get('neurona_version', '?')}; "
            f"this neurona ({__version__}) reads format versions up to {version}: upgrade neurona to load it"
        )
    if found < 1:
        raise ModelFileError(f"{path} is damaged: its format version is {found}; expected 1 or more")


# ---------------------------------------------------------------- architecture
def _layer_class(name: str, custom_objects: dict[str, Any] | None, cache: dict[str, Any]) -> type | None:
    """The Module subclass ``name`` denotes, or None when it is no layer (an initializer, a regularizer)."""
    if name not in cache:
        try:
            cls = find_layer_class(name, custom_objects)
        except ValueError:
            cls = None
        cache[name] = cls if isinstance(cls, type) and issubclass(cls, Module) else None
    return cache[name]


def check_architecture(path: str, spec: Any, custom_objects: dict[str, Any] | None = None) -> int:
    """Check a serialized architecture before anything is built; return its number of layers.

    Refused: anything but {"class", "config"} layer descriptions, more than ``MAX_LAYERS`` layers or
    ``MAX_DEPTH`` levels, abstract or private layer classes, numbers beyond ``MAX_DIM``."""
    if not (isinstance(spec, dict) and isinstance(spec.get("class"), str) and isinstance(spec.get("config", {}), dict)):
        raise ModelFileError(f"{path}: the architecture must be a layer description {{'class': ..., 'config': {{...}}}}"
                             f". Received: {type(spec).__name__}")
    cache: dict[str, Any] = {}
    layers = 0
    stack: list[tuple[Any, int, str, str]] = [(spec, 0, "", "")]  # (value, depth, layer, key)
    while stack:
        value, depth, layer, key = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelFileError(f"{path}: the architecture is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            name = value.get("class")
            if isinstance(name, str) and "config" in value and (cls := _layer_class(name, custom_objects, cache)):
                layers += 1
                if layers > MAX_LAYERS:
                    raise ModelFileError(f"{path}: the architecture has more than {MAX_LAYERS} layers")
                _check_concrete(path, name, cls)
                if not isinstance(value["config"], dict):
                    raise ModelFileError(f"{path}: layer {name}'s config must be a JSON object. "
                                         f"Received: {type(value['config']).__name__}")
                label = value["config"].get("name")
                layer = f"{name} {label!r}" if isinstance(label, str) else name
            stack.extend((v, depth + 1, layer, str(k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, layer, key) for v in value)
        elif type(value) is int and key not in _FREE_NUMBERS:  # noqa: E721 (floats are values, not sizes:
            if abs(value) > MAX_DIM:  # a variance may be 1e10; a float size is bounded by the weight budget)
                raise ModelFileError(f"{path}: layer {layer or '?'} has {key}={value!r}; a saved layer's sizes are "
                                     f"at most {MAX_DIM}")
        elif value is not None and not isinstance(value, (str, bool, int, float)):
            raise ModelFileError(f"{path}: the architecture holds a {type(value).__name__}")
    if _layer_class(spec["class"], custom_objects, cache) is None:
        raise ModelFileError(f"{path}: unknown layer class {spec['class']!r}: import the module that defines it, or "
                             f"pass custom_objects={{{spec['class']!r}: {spec['class']}}}")
    return layers


def _check_concrete(path: str, name: str, cls: type) -> None:
    if cls is Module or name.startswith("_") or cls.forward is Module.forward:
        raise ModelFileError(f"{path}: layer class {name!r} is abstract (a base class without forward); a saved "
                             "model holds only concrete layers")
    if cls.get_config is Module.get_config:
        raise ModelFileError(f"{path}: layer class {name!r} cannot describe itself (no get_config), so no saved "
                             "model holds it")


def check_input_shape(path: str, shape: Any) -> tuple[int, ...]:
    """The saved sample shape (no batch axis): a list of positive integers of bounded size."""
    if shape is None:
        raise ModelFileError(f"{path} is damaged: it has no input_shape, needed to build the model")
    if not (isinstance(shape, list) and 1 <= len(shape) <= 8
            and all(type(s) is int and 0 < s <= MAX_DIM for s in shape)):  # noqa: E721 (no bools)
        raise ModelFileError(f"{path} is damaged: input_shape must be 1 to 8 positive integers. Received: {shape!r}")
    if int(np.prod(shape, dtype=object)) > MAX_INPUT_ELEMENTS:
        raise ModelFileError(f"{path}: input_shape {shape} has more than {MAX_INPUT_ELEMENTS} values per sample")
    return tuple(shape)


def _address_space() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


@contextlib.contextmanager
def build_memory_limit(weight_bytes: int) -> Iterator[int | None]:
    """Cap the process's address space, while a file's model is built on the CPU, at its present size plus
    twice the weights plus ``BUILD_HEADROOM``: an architecture whose activations for one sample would need
    gigabytes (a huge upsampling, thousands of filters on a large image) fails with a MemoryError at once
    instead of filling the machine. Yields the cap (None where it cannot be set: not Linux, a GPU, or a
    tighter limit already in place)."""
    from .. import backend

    try:
        import resource
    except ImportError:  # not a Unix
        yield None
        return
    current = _address_space()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = None if current is None else current + 2 * weight_bytes + BUILD_HEADROOM
    if (cap is None or backend.get_device() != "cpu" or (soft != resource.RLIM_INFINITY and soft <= cap)
            or (hard != resource.RLIM_INFINITY and cap > hard)):
        yield None
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield cap
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
