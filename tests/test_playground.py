"""The playground's server and training sessions (issue 17), without a browser.

Settings are checked with messages naming the setting; the exported script makes the
same data and, trained as long, reaches the same losses as the session; the WebSocket
answers bad input with an error and keeps going; closing a tab ends its session.
The browser test is tests/test_playground_e2e.py.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import neurona as nr
from neurona.playground import Session, SettingsError, parse_settings, python_code

starlette = pytest.importorskip("starlette", reason="the playground extra (starlette) is not installed")
with warnings.catch_warnings():  # recent Starlette's notice that its TestClient will move to httpx2
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402
    from starlette.websockets import WebSocketDisconnect  # noqa: E402

from neurona.playground.server import create_app  # noqa: E402


def _exec(code: str) -> dict:
    ns: dict = {"print": lambda *a, **k: None}
    exec(compile(code, "<export>", "exec"), ns)
    return ns


def _data_part(code: str) -> str:
    return code.split("# --- the network ---")[0].split("# --- the perceptron")[0]


# --- settings -----------------------------------------------------------------------------------

BAD = [  # (settings, words the message must contain)
    ({"lr": -0.1}, ["learning rate", "> 0", "-0.1"]),
    ({"lr": "fast"}, ["learning rate", "'fast'"]),
    ({"lr": float("nan")}, ["learning rate", "nan"]),
    ({"hidden": [10000]}, ["units per hidden layer", "between 1 and 8", "10000"]),
    ({"hidden": [2] * 7}, ["at most 6", "[2, 2, 2, 2, 2, 2, 2]"]),
    ({"hidden": "4,2"}, ["hidden", "'4,2'"]),
    ({"batch_size": 2.5}, ["batch size", "integer", "2.5"]),
    ({"points": True}, ["points", "True"]),
    ({"dataset": "iris"}, ["dataset", "xor", "'iris'"]),
    ({"activation": "softmax"}, ["activation", "tanh", "'softmax'"]),
    ({"features": []}, ["features", "non-empty", "[]"]),
    ({"features": ["x3"]}, ["features", "x1^2", "['x3']"]),
    ({"dropout": 1.0}, ["dropout", "0.9", "1.0"]),
    ({"learning_rate": 0.1}, ["unknown setting", "'learning_rate'", "lr"]),
    ({"model": "perceptron", "problem": "regression"}, ["perceptron", "classification", "'regression'"]),
]


@pytest.mark.parametrize("raw, words", BAD, ids=[next(iter(b[0])) + str(i) for i, b in enumerate(BAD)])
def test_bad_settings_name_what_was_expected_and_what_came(raw, words):
    with pytest.raises(SettingsError) as info:
        parse_settings(raw)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_settings_merge_with_the_base_and_keep_a_canonical_feature_order():
    s = parse_settings({"dataset": "xor", "features": ["x1*x2", "x1"], "hidden": []})
    s2 = parse_settings({"lr": 0.5}, s)
    assert (s2.dataset, s2.features, s2.hidden, s2.lr) == ("xor", ("x1", "x1*x2"), (), 0.5)
    assert parse_settings(s2.to_dict()) == s2


# --- data, training and the export agree ------------------------------------------------------------

@pytest.mark.parametrize("dataset", ["xor", "and", "or", "circles", "moons", "spirals", "blobs"])
def test_exported_data_and_features_are_the_sessions(dataset):
    s = parse_settings({"dataset": dataset, "points": 60, "noise": 0.2, "train_fraction": 0.7, "seed": 3,
                        "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]})
    session = Session(s)
    ns = _exec(_data_part(python_code(s, 5)))
    np.testing.assert_array_equal(ns["F_train"], session.F_train)
    np.testing.assert_array_equal(ns["F_test"], session.F_test)
    np.testing.assert_array_equal(ns["y_train"], session.y_train)
    assert set(np.unique(session.y_train)) <= {0, 1} and len(session.y_train) == 42
    assert np.abs(session.X_train).max() < session.extent  # every point lies inside the drawn square


@pytest.mark.parametrize("raw", [
    {"dataset": "circles", "hidden": [3, 2], "activation": "tanh", "optimizer": "momentum", "lr": 0.05,
     "regularization": "l2", "reg_rate": 0.01, "features": ["x1", "x2", "x1^2"], "batch_size": 7},
    {"dataset": "moons", "hidden": [5], "activation": "relu", "optimizer": "rmsprop", "lr": 0.01,
     "problem": "regression", "regularization": "l1", "reg_rate": 0.001},
    {"dataset": "and", "model": "perceptron", "lr": 0.2},
])
def test_exported_script_trained_as_long_reaches_the_sessions_losses(raw):
    s = parse_settings({"points": 80, **raw})
    session = Session(s)
    for _ in range(6):
        session.train_epoch()
    ns = _exec(python_code(s, session.epoch))
    if s.model == "perceptron":
        np.testing.assert_array_equal(ns["p"].weights, session.perceptron.weights)
        assert ns["test_error"] == pytest.approx(session.test_loss[-1])
    else:
        assert ns["train_loss"] == pytest.approx(session.train_loss[-1], rel=1e-5)
        assert ns["test_loss"] == pytest.approx(session.test_loss[-1], rel=1e-5)
        assert session.train_loss[-1] < session.train_loss[0]  # it trained


def test_a_frame_stops_mid_epoch_when_its_cpu_time_is_spent_and_the_epoch_goes_on(monkeypatch):
    from neurona.playground import session as module

    monkeypatch.setattr(module, "CPU_PER_FRAME", 0.0)  # every frame is over budget after its first batch
    s = parse_settings({"dataset": "moons", "points": 40, "batch_size": 1, "hidden": [3], "epochs_per_frame": 50})
    session = Session(s)
    session.frame()
    session.frame()
    assert session.epoch == 0 and session._done == 2  # two batches of one point, the epoch still under way
    for _ in range(3):
        session.train_epoch()  # the first call finishes the epoch the frames began
    assert session.epoch == 3
    ns = _exec(python_code(s, session.epoch))  # split or not, the same batches in the same order
    assert ns["test_loss"] == pytest.approx(session.test_loss[-1], rel=1e-5)


def test_the_perceptron_learns_and_but_never_xor():
    learner = Session(parse_settings({"dataset": "and", "model": "perceptron", "noise": 0.0, "points": 40}))
    for _ in range(20):
        learner.train_epoch()
    assert learner.train_loss[-1] == 0 and learner.test_loss[-1] == 0
    stuck = Session(parse_settings({"dataset": "xor", "model": "perceptron", "noise": 0.0, "points": 40}))
    for _ in range(20):
        stuck.train_epoch()
    assert min(stuck.train_loss) > 0 and all(stuck.perceptron.errors_per_epoch)  # no line separates XOR
    assert len(stuck.perceptron.trace) == 0  # the trace is dropped after each epoch: memory stays bounded


def test_the_product_feature_lets_the_perceptron_solve_xor_and_squares_let_a_linear_model_solve_circles():
    perceptron = Session(parse_settings({"dataset": "xor", "model": "perceptron", "features": ["x1", "x2", "x1*x2"]}))
    for _ in range(30):
        perceptron.train_epoch()
    assert perceptron.converged and perceptron.train_loss[-1] == 0
    linear = Session(parse_settings({"dataset": "circles", "hidden": [], "features": ["x1^2", "x2^2"]}))
    for _ in range(40):
        linear.train_epoch()
    assert linear.accuracy(linear.F_test, linear.y_test) > 0.95


def test_the_loss_history_stays_bounded_and_ends_at_the_current_epoch(monkeypatch):
    from neurona.playground import session as module

    monkeypatch.setattr(module, "HISTORY", 5)
    session = Session(parse_settings({"dataset": "xor", "model": "perceptron", "points": 20}))
    for _ in range(60):
        session.train_epoch()
    epochs = session.curve_epochs
    assert len(epochs) <= 4 * 5 + 1 and epochs[0] == 0 and epochs[-1] == 60 and epochs == sorted(set(epochs))
    curve = session.state()["curve"]
    assert len(curve["epoch"]) <= 6 and curve["epoch"][-1] == 60 and curve["test"][-1] == session.test_loss[-1]


def test_state_holds_decodable_maps_for_the_output_and_every_unit():
    session = Session(parse_settings({"hidden": [3, 2], "features": ["x1", "x2", "x1*x2"]}))
    state = session.state(full=True)
    assert len(base64.b64decode(state["output"])) == state["grid"] ** 2
    assert [len(layer) for layer in state["units"]] == [3, 2]
    assert all(len(base64.b64decode(u)) == state["unit_grid"] ** 2 for layer in state["units"] for u in layer)
    assert len(state["inputs"]) == 3
    assert [np.shape(w["kernel"]) for w in state["weights"]] == [(3, 3), (3, 2), (2, 1)]
    json.dumps(state, allow_nan=False)  # plain JSON types only


# --- the server ----------------------------------------------------------------------------------

@pytest.fixture
def client():
    with TestClient(create_app(max_sessions=2)) as c:
        yield c


def _until(ws, predicate, limit=400):
    for _ in range(limit):
        msg = ws.receive_json()
        if predicate(msg):
            return msg
    raise AssertionError(f"no matching message in {limit}; last: {str(msg)[:200]}")


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "playground.js" in page.text and "<canvas" in page.text
    for name in ("playground.js", "playground.css"):
        assert client.get(f"/static/{name}").status_code == 200
    options = client.get("/api/options").json()
    assert options["limits"]["units"] == [1, 8] and "xor" in options["choices"]["dataset"]
    assert parse_settings(options["defaults"]) == parse_settings({})


def test_websocket_trains_xor_steps_resets_and_exports(client):
    with client.websocket_connect("/ws") as ws:
        first = ws.receive_json()
        assert first["type"] == "state" and first["epoch"] == 0 and "train_points" in first
        ws.send_json({"action": "configure", "settings": {"dataset": "xor", "hidden": [4], "activation": "tanh",
                                                          "epochs_per_frame": 10}})
        start = ws.receive_json()
        assert start["settings"]["hidden"] == [4] and start["epoch"] == 0
        ws.send_json({"action": "play"})
        done = _until(ws, lambda m: m["type"] == "state" and m["test_loss"] < 0.1)
        assert done["running"] and done["epoch"] > 0 and done["output"] != start["output"]
        assert done["curve"]["test"][-1] == done["test_loss"] and done["test_accuracy"] > 0.9
        ws.send_json({"action": "pause"})
        paused = _until(ws, lambda m: m["type"] == "state" and not m["running"])
        ws.send_json({"action": "step"})
        assert ws.receive_json()["epoch"] == paused["epoch"] + 1
        ws.send_json({"action": "export"})
        code = _until(ws, lambda m: m["type"] == "code")["code"]
        assert "nn.Dense(4, activation='tanh')" in code and f"EPOCHS = {paused['epoch'] + 1}" in code
        ws.send_json({"action": "reset"})
        assert ws.receive_json()["epoch"] == 0


@pytest.mark.parametrize("send, words", [
    ("{not json", ["malformed message", "{not json"]),
    (json.dumps({"action": "configure", "settings": {"lr": -1}}), ["learning rate", "-1"]),
    (json.dumps({"action": "configure", "settings": {"hidden": [10000]}}), ["units per hidden layer", "10000"]),
    (json.dumps({"action": "configure", "settings": [1, 2]}), ["settings must be a JSON object", "list"]),
    (json.dumps({"action": "fly"}), ["unknown action", "fly"]),
    (json.dumps([1, 2, 3]), ["unknown action", "[1, 2, 3]"]),
    ("[" * 100000, ["too long"]),
    (b"\x00\x01", ["malformed message", "binary"]),
])
def test_bad_input_gets_an_error_and_the_session_goes_on(client, send, words):
    with client.websocket_connect("/ws") as ws:
        before = ws.receive_json()
        ws.send_bytes(send) if isinstance(send, bytes) else ws.send_text(send)
        error = ws.receive_json()
        assert error["type"] == "error"
        for word in words:
            assert word in error["message"], (word, error["message"])
        ws.send_json({"action": "step"})  # the settings before the mistake still hold
        after = ws.receive_json()
        assert after["epoch"] == 1 and after["weights"] != before["weights"]


def test_a_diverging_run_stops_with_a_message(client):
    with client.websocket_connect("/ws") as ws:
        ws.receive_json()
        ws.send_json({"action": "configure", "settings": {"lr": 10, "optimizer": "sgd", "activation": "relu",
                                                          "hidden": [8, 8, 8, 8], "problem": "regression",
                                                          "epochs_per_frame": 5}})
        ws.receive_json()
        ws.send_json({"action": "play"})
        for _ in range(100):  # strict JSON all the way (a browser's parser refuses NaN)
            msg = json.loads(ws.receive_text(), parse_constant=lambda name: pytest.fail(f"{name} in a message"))
            if msg["type"] == "error":
                break
        assert "learning rate" in msg["message"] and "10" in msg["message"]
        ws.send_json({"action": "play"})
        assert "too high" in _until(ws, lambda m: m["type"] == "error")["message"]


def test_an_unexpected_failure_is_reported_to_the_tab_and_the_session_goes_on(client, monkeypatch, caplog):
    def broken(self):
        raise ArithmeticError("a bug inside training")

    monkeypatch.setattr(Session, "train_epoch", broken)
    with client.websocket_connect("/ws") as ws:
        ws.receive_json()
        ws.send_json({"action": "step"})
        error = ws.receive_json()
        assert error["type"] == "error" and "ArithmeticError: a bug inside training" in error["message"]
        ws.send_json({"action": "state"})
        assert ws.receive_json()["type"] == "state"
    assert "a session failed" in caplog.text


def test_sessions_are_bounded_and_end_with_their_tab(client):
    playground = client.app.state.playground
    with client.websocket_connect("/ws") as a, client.websocket_connect("/ws") as b:
        a.receive_json(), b.receive_json()
        assert len(playground.sessions) == 2
        with client.websocket_connect("/ws") as c:
            refused = c.receive_json()
            assert refused["type"] == "error" and "at most 2" in refused["message"]
        a.send_json({"action": "play"})
        a.receive_json()
    with client.websocket_connect("/ws") as d:  # the closed tabs' sessions are gone: room again
        assert d.receive_json()["type"] == "state"
        assert len(playground.sessions) == 1


def test_pages_of_other_sites_cannot_open_a_session(client):
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws", headers={"origin": "http://elsewhere.example"}) as ws:
            ws.receive_json()
    with client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:  # the page's own origin
        assert ws.receive_json()["type"] == "state"


# --- packaging -----------------------------------------------------------------------------------

def test_the_page_ships_as_package_data():
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["neurona"]
    static = sorted((root / "neurona" / "playground" / "static").iterdir())
    assert {p.name for p in static} >= {"index.html", "playground.js", "playground.css"}
    for p in static:
        assert any(fnmatch.fnmatch(f"playground/static/{p.name}", g) for g in globs), p.name


def test_import_neurona_does_not_import_the_web_server():
    code = ("import sys, neurona, neurona.cli, neurona.playground; "
            "print([m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'websockets')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_command_says_how_to_install_the_extra_when_it_is_missing(monkeypatch, capsys):
    import neurona.playground
    from neurona.cli import main

    monkeypatch.delitem(sys.modules, "neurona.playground.server", raising=False)
    monkeypatch.delattr(neurona.playground, "server", raising=False)
    monkeypatch.setitem(sys.modules, "starlette", None)
    monkeypatch.setitem(sys.modules, "starlette.applications", None)
    assert main(["playground", "--port", "8123"]) == 2
    assert "pip install neurona[playground]" in capsys.readouterr().err
    assert nr.__name__ == "neurona"
