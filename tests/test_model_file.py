"""Hostile and damaged model files: each one is a ModelFileError naming the file and the problem, found
before anything large is decompressed or allocated (memory measured with tracemalloc)."""

import io
import json
import math
import os
import re
import stat
import tracemalloc
import zipfile

import numpy as np
import pytest

import neurona as nr
from neurona import nn, optim
from neurona.training import ModelFileError, load_model
from neurona.training.model_file import MAX_DIM, MAX_LAYERS

MB = 1 << 20


def small_model():
    model = nn.Sequential([nn.Dense(8, activation="relu"), nn.BatchNorm(), nn.Dense(3)])
    model.build((None, 4))
    return model


@pytest.fixture
def good(tmp_path):
    model = small_model()
    model.compile(optim.Adam(lr=0.01), "cross_entropy")
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    model.fit(x, np.arange(16) % 3, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "good.neurona"
    model.save(path)
    return path


def parts(path):
    """(manifest, {member name: bytes}) of a model file."""
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("neurona.json")), {n: z.read(n) for n in z.namelist() if n != "neurona.json"}


def npz(arrays, compress=False):
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, **arrays)
    return buf.getvalue()


def write(path, manifest, members, extra=()):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("neurona.json", manifest if isinstance(manifest, (str, bytes)) else json.dumps(manifest))
        for name, data in members.items():
            z.writestr(name, data)
        for name, data in extra:
            z.writestr(name, data)
    return path


def weights_of(good):
    manifest, members = parts(good)
    with np.load(io.BytesIO(members["weights.npz"])) as f:
        return manifest, {k: f[k] for k in f.files}


def refused(path, match, limit_mb=64):
    """load_model(path) raises a ModelFileError matching ``match`` that names the file, using < limit_mb
    (measured by tracemalloc unless limit_mb is None)."""
    if limit_mb is not None:
        tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=match) as info:
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1] if limit_mb is not None else 0
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert limit_mb is None or peak < limit_mb * MB, f"{peak / MB:.0f} MB to refuse {path}"
    return info.value


