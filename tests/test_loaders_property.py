"""Random and mutated inputs to the CSV loader, the image loaders and the command line's argument parsing:
each gives a result or a clear error (ValueError / FileNotFoundError, exit status 2), never a hang, a crash
or unbounded memory. Every example runs under a time limit and, on Linux, a limit on the peak resident memory."""

import contextlib
import io
import signal
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from neurona.cli import main, make_parser
from neurona.data import load_csv, load_image, load_image_folder

SECONDS = 10  # per example: generous on a loaded machine, and far below a hang
MEMORY_MB = 400  # growth of the peak resident memory per example
PROPERTY = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


@contextlib.contextmanager
def bounded(seconds=SECONDS, megabytes=MEMORY_MB):
    """Fail the example when it runs longer than ``seconds`` or grows the peak RSS by more than ``megabytes``."""
    def timeout(signum, frame):
        raise TimeoutError(f"the example ran longer than {seconds} s")

    measure = Path("/proc/self/clear_refs").exists()
    if measure:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # Linux: reset the peak (VmHWM) to the current RSS
        except OSError:
            measure = False
    before = _status_kb("VmRSS") if measure else None
    previous = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if measure and before is not None:
        grown = (_status_kb("VmHWM") - before) / 1024
        assert grown < megabytes, f"peak memory grew by {grown:.0f} MB"


# ---------------------------------------------------------------- CSV
CELLS = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.sampled_from(["", "NA", "nan", "?", "cat", "dog", '"a,b"', '"', "1e400", "-0", " 7 ", "\x00"]),
                  st.text(max_size=8))


@st.composite
def csv_texts(draw):
    ncols = draw(st.integers(1, 5))
    header = draw(st.lists(st.sampled_from(["a", "b", "y", "label", "", "a"]), min_size=ncols, max_size=ncols))
    rows = draw(st.lists(st.lists(CELLS, min_size=max(0, ncols - 1), max_size=ncols + 1), max_size=12))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    return "\n".join(sep.join(r) for r in [header] + rows)


def mutate(data: bytes, draw) -> bytes:
    """Flip, delete, insert and truncate a few bytes."""
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        if not b:
            break
        i = draw(st.integers(0, len(b) - 1))
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if op == "flip":
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete":
            del b[i]
        elif op == "insert":
            b.insert(i, draw(st.integers(0, 255)))
        else:
            del b[i:]
    return bytes(b)


def check_csv_result(result):
    x, y = result
    assert x.dtype == np.float32 and x.ndim == 2 and len(x) == len(y) > 0
    assert np.isfinite(x).all()


@PROPERTY
@given(text=csv_texts(), target=st.one_of(st.sampled_from(["y", "label", "a", "zz"]), st.integers(-6, 6)),
       task=st.sampled_from(["auto", "classification", "regression"]))
def test_csv_random_tables(tmp_path, text, target, task):
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    with bounded():
        try:
            result = load_csv(path, target=target, task=task)
        except ValueError:
            event("refused")
            return
    event("loaded")
    check_csv_result(result)


@PROPERTY
@given(data=st.data())
def test_csv_mutated_bytes(tmp_path, data):
    rng = np.random.default_rng(0)
    good = "a,b,label\n" + "\n".join(f"{p:.3f},{q:.3f},{int(p > q)}" for p, q in rng.normal(size=(20, 2)))
    path = tmp_path / "t.csv"
    path.write_bytes(mutate(good.encode(), data.draw))
    with bounded():
        try:
            result = load_csv(path, target="label")
        except ValueError:
            event("refused")
            return
    event("loaded")
    check_csv_result(result)


