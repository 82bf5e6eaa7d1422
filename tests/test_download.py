"""Downloads against a local HTTP server on 127.0.0.1 (never the real network): a good file, a bad
checksum, a server that hangs up midway, a dead mirror; and the dataset loader's download into the cache."""

import hashlib
import http.server
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from neurona.data import datasets
from neurona.data.datasets import DatasetNotFoundError, DatasetSpec, find_dataset, load_mnist
from neurona.data.download import DownloadError, cache_dir, download_file, file_checksum
from neurona.data.idx import write_idx


class Server:
    """Serves ``files`` (path -> bytes); paths under /drop/ send half the body, then hang up.

    /trickle/<n>: announces n bytes and sends one every 20 ms (at most 500: the loop ends by itself);
    /endless: no Content-Length, 64 KiB chunks until the client hangs up (at most 256 MiB).
    """

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                if self.path.startswith(("/trickle/", "/endless")):
                    self.stream()
                    return
                body = server.files.get(self.path.removeprefix("/drop"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path.startswith("/drop/"):
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                else:
                    self.wfile.write(body)

            def stream(self):
                self.send_response(200)
                trickle = self.path.startswith("/trickle/")
                if trickle:
                    self.send_header("Content-Length", self.path.rsplit("/", 1)[1])
                self.end_headers()
                try:
                    for _ in range(500 if trickle else 4096):
                        self.wfile.write(b"x" if trickle else b"x" * 65536)
                        self.wfile.flush()
                        if trickle:
                            time.sleep(0.02)
                except OSError:  # the client gave up
                    pass
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def dead_url():
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def idx_bytes(tmp_path, array) -> bytes:
    (tmp_path / "src").mkdir(exist_ok=True)
    return write_idx(tmp_path / "src" / "f.gz", array).read_bytes()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_good_download_is_verified_and_written(server, tmp_path):
    data = idx_bytes(tmp_path, np.arange(100, dtype=np.uint8))
    server.files["/data/f.gz"] = data
    dest = download_file(server.url + "/data/f.gz", tmp_path / "out" / "f.gz", sha256(data), progress=False)
    assert dest.read_bytes() == data
    assert leftovers(tmp_path / "out") == ["f.gz"]  # no temporary file left
    md5 = "md5:" + hashlib.md5(data).hexdigest()
    download_file(server.url + "/data/f.gz", tmp_path / "out2" / "f.gz", md5, progress=False)
    assert file_checksum(tmp_path / "out2" / "f.gz", "md5") == md5[4:]


def test_bad_checksum_leaves_nothing(server, tmp_path):
    server.files["/f.gz"] = b"tampered bytes"
    with pytest.raises(DownloadError, match="sha256 checksum mismatch"):
        download_file(server.url + "/f.gz", tmp_path / "out" / "f.gz", sha256(b"the real bytes"), progress=False)
    assert leftovers(tmp_path / "out") == []


def test_connection_dropped_midway_leaves_nothing(server, tmp_path):
    data = bytes(range(256)) * 400
    server.files["/f.gz"] = data
    with pytest.raises(DownloadError, match="connection closed after 51200 of 102400 bytes"):
        download_file(server.url + "/drop/f.gz", tmp_path / "out" / "f.gz", sha256(data), progress=False)
    assert leftovers(tmp_path / "out") == []


def test_existing_file_is_not_replaced_by_a_failed_download(server, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "f.gz").write_bytes(b"old")
    server.files["/f.gz"] = b"new"
    with pytest.raises(DownloadError):
        download_file(server.url + "/f.gz", tmp_path / "out" / "f.gz", sha256(b"other"), progress=False)
    assert (tmp_path / "out" / "f.gz").read_bytes() == b"old"


def test_mirrors_are_tried_in_order(server, dead_url, tmp_path):
    server.files["/b/f.gz"] = b"payload"
    urls = [dead_url + "/f.gz", server.url + "/a/f.gz", server.url + "/b/f.gz"]
    download_file(urls, tmp_path / "f.gz", sha256(b"payload"), progress=False)
    assert (tmp_path / "f.gz").read_bytes() == b"payload"
    assert server.requests == ["/a/f.gz", "/b/f.gz"]
    with pytest.raises(DownloadError) as err:
        download_file(urls[:2], tmp_path / "g.gz", sha256(b"payload"), progress=False)
    assert dead_url in str(err.value) and "404" in str(err.value)


def test_a_trickling_server_meets_the_deadline(server, tmp_path):
    """One byte every 20 ms never trips the per-read timeout; the overall deadline stops it."""
    with pytest.raises(DownloadError, match="took longer than its deadline"):
        download_file(server.url + "/trickle/400", tmp_path / "out" / "f.gz", sha256(b"x" * 400),
                      progress=False, timeout=5, deadline=0.3)
    # the server would trickle for 10 s; the message above shows the deadline ended it
    assert leftovers(tmp_path / "out") == []


def test_an_endless_server_meets_the_size_cap(server, tmp_path):
    with pytest.raises(DownloadError, match="more than the expected 1000000 bytes"):
        download_file(server.url + "/endless", tmp_path / "out" / "f.gz", sha256(b""), progress=False,
                      max_bytes=1_000_000)
    assert leftovers(tmp_path / "out") == []
    with pytest.raises(DownloadError, match="more than the expected 300000 bytes"):
        download_file(server.url + "/endless", tmp_path / "out" / "f.gz", sha256(b""), progress=False, size=300_000)
    assert leftovers(tmp_path / "out") == []


def test_a_known_size_refuses_another_announced_size(server, tmp_path):
    server.files["/f.gz"] = b"payload"
    with pytest.raises(DownloadError, match="announces 7 bytes; the file has 9"):
        download_file(server.url + "/f.gz", tmp_path / "out" / "f.gz", sha256(b"payload"), progress=False, size=9)
    download_file(server.url + "/f.gz", tmp_path / "out" / "f.gz", sha256(b"payload"), progress=False, size=7)
    assert leftovers(tmp_path / "out") == ["f.gz"]


def test_an_interrupted_download_removes_its_partial_file(server, tmp_path, monkeypatch):
    """Whatever ends the transfer (here Ctrl-C in the middle of writing), the .part file goes."""
    from neurona.data import download

    seen = []

    class Interrupting(download.tqdm):
        def update(self, n=1):
            seen.extend(p.name for p in (tmp_path / "out").iterdir())
            raise KeyboardInterrupt

    monkeypatch.setattr(download, "tqdm", Interrupting)
    server.files["/f.gz"] = b"payload" * 1000
    with pytest.raises(KeyboardInterrupt):
        download_file(server.url + "/f.gz", tmp_path / "out" / "f.gz", sha256(b"payload" * 1000), progress=False)
    assert seen and seen[0].endswith(".part")  # the partial file existed when the interruption came
    assert leftovers(tmp_path / "out") == []


def test_dataset_specs_know_their_sizes():
    for spec in datasets.DATASETS.values():
        assert set(spec.sizes) == set(spec.files)


def test_bad_download_limits():
    with pytest.raises(ValueError, match="deadline must be a positive number"):
        download_file("http://127.0.0.1:9/x", "x", "md5:" + "0" * 32, deadline=0)
    with pytest.raises(ValueError, match="size must be a whole number"):
        download_file("http://127.0.0.1:9/x", "x", "md5:" + "0" * 32, size=-1)


def test_bad_checksum_argument():
    with pytest.raises(ValueError, match="checksum must be"):
        download_file("http://127.0.0.1:9/x", "x", "crc32:1234")


@pytest.fixture
def fake_mnist(server, tmp_path, monkeypatch):
    """The MNIST spec pointed at the local server's files and their checksums; an isolated cache."""
    monkeypatch.delenv("NEURONA_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    r = np.random.default_rng(0)
    arrays = {"train_images": r.integers(0, 256, (20, 28, 28), dtype=np.uint8),
              "train_labels": r.integers(0, 10, 20, dtype=np.uint8),
              "test_images": r.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              "test_labels": r.integers(0, 10, 6, dtype=np.uint8)}
    real = datasets.DATASETS["mnist"]
    files = {}
    for role, (fname, _) in real.files.items():
        data = write_idx(tmp_path / fname, arrays[role]).read_bytes()
        server.files["/mnist/" + fname] = data
        files[role] = (fname, sha256(data))
    spec = DatasetSpec("mnist", "MNIST", files, (server.url + "/mnist/",), real.classes)
    monkeypatch.setitem(datasets.DATASETS, "mnist", spec)
    return arrays


def test_dataset_download_then_cache(fake_mnist, server):
    assert find_dataset("mnist") is None
    (x_train, y_train), (x_test, y_test) = load_mnist(progress=False)
    np.testing.assert_array_equal(x_train, fake_mnist["train_images"])
    np.testing.assert_array_equal(y_test, fake_mnist["test_labels"])
    assert y_train.dtype == np.int64
    assert len(server.requests) == 4
    loc = find_dataset("mnist")
    assert loc.source == "cache" and loc.directory == cache_dir() / "mnist"
    load_mnist(progress=False)
    assert len(server.requests) == 4  # found in the cache: nothing downloaded again


def test_dataset_download_resumes_with_missing_files_only(fake_mnist, server):
    folder = cache_dir() / "mnist"
    folder.mkdir(parents=True)
    fname = "train-images-idx3-ubyte.gz"
    (folder / fname).write_bytes(server.files["/mnist/" + fname])
    load_mnist(progress=False)
    assert sorted(server.requests) == sorted("/mnist/" + f for f, _ in datasets.DATASETS["mnist"].files.values()
                                             if f != fname)


def test_dataset_bad_checksum_reports_and_leaves_nothing(fake_mnist, server):
    server.files["/mnist/t10k-labels-idx1-ubyte.gz"] = b"corrupted"
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch"):
        load_mnist(progress=False)
    names = leftovers(cache_dir() / "mnist")
    assert "t10k-labels-idx1-ubyte.gz" not in names and not [n for n in names if n.endswith(".part")]


def test_offline_error_says_which_files_go_where(fake_mnist, dead_url):
    with pytest.raises(DatasetNotFoundError) as err:
        load_mnist(mirrors=[dead_url], progress=False)
    msg = str(err.value)
    assert "load_mnist: the MNIST files were not found and could not be downloaded" in msg
    for fname, _ in datasets.DATASETS["mnist"].files.values():
        assert fname in msg
    assert str(cache_dir() / "mnist") in msg and "$NEURONA_DATA/mnist" in msg and dead_url in msg
    assert leftovers(cache_dir() / "mnist") == []