# ---------------------------------------------------------------- archive and arrays
def test_a_compressed_member_that_would_expand_a_hundredfold_is_refused_unread(good, tmp_path):
    manifest, members = parts(good)
    bomb = tmp_path / "bomb.neurona"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("neurona.json", json.dumps(manifest), compress_type=zipfile.ZIP_STORED)
        z.writestr("weights.npz", npz({"0.kernel": np.zeros((64, MB // 16), np.float32)}))  # 16 MB of zeros
    assert os.path.getsize(bomb) < 100_000
    refused(bomb, "weights.npz would decompress .* into 16777.* \\(more than 20 times: a decompression bomb",
            limit_mb=4)


def test_a_bomb_inside_the_weights_npz_is_refused(good, tmp_path):
    manifest, members = parts(good)
    inner = npz({"0.kernel": np.zeros((64, MB // 16), np.float32)}, compress=True)
    path = write(tmp_path / "inner.neurona", manifest, {"weights.npz": inner})
    refused(path, "weights.npz/0.kernel.npy would decompress", limit_mb=4)


def test_all_members_together_may_not_decompress_beyond_twenty_times_the_file(good, tmp_path):
    manifest, _ = parts(good)
    rng = np.random.default_rng(0)
    block = np.concatenate([rng.integers(0, 256, 1 << 20, dtype=np.uint8), np.zeros(15 << 20, np.uint8)])
    inner = npz({"0.kernel": block.view(np.float32)})  # 16 MB stored; deflates about 15:1, under the limit
    path = tmp_path / "nested.neurona"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("neurona.json", json.dumps(manifest))
        z.writestr("weights.npz", inner, compress_type=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("weights.npz")
        assert 10 * info.compress_size < info.file_size < 20 * info.compress_size
    refused(path, "with member weights.npz/0.kernel.npy its members would decompress into more than 20 times the "
                  "file's size", limit_mb=64)  # the 16 MB of weights.npz were read (bounded by the ratio)


def test_a_huge_declared_shape_is_refused_before_allocation(good, tmp_path):
    manifest, members = parts(good)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (100000, 100000)})
    forged = io.BytesIO()
    with zipfile.ZipFile(forged, "w") as z:
        z.writestr("0.kernel.npy", header.getvalue() + b"\0" * 64)
    path = write(tmp_path / "shape.neurona", manifest, {"weights.npz": forged.getvalue()})
    refused(path, r"0.kernel.npy declares shape \(100000, 100000\) .*40000000000 bytes.* holds 64 bytes", limit_mb=2)


def test_a_lying_zip_directory_is_refused(good, tmp_path):
    raw = bytearray(good.read_bytes())
    manifest, members = parts(good)
    # the central directory's uncompressed size of weights.npz, patched to 2 GB: stored members must agree
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("weights.npz")
    offset = raw.index(b"PK\x01\x02")  # central directory entries: name at +46, uncompressed size at +24
    while raw[offset + 46:offset + 46 + len(b"weights.npz")] != b"weights.npz":
        offset = raw.index(b"PK\x01\x02", offset + 4)
    raw[offset + 24:offset + 28] = (2**31 - 1).to_bytes(4, "little")
    path = tmp_path / "lying.neurona"
    path.write_bytes(bytes(raw))
    refused(path, f"stored member weights.npz declares 2147483647 bytes uncompressed but {info.compress_size} stored",
            limit_mb=2)


@pytest.mark.parametrize("dtype", ["int64", "int8", "bool", "complex64", "float16"])
def test_weights_must_be_float32_or_float64(good, tmp_path, dtype):
    manifest, weights = weights_of(good)
    weights["0.kernel"] = weights["0.kernel"].astype(dtype)
    path = write(tmp_path / "int.neurona", manifest, {"weights.npz": npz(weights)})
    refused(path, f"array weights.npz/0.kernel.npy holds {dtype}; expected float32 or float64|"
                  f"weight '0.kernel' is {dtype}; expected float32 or float64")


def test_duplicate_members_are_refused(good, tmp_path):
    manifest, members = parts(good)
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = write(tmp_path / "dup.neurona", manifest, members, extra=[("weights.npz", members["weights.npz"])])
    refused(path, "holds two members named 'weights.npz'")
    _, weights = weights_of(good)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z, pytest.warns(UserWarning, match="Duplicate name"):
        for key, a in [*weights.items(), ("0.kernel", weights["0.kernel"] * 0)]:
            buf = io.BytesIO()
            np.save(buf, a)
            z.writestr(f"{key}.npy", buf.getvalue())
    path = write(tmp_path / "dup2.neurona", manifest, {"weights.npz": inner.getvalue()})
    refused(path, "weights.npz holds two members named '0.kernel.npy'")


def test_unknown_members_are_ignored_unread(good, tmp_path):
    manifest, members = parts(good)
    path = tmp_path / "extra.neurona"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("neurona.json", json.dumps(manifest))
        for name, data in members.items():
            z.writestr(name, data)
        # a 50 MB deflate bomb nobody asked for: never decompressed
        z.writestr("notes.bin", b"\0" * (50 * MB), compress_type=zipfile.ZIP_DEFLATED)
    tracemalloc.start()
    model = load_model(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * MB
    assert np.array_equal(model.predict(np.ones((2, 4), np.float32)), load_model(good).predict(np.ones((2, 4))))


@pytest.mark.parametrize("version", ["1", 1.0, True, None, [1], 0])
def test_the_format_version_must_be_a_positive_integer(good, tmp_path, version):
    manifest, members = parts(good)
    path = write(tmp_path / "v.neurona", {**manifest, "format_version": version}, members)
    refused(path, f"format version is {re.escape(repr(version))}; expected an integer" if version != 0
            else "format version is 0; expected 1 or more")


def test_damaged_json_and_non_regular_paths(good, tmp_path):
    _, members = parts(good)
    refused(write(tmp_path / "a.neurona", "{not json", members), "is damaged and cannot be read .*JSONDecodeError")
    refused(write(tmp_path / "b.neurona", "[" * 100_000 + "]" * 100_000, members), "nested too deeply")
    refused(write(tmp_path / "c.neurona", "[1, 2]", members), "neurona.json is not a JSON object")
    refused(write(tmp_path / "d.neurona", b"\xff\xfe", members), "UnicodeDecodeError")
    folder = tmp_path / "folder.neurona"
    folder.mkdir()
    refused(folder, "folder.neurona is a folder; expected a neurona model file")
    fifo = tmp_path / "fifo.neurona"
    os.mkfifo(fifo)
    refused(fifo, "fifo.neurona is a FIFO")  # not opened: opening a FIFO would wait for a writer forever
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


# ---------------------------------------------------------------- architecture
def test_absurd_sizes_are_refused_before_any_layer_is_built(good, tmp_path):
    manifest, members = parts(good)
    layers = manifest["model"]["config"]["layers"]
    name = layers[0]["config"]["name"]
    for units in (10**12, 40_000_000):
        bad = json.loads(json.dumps(manifest))
        bad["model"]["config"]["layers"][0]["config"]["units"] = units
        refused(write(tmp_path / "u.neurona", bad, members),
                f"layer Dense '{name}' has units={units!r}; a saved layer's sizes are at most {MAX_DIM}", limit_mb=4)
    for units in (4e7, 1e12):  # floats are not sizes to the checker: the file's weight budget stops them
        bad = json.loads(json.dumps(manifest))
        bad["model"]["config"]["layers"][0]["config"]["units"] = units
        refused(write(tmp_path / "u.neurona", bad, members), "asks for more weights than the file holds|"
                "cannot be rebuilt", limit_mb=4)
    # a large variance is a value, not a size: such a model saves and loads
    scaled = nn.Sequential([nn.Normalization(mean=[1e9] * 4, variance=[1e18] * 4), nn.Dense(3)])
    scaled.build((None, 4))
    scaled.save(tmp_path / "n.neurona")
    x = np.full((2, 4), 1e9, np.float32)
    assert np.array_equal(load_model(tmp_path / "n.neurona").predict(x), scaled.predict(x))
    # within MAX_DIM each, but a (20000, 60000) kernel (4.8 GB) is more than the file holds
    bad = json.loads(json.dumps(manifest))
    bad["input_shape"] = [20000]
    bad["model"]["config"]["layers"][0]["config"]["units"] = 60000
    refused(write(tmp_path / "big.neurona", bad, members),
            r"asks for more weights than the file holds .*kernel' of shape \(20000, 60000\) needs 4800000000 bytes",
            limit_mb=4)
    bad["input_shape"] = [1 << 24, 4]
    refused(write(tmp_path / "in.neurona", bad, members), "input_shape .* has more than 33554432 values", limit_mb=4)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="the build's memory cap needs Linux")
@pytest.mark.cpu_only(reason="the loader's activation budget is checked in host memory (tracemalloc)")
@pytest.mark.parametrize("size", [64, 10])  # 68 GB and 1.6 GB of activations for one sample, from 8 bytes of weights
def test_activations_too_large_for_the_weights_are_refused(tmp_path, size):
    import resource

    model = nn.Sequential([nn.Conv2D(1, 1), nn.UpSampling2D(2)])
    model.build((None, 8, 8, 1))
    model.save(tmp_path / "up.neurona")
    manifest, members = parts(tmp_path / "up.neurona")
    manifest["model"]["config"]["layers"][1]["config"]["size"] = [size, size]
    manifest["input_shape"] = [2048, 2048, 1]
    before = resource.getrlimit(resource.RLIMIT_AS)
    refused(write(tmp_path / "big.neurona", manifest, members), r"building its architecture on one sample of shape "
            r"\(2048, 2048, 1\) needs more memory than neurona allows for a file whose weights take 8 bytes",
            limit_mb=None)  # (tracemalloc counts the allocation the address-space cap made fail)
    assert resource.getrlimit(resource.RLIMIT_AS) == before


def test_too_many_layers_are_refused_quickly(good, tmp_path):
    manifest, members = parts(good)
    many = [{"class": "Dense", "config": {"units": 1}} for _ in range(100_000)]
    bad = {**manifest, "model": {"class": "Sequential", "config": {"name": "s", "layers": many}}}
    # (tracemalloc would make parsing the 4 MB of JSON ten times slower: the property tests bound memory)
    refused(write(tmp_path / "many.neurona", bad, members), f"more than {MAX_LAYERS} layers", limit_mb=None)
    deep = {"class": "Dense", "config": {"units": 1}}
    for _ in range(200):
        deep = {"class": "Sequential", "config": {"layers": [deep]}}
    refused(write(tmp_path / "deep.neurona", {**manifest, "model": deep}, members), "nested more than 100 levels")


@pytest.mark.parametrize("spec, match", [
    ({"class": "Module", "config": {}}, "layer class 'Module' is abstract"),
    ({"class": "ModuleList", "config": {}}, "'ModuleList' cannot describe itself"),
    ({"class": "_Conv", "config": {"filters": 2, "kernel_size": 3}}, "'_Conv' is abstract"),
    ({"class": "Popen", "config": {"args": "touch pwned"}}, "unknown layer class 'Popen'"),
    ({"class": "Sequential", "config": {"layers": [{"class": "Dense", "config": {"unit": 3}}]}},
     "cannot be rebuilt .*TypeError.*unit"),
    ({"class": "Sequential", "config": {"layers": [{"class": "Dense", "config": {"units": -3}}]}},
     "cannot be rebuilt"),
    ({"class": "Sequential", "config": {"layers": [{"class": "Dense", "config": []}]}}, "config must be a JSON object"),
    ({"class": "Sequential", "config": {"layers": [{"class": "Dense", "config": {"units": 5}}, {"class": "BatchNorm",
     "config": {}}, {"class": "Dense", "config": {"units": 3}}]}},
     "weights do not fit the architecture: 0.kernel has shape \\(4, 8\\) but the architecture needs \\(4, 5\\)"),
    ([1, 2], "the architecture must be a layer description"),
])
def test_bad_architectures(good, tmp_path, spec, match):
    manifest, members = parts(good)
    refused(write(tmp_path / "arch.neurona", {**manifest, "model": spec}, members), match)


@pytest.mark.parametrize("shape, match", [
    (None, "has no input_shape"), ([], "input_shape must be"), ([4, -1], "input_shape must be"),
    (["4"], "input_shape must be"), ([True], "input_shape must be"), ([10**13], "input_shape must be"),
])
def test_the_input_shape_is_checked(good, tmp_path, shape, match):
    manifest, members = parts(good)
    bad = dict(manifest)
    if shape is None:
        del bad["input_shape"]
    else:
        bad["input_shape"] = shape
    refused(write(tmp_path / "shape.neurona", bad, members), match)


def test_damaged_compile_settings_and_optimizer_state(good, tmp_path):
    manifest, members = parts(good)
    bad = json.loads(json.dumps(manifest))
    bad["compile"]["optimizer"] = {"class": "Adam", "config": {"lr": "fast"}}
    refused(write(tmp_path / "opt.neurona", bad, members), "the Adam optimizer's lr='fast' is not a number")
    bad["compile"]["optimizer"] = {"class": "Adam", "config": {"betas": 0.5}}
    refused(write(tmp_path / "opt1.neurona", bad, members), "compile settings cannot be restored .*TypeError")
    bad = json.loads(json.dumps(manifest))
    bad["compile"]["optimizer"] = {"class": "Popen", "config": {}}
    refused(write(tmp_path / "opt2.neurona", bad, members), "unknown optimizer class 'Popen'.*compile=False")
    bad = json.loads(json.dumps(manifest))
    bad["optimizer_state"]["steps"] = {"0": "many"}
    refused(write(tmp_path / "steps.neurona", bad, members), "optimizer state does not fit")
    for index in (math.inf, 1.5, True):  # found by the property test: inf raised OverflowError
        bad = json.loads(json.dumps(manifest))
        bad["optimizer_state"]["param_groups"][0]["params"][0] = index
        refused(write(tmp_path / "index.neurona", bad, members), "optimizer state does not fit .*something other "
                "than numbers")
    bad = json.loads(json.dumps(manifest))
    bad["optimizer_state"]["param_groups"][0]["lr"] = {"evil": 1}
    refused(write(tmp_path / "groups.neurona", bad, members), "optimizer state does not fit")
    with np.load(io.BytesIO(members["optimizer.npz"])) as f:
        state = {k: f[k] for k in f.files}
    key = sorted(state)[0]
    state[key] = np.zeros(7, np.float32)
    refused(write(tmp_path / "moments.neurona", manifest, {**members, "optimizer.npz": npz(state)}),
            "optimizer state does not fit .*wrong shape")
    assert load_model(tmp_path / "moments.neurona", compile=False).built  # the model alone still loads


# ---------------------------------------------------------------- what must still work
def test_a_float64_model_reloads_as_float64_bit_for_bit(tmp_path):
    nr.set_default_dtype("float64")
    try:
        model = small_model()
        x = np.random.default_rng(1).standard_normal((5, 4))
        expected = model.predict(x)
        model.save(tmp_path / "f64.neurona")
    finally:
        nr.set_default_dtype("float32")
    loaded = load_model(tmp_path / "f64.neurona")
    assert nr.get_default_dtype() == np.float32  # loading changed nothing outside the model
    assert {v.dtype for v in loaded.state_dict().values()} == {np.dtype(np.float64)}
    for k, v in model.state_dict().items():
        assert np.array_equal(loaded.state_dict()[k], v), k
    out = loaded.predict(x)
    assert out.dtype == np.float64 and np.array_equal(out, expected)


@pytest.mark.cpu_only(reason="measures host memory; weights on a device are copied to the host to be written")
def test_saving_streams_the_weights_instead_of_copying_them(tmp_path):
    model = nn.Sequential([nn.Dense(1024), nn.Dense(1024)])
    model.build((None, 1024))  # 8 MB of weights
    size = sum(v.nbytes for v in model.state_dict().values())
    tracemalloc.start()
    model.save(tmp_path / "big.neurona")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < size / 4, f"saving {size / MB:.0f} MB of weights took {peak / MB:.0f} MB more"
    tracemalloc.start()
    loaded = load_model(tmp_path / "big.neurona")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3.5 * size  # the file's bytes, the model, and one array in flight
    x = np.ones((2, 1024), np.float32)
    assert np.array_equal(loaded.predict(x), model.predict(x))


def test_saving_through_a_symlink_keeps_link_and_permissions(tmp_path, good):
    link = tmp_path / "latest.neurona"
    link.symlink_to(good)
    os.chmod(good, 0o600)
    small_model().save(link)
    assert link.is_symlink() and stat.S_IMODE(good.stat().st_mode) == 0o600
    assert load_model(link).layers[0].kernel.shape == (4, 8)
    with pytest.raises(FileExistsError, match="is a character device"):
        small_model().save("/dev/null")


def test_load_weights_checks_npz_files_the_same_way(tmp_path, good):
    model = small_model()
    weights = dict(model.state_dict())
    weights["0.kernel"] = weights["0.kernel"].astype(np.int64)
    (tmp_path / "int.npz").write_bytes(npz(weights))
    with pytest.raises(ModelFileError, match="int.npz: array int.npz/0.kernel.npy holds int64; expected float32"):
        model.load_weights(tmp_path / "int.npz")
    (tmp_path / "bomb.npz").write_bytes(npz({"0.kernel": np.zeros((64, MB // 16), np.float32)}, compress=True))
    with pytest.raises(ModelFileError, match="bomb.npz/0.kernel.npy would decompress"):
        model.load_weights(tmp_path / "bomb.npz")
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="fifo.npz is a FIFO; expected a weights file"):
        model.load_weights(fifo)
    before = model.state_dict()
    model.save_weights(tmp_path / "w.npz")
    model.load_weights(tmp_path / "w.npz")
    for k, v in before.items():
        assert np.array_equal(model.state_dict()[k], v)


def test_a_functional_model_passes_the_checks(tmp_path):
    x = nn.Input((6, 6, 1))
    h = nn.Conv2D(4, 3, padding="same", activation="relu")(x)
    h = nn.add(h, nn.Conv2D(4, 3, padding="same")(h))
    model = nn.Model(x, nn.Dense(3)(nn.Flatten()(h)))
    model.save(tmp_path / "graph.neurona")
    images = np.random.default_rng(0).standard_normal((4, 6, 6, 1)).astype(np.float32)
    assert np.array_equal(load_model(tmp_path / "graph.neurona").predict(images), model.predict(images))