# ---------------------------------------------------------------- images
def png_bytes(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with a few bytes of image data."""
    def chunk(kind, body):
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


FORMATS = st.sampled_from(["PNG", "JPEG", "BMP", "GIF"])


@st.composite
def image_files(draw):
    kind = draw(st.sampled_from(["mutated", "random", "claims", "sixteen"]))
    if kind == "random":
        return draw(st.binary(max_size=300))
    if kind == "claims":  # headers claiming huge or empty images: refused before any large allocation
        return png_claiming(draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 2**31 - 1)))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**16))
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)
    if kind == "sixteen":
        return png_bytes(pixels.astype(np.uint16) * 257)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=draw(FORMATS))
    return mutate(buf.getvalue(), draw)


@PROPERTY
@given(data=image_files(), size=st.one_of(st.none(), st.tuples(st.integers(1, 40), st.integers(1, 40))),
       color=st.sampled_from(["grayscale", "rgb"]))
def test_image_random_and_mutated_files(tmp_path, data, size, color):
    path = tmp_path / "x.png"
    path.write_bytes(data)
    with bounded():
        try:
            img = load_image(path, image_size=size, color_mode=color)
        except ValueError as exc:
            assert "x.png" in str(exc)
            event("refused")
            return
    event("loaded")
    assert img.dtype == np.uint8 and img.ndim == (2 if color == "grayscale" else 3)
    if size is not None:
        assert img.shape[:2] == size


@PROPERTY
@given(files=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), image_files()), min_size=1, max_size=5),
       size=st.one_of(st.none(), st.just((6, 6))))
def test_image_folder_of_random_files(tmp_path_factory, files, size):
    root = tmp_path_factory.mktemp("folder")
    for i, (cls, data) in enumerate(files):
        (root / cls).mkdir(exist_ok=True)
        (root / cls / f"{i}.png").write_bytes(data)
    with bounded():
        try:
            (x, y), names = load_image_folder(root, image_size=size)
        except ValueError:
            return
    assert x.dtype == np.uint8 and len(x) == len(y) == len(files) and set(y.tolist()) <= set(range(len(names)))


# ---------------------------------------------------------------- the command line's arguments
FLAGS = ["--data", "--model", "--epochs", "--batch-size", "--lr", "--optimizer", "--val-split", "--seed",
         "--image-size", "--color", "--target", "--test-split", "--task", "--early-stopping", "--device", "--out",
         "--top", "--output", "--input-shape", "--classes", "--overwrite", "--augment", "--verbose", "--resume",
         "--epoch", "--help", "--version", "-h", "--"]
VALUES = st.one_of(st.sampled_from(["0", "1", "-1", "3", "1e9", "nan", "inf", "0.5", "1.5", "28x28", "0x0",
                                    "100000x100000", "8x8x1", "digits", "mnist", "mlp", "cnn", "gpu", "cpu",
                                    "adam", "rgb", "x" * 300, "", "é", "\x00"]),
                   st.text(max_size=6))


@PROPERTY
@given(command=st.sampled_from(["train", "evaluate", "predict", "models", "datasets", "tune", "trian", ""]),
       tokens=st.lists(st.one_of(st.sampled_from(FLAGS), VALUES), max_size=8))
def test_argument_parsing_gives_a_namespace_or_a_usage_error(command, tokens):
    argv = ([command] if command else []) + tokens
    with bounded(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            make_parser().parse_args(argv)
        except SystemExit as exc:
            assert exc.code in (0, 2), err.getvalue()
            assert "Traceback" not in err.getvalue()


@settings(max_examples=25, deadline=None, database=None)
@given(command=st.sampled_from(["evaluate", "predict", "models", "train"]),
       tokens=st.lists(st.one_of(st.sampled_from(FLAGS[:-4]), VALUES), max_size=6))
def test_commands_that_fail_early_exit_0_or_2(command, tokens):
    """Through main: a missing model file or a bad value ends with status 2; listings succeed.
    (train gets --data pointing at nothing, so it fails before any training.)"""
    argv = [command] + (["/no/such/model.neurona", "/no/such/x.png"] if command in ("evaluate", "predict") else [])
    argv += tokens + (["--data", "/no/such/data.csv"] if command == "train" else [])
    with bounded(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        status = main(argv)
    assert status in (0, 2), err.getvalue()
    assert "Traceback" not in err.getvalue()


@pytest.fixture(autouse=True)
def _no_alarm_left():
    yield
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
