"""Property tests of the model-file reader: random and mutated model files give a model or a ModelFileError, and
mutated training backups resume or raise a clear error, never another exception, a hang or unbounded memory.

The properties run in a child process whose address space and CPU time are capped (resource.setrlimit),
with a hypothesis deadline per example, so a file that made the reader allocate gigabytes or loop would
fail the test instead of taking the machine down. A MemoryError disguised as a ModelFileError fails too.
"""

import os
import resource
import subprocess
import sys
import textwrap

PROPERTIES = textwrap.dedent('''
    import io, json, os, sys, zipfile
    import numpy as np
    from hypothesis import HealthCheck, given, settings, strategies as st
    import neurona as nr
    from neurona import nn, optim
    from neurona.nn.module import Module
    from neurona.training import ModelFileError, load_model

    folder = sys.argv[1]
    nr.manual_seed(0)
    model = nn.Sequential([nn.Dense(4, activation="relu"), nn.BatchNorm(), nn.Dense(2)])
    model.compile(optim.Adam(lr=0.01), "cross_entropy")
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    model.fit(x, np.arange(8) % 2, epochs=1, batch_size=4, verbose=0)
    good_path = os.path.join(folder, "good.neurona")
    model.save(good_path)
    GOOD = open(good_path, "rb").read()
    with zipfile.ZipFile(good_path) as z:
        MANIFEST = json.loads(z.read("neurona.json"))
        MEMBERS = {n: z.read(n) for n in z.namelist() if n != "neurona.json"}
    path = os.path.join(folder, "m.neurona")
    SETTINGS = settings(max_examples=int(sys.argv[2]), deadline=20_000, derandomize=True, database=None,
                        suppress_health_check=list(HealthCheck))

    def memory_error(exc):
        """Whether a real MemoryError (an allocation that failed) led to exc."""
        while exc is not None:
            if type(exc) is MemoryError or "MemoryError" in str(exc):
                return True
            exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        return False

    def check(data):
        with open(path, "wb") as f:
            f.write(data)
        try:
            loaded = load_model(path)
        except ModelFileError as exc:
            assert path in str(exc), str(exc)
            assert not memory_error(exc), f"a MemoryError passed off as a clear error: {exc}"
            return
        assert isinstance(loaded, Module)

    def archive(manifest, members):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("neurona.json", manifest if isinstance(manifest, (bytes, str)) else json.dumps(manifest))
            for name, data in members.items():
                z.writestr(name, data)
        return buf.getvalue()

    mutation = st.tuples(st.sampled_from(["flip", "set", "cut", "insert", "delete"]),
                         st.integers(0, len(GOOD) - 1), st.binary(min_size=1, max_size=8))

    @SETTINGS
    @given(st.lists(mutation, min_size=1, max_size=4))
    def mutated_bytes(mutations):
        data = bytearray(GOOD)
        for kind, at, junk in mutations:
            at %= max(len(data), 1)
            if not data:
                data[:] = junk
            elif kind == "flip":
                data[at] ^= junk[0] or 1
            elif kind == "set":
                data[at:at + len(junk)] = junk
            elif kind == "cut":
                del data[at:]
            elif kind == "insert":
                data[at:at] = junk
            else:
                del data[at:at + len(junk)]
        check(bytes(data))

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True) | st.text(max_size=12)
        | st.sampled_from(["Dense", "Sequential", "Module", "BatchNorm", "Conv2D", "Flatten", "relu"]),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
            st.sampled_from(["class", "config", "units", "layers", "name", "filters", "kernel_size", "rate"])
            | st.text(max_size=6), inner, max_size=4),
        max_leaves=20)

    def paths(value, prefix=()):
        yield prefix
        if isinstance(value, dict):
            for k, v in value.items():
                yield from paths(v, prefix + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from paths(v, prefix + (i,))

    ALL_PATHS = [p for p in paths(MANIFEST) if p]

    @SETTINGS
    @given(st.sampled_from(ALL_PATHS), json_values)
    def mutated_manifest(where, value):
        manifest = json.loads(json.dumps(MANIFEST))
        node = manifest
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value
        check(archive(manifest, MEMBERS))

    dtypes = st.sampled_from(["<f4", "<f8", ">f4", "<f2", "<i4", "|b1", "<c8", "|u1", "<M8[s]", "|V4", "<U3"])

    @SETTINGS
    @given(st.dictionaries(st.sampled_from(["0.kernel", "0.bias", "1.gamma", "1.moving_mean", "2.kernel", "x"]),
                           st.tuples(dtypes, st.lists(st.integers(0, 6), max_size=3)), max_size=8),
           st.booleans())
    def random_weights(spec, compress):
        buf = io.BytesIO()
        arrays = {k: np.zeros(tuple(shape), dtype=dtype) for k, (dtype, shape) in spec.items()}
        (np.savez_compressed if compress else np.savez)(buf, **arrays)
        check(archive(MANIFEST, {**MEMBERS, "weights.npz": buf.getvalue()}))

    from neurona.training import callbacks as C
    from neurona.training.backup import FILENAME

    class Stop(C.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    def fit(callbacks):
        nr.manual_seed(0)
        m = nn.Sequential([nn.Dense(4, activation="relu"), nn.Dense(2)])
        m.compile(optim.Adam(lr=0.01), "cross_entropy")
        m.fit(x, np.arange(8) % 2, epochs=2, batch_size=4, verbose=0,
              callbacks=[C.EarlyStopping(monitor="loss", restore_best_weights=True), *callbacks])

    backup_dir = os.path.join(folder, "backup")
    try:
        fit([C.BackupAndRestore(backup_dir), Stop()])
    except KeyboardInterrupt:
        pass
    backup_path = os.path.join(backup_dir, FILENAME)
    BACKUP = open(backup_path, "rb").read()

    @settings(SETTINGS, max_examples=max(10, int(sys.argv[2]) // 2))
    @given(st.lists(mutation, min_size=1, max_size=3))
    def mutated_backup(mutations):
        data = bytearray(BACKUP)
        for kind, at, junk in mutations:
            at %= max(len(data), 1)
            if kind in ("cut", "delete"):
                del data[at:at + (len(junk) if kind == "delete" else len(data))]
            else:
                data[at:at + len(junk)] = junk
        with open(backup_path, "wb") as f:
            f.write(bytes(data))
        try:
            fit([C.BackupAndRestore(backup_dir, delete_checkpoint=False)])
        except ModelFileError as exc:
            assert backup_path in str(exc) and not memory_error(exc), str(exc)
        except ValueError as exc:  # a state from another run: said so, with how to start over
            assert "to start over" in str(exc), str(exc)

    mutated_bytes()
    mutated_manifest()
    random_weights()
    mutated_backup()
    print("properties hold")
''')

LIMIT_BYTES = 3 << 30  # address space: neurona and NumPy need ~0.3 GB; a decompression bomb would need far more
CPU_SECONDS = 240


def _limits():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def test_random_and_mutated_files_give_a_model_or_a_model_file_error(tmp_path):
    script = tmp_path / "properties.py"
    script.write_text(PROPERTIES)
    examples = os.environ.get("NEURONA_PROPERTY_EXAMPLES", "60")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(script), str(tmp_path), examples], capture_output=True, text=True,
                            timeout=600, preexec_fn=_limits, env=env)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-8000:]
    assert "properties hold" in result.stdout


def test_the_limits_hold_the_child_to_its_bounds():
    """The bounds above are real: under them, a child that allocates 4 GB fails instead of getting it."""
    greedy = "import numpy as np; a = np.ones(1 << 29); print('allocated', a.nbytes)"
    result = subprocess.run([sys.executable, "-c", greedy], capture_output=True, text=True, timeout=120,
                            preexec_fn=_limits)
    assert result.returncode != 0 and "MemoryError" in result.stderr and "allocated" not in result.stdout
