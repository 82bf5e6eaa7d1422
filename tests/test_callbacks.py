"""Callbacks: hooks, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler, CSVLogger,
TerminateOnNaN, and BackupAndRestore surviving a killed process bit for bit."""

import csv
import json
import math
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import neurona as nr
from neurona import nn, optim
from neurona.training import callbacks as C


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (np.eye(3)[y] @ rng.standard_normal((3, 5)) * 2 + rng.standard_normal((n, 5))).astype(np.float32)
    return x, y


def model(lr=0.05):
    m = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(3)])
    m.compile(optim.SGD(lr=lr), "cross_entropy")
    return m


def scripted(key, values):
    """A callback (listed before the one under test) that puts a scripted value into each epoch's logs."""
    return C.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__(key, values[epoch]))


def test_hooks_are_called_in_keras_order():
    x, y = data(n=40)
    calls = []
    cb = C.LambdaCallback(on_train_begin=lambda logs: calls.append("train_begin"),
                          on_epoch_begin=lambda e, logs: calls.append(f"epoch_begin {e}"),
                          on_train_batch_end=lambda b, logs: calls.append(f"batch {b} {logs['size']}"),
                          on_epoch_end=lambda e, logs: calls.append(f"epoch_end {e} {sorted(logs)}"),
                          on_train_end=lambda logs: calls.append("train_end"))
    model().fit(x, y, epochs=2, batch_size=16, validation_split=0.25, callbacks=[cb], verbose=0)
    epoch = ["batch 0 16", "batch 1 14"]
    assert calls == (["train_begin", "epoch_begin 0", *epoch, "epoch_end 0 ['loss', 'lr', 'val_loss']",
                      "epoch_begin 1", *epoch, "epoch_end 1 ['loss', 'lr', 'val_loss']", "train_end"])
    with pytest.raises(TypeError, match="unknown hook 'on_epoch'"):
        C.LambdaCallback(on_epoch=print)


def test_stop_training_from_a_batch_hook_and_test_hooks():
    x, y = data()

    class StopAtBatch(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    m = model()
    m.fit(x, y, epochs=5, batch_size=10, callbacks=[StopAtBatch()], verbose=0)
    assert m.optimizer.iterations == 2

    seen = []

    class Tests(C.Callback):
        def on_test_begin(self, logs=None):
            seen.append("begin")

        def on_test_batch_end(self, batch, logs=None):
            seen.append(batch)

        def on_test_end(self, logs=None):
            seen.append(sorted(logs))

    m.evaluate(x, y, batch_size=32, callbacks=[Tests()])
    assert seen == ["begin", 0, 1, ["loss"]]


def test_early_stopping_patience_and_restore_best_weights():
    x, y = data()
    snapshots = []
    record = C.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(m.state_dict()))
    stop = C.EarlyStopping(monitor="score", patience=2, restore_best_weights=True, verbose=1)
    m = model()
    h = m.fit(x, y, epochs=10, callbacks=[scripted("score", [5, 3, 4, 4.5, 1, 1]), record, stop], verbose=0)
    assert len(h.history["loss"]) == 4 and stop.stopped_epoch == 3 and stop.best_epoch == 1
    final = m.state_dict()
    for k in final:  # the weights of epoch 1 (the best), not those of epoch 3 (the last)
        assert np.array_equal(final[k], snapshots[1][k])
        assert not np.array_equal(final[k], snapshots[3][k])


@pytest.mark.parametrize("kwargs, scores, epochs_run", [
    ({"patience": 0}, [3, 2, 2.5, 1], 3),                                  # stops at the first non-improvement
    ({"patience": 1, "min_delta": 0.5}, [3, 2.8, 2.6, 2.4, 1], 2),        # improvements smaller than min_delta
    ({"patience": 2}, [3, 2, 2.5, 2.5, 0.5, 0.4], 4),
    ({"patience": 2, "baseline": 1.0}, [3, 2, 2.5, 2.5, 0.5, 0.4], 3),    # patience counts until it beats 1.0
    ({"patience": 1, "mode": "max"}, [1, 2, 1, 0], 3),
    ({"patience": 0, "start_from_epoch": 3}, [3, 4, 5, 6, 7, 8], 5),       # warm-up epochs are not monitored
    ({"monitor": "val_accuracy", "patience": 0}, [0.5, 0.6, 0.55], 3),     # "auto": accuracy is maximised
])
def test_early_stopping_rules(kwargs, scores, epochs_run):
    x, y = data(n=20)
    kwargs = {"monitor": "score", **kwargs}
    stop = C.EarlyStopping(**kwargs)
    h = model().fit(x, y, epochs=len(scores), callbacks=[scripted(kwargs["monitor"], scores), stop], verbose=0)
    assert len(h.history["loss"]) == epochs_run


def test_early_stopping_warns_on_a_missing_monitor():
    x, y = data(n=20)
    with pytest.warns(UserWarning, match="'val_loss', which is not in the logs"):
        model().fit(x, y, epochs=1, callbacks=[C.EarlyStopping()], verbose=0)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max'"):
        C.EarlyStopping(mode="down")


def test_model_checkpoint_files(tmp_path):
    x, y = data()
    template = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.neurona")
    m = model()
    h = m.fit(x, y, epochs=3, validation_split=0.2, callbacks=[C.ModelCheckpoint(template)], verbose=0)
    expected = {f"ckpt-{e + 1:02d}-{v:.2f}.neurona" for e, v in enumerate(h.history["val_loss"])}
    assert {p.name for p in tmp_path.iterdir()} == expected
    last = sorted(tmp_path.iterdir())[-1]
    assert np.array_equal(nr.training.load_model(last).predict(x), m.predict(x))

    best_dir = tmp_path / "best"
    best = C.ModelCheckpoint(str(best_dir / "e{epoch}.neurona"), monitor="score", save_best_only=True)
    model().fit(x, y, epochs=5, callbacks=[scripted("score", [3, 2, 2.5, 1, 1]), best], verbose=0)
    assert sorted(p.name for p in best_dir.iterdir()) == ["e1.neurona", "e2.neurona", "e4.neurona"]


def test_model_checkpoint_weights_only_for_subclassed_models(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Dense(3)

        def forward(self, x):
            return self.fc(x)

    x, y = data()
    m = Net()
    m.compile("sgd", "cross_entropy")
    with pytest.raises(TypeError, match="save_weights_only=True"):
        m.fit(x, y, callbacks=[C.ModelCheckpoint(str(tmp_path / "m.neurona"))], verbose=0)
    m.fit(x, y, epochs=2, callbacks=[C.ModelCheckpoint(str(tmp_path / "w{epoch}.npz"), save_weights_only=True)],
          verbose=0)
    fresh = Net()
    fresh.build((None, 5))
    fresh.load_weights(str(tmp_path / "w2.npz"))
    assert np.array_equal(fresh.predict(x), m.predict(x))
    with pytest.raises(KeyError, match="cannot fill the path template"):
        m.fit(x, y, callbacks=[C.ModelCheckpoint(str(tmp_path / "{val_acc}.npz"), save_weights_only=True)],
              verbose=0)


def test_reduce_lr_on_plateau_follows_keras():
    x, y = data(n=20)
    scores = [1, 0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5]
    reduce = C.ReduceLROnPlateau(monitor="score", factor=0.5, patience=2, min_delta=0.01, cooldown=1)
    m = model(lr=0.1)
    h = m.fit(x, y, epochs=8, callbacks=[scripted("score", scores), reduce], verbose=0)
    assert h.history["lr"] == [0.1] * 4 + [0.05] * 4
    assert m.optimizer.lr == 0.025
    floor = C.ReduceLROnPlateau(monitor="score", factor=0.1, patience=0, min_lr=0.02)
    m = model(lr=0.1)
    m.fit(x, y, epochs=4, callbacks=[scripted("score", [1, 1, 1, 1]), floor], verbose=0)
    assert m.optimizer.lr == 0.02
    scheduled = nn.Sequential([nn.Dense(3)])
    scheduled.compile(optim.SGD(lr=optim.ExponentialDecay(0.1, 10, 0.5)), "cross_entropy")
    with pytest.raises(ValueError, match="schedule"):
        scheduled.fit(x, y, callbacks=[C.ReduceLROnPlateau(monitor="loss")], verbose=0)


def test_learning_rate_scheduler_and_history_lr():
    x, y = data(n=20)
    sched = C.LearningRateScheduler(lambda epoch, lr: 0.2 * 0.5 ** epoch)
    h = model().fit(x, y, epochs=3, callbacks=[sched], verbose=0)
    assert h.history["lr"] == [0.2, 0.1, 0.05]
    with pytest.raises(ValueError, match="finite rate >= 0"):
        model().fit(x, y, callbacks=[C.LearningRateScheduler(lambda e, lr: -1.0)], verbose=0)


def test_csv_logger(tmp_path):
    x, y = data(n=20)
    path = tmp_path / "log.csv"
    model().fit(x, y, epochs=3, validation_split=0.25, callbacks=[C.CSVLogger(str(path))], verbose=0)
    rows = list(csv.DictReader(open(path)))
    assert list(rows[0]) == ["epoch", "loss", "lr", "val_loss"] and [r["epoch"] for r in rows] == ["0", "1", "2"]
    model().fit(x, y, epochs=2, validation_split=0.25, callbacks=[C.CSVLogger(str(path), append=True)], verbose=0)
    lines = open(path).read().splitlines()
    assert len(lines) == 6 and lines.count(lines[0]) == 1


def test_terminate_on_nan(capsys):
    m = model()
    cb = C.TerminateOnNaN()
    cb.set_model(m)
    m.stop_training = False
    cb.on_train_batch_end(4, {"loss": 0.3})
    assert not m.stop_training
    cb.on_train_batch_end(5, {"loss": math.nan})
    assert m.stop_training and "Batch 5: Invalid loss" in capsys.readouterr().out


# ---------------------------------------------------------------- BackupAndRestore
SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    import numpy as np
    import neurona as nr
    from neurona import nn, optim
    from neurona.training import callbacks as C

    backup_dir, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    nr.manual_seed(0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 90)
    x = (np.eye(3)[y] @ rng.standard_normal((3, 5)) + rng.standard_normal((90, 5))).astype(np.float32)
    model = nn.Sequential([nn.Dense(16, activation="relu"), nn.Dropout(0.3), nn.Dense(3)])
    model.compile(optim.Adam(lr=0.02), "cross_entropy", metrics=["accuracy"])
    callbacks = [C.EarlyStopping(monitor="val_loss", patience=20, restore_best_weights=True),
                 C.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0.05)]
    if backup_dir != "-":
        callbacks.append(C.BackupAndRestore(backup_dir))
    if kill_at >= 0:  # killed at the start of epoch kill_at, after the backup of the epoch before
        callbacks.append(C.LambdaCallback(
            on_epoch_begin=lambda e, logs: os.kill(os.getpid(), signal.SIGKILL) if e == kill_at else None))
    history = model.fit(x, y, epochs=7, batch_size=16, validation_split=0.2, hard_examples=0.5,
                        callbacks=callbacks, verbose=0)
    np.savez(out, **model.state_dict())
    with open(out + ".json", "w") as f:
        json.dump(history.history, f)
""")


def _run(tmp_path, backup, out, kill_at=-1):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), backup, str(out), str(kill_at)], capture_output=True,
                          text=True, timeout=120)


def test_backup_and_restore_survives_a_killed_process(tmp_path):
    plain = _run(tmp_path, "-", tmp_path / "plain.npz")
    assert plain.returncode == 0, plain.stderr
    backup = tmp_path / "backup"
    killed = _run(tmp_path, str(backup), tmp_path / "resumed.npz", kill_at=4)
    assert killed.returncode == -signal.SIGKILL and not (tmp_path / "resumed.npz").exists()
    assert (backup / "training_state.neurona-backup").exists()
    resumed = _run(tmp_path, str(backup), tmp_path / "resumed.npz")
    assert resumed.returncode == 0, resumed.stderr
    assert not backup.exists()  # deleted when training ended
    a, b = np.load(tmp_path / "plain.npz"), np.load(tmp_path / "resumed.npz")
    assert a.files == b.files
    for k in a.files:
        assert np.array_equal(a[k], b[k]), k
    ha = json.load(open(str(tmp_path / "plain.npz") + ".json"))
    hb = json.load(open(str(tmp_path / "resumed.npz") + ".json"))
    assert ha == hb and len(ha["loss"]) == 7 and min(ha["lr"]) < 0.02  # the history spans the whole run


@pytest.mark.cpu_only(reason="bit-exact resume with dropout: backups hold the CPU generator's state, not the GPU one's")
def test_backup_and_restore_in_process_with_a_schedule(tmp_path):
    """Interrupted by an exception after epoch 2, rerun: the same weights as an uninterrupted run."""
    x, y = data(n=50)

    def train(callbacks):
        nr.manual_seed(5)
        m = nn.Sequential([nn.Dense(8, activation="tanh"), nn.Dropout(0.2), nn.Dense(3)])
        m.compile(optim.SGD(lr=optim.ExponentialDecay(0.2, 5, 0.5), momentum=0.9), "cross_entropy")
        m.fit(x, y, epochs=5, batch_size=8, callbacks=callbacks, verbose=0)
        return m

    class Interrupt(C.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 3:
                raise KeyboardInterrupt

    expected = train([]).state_dict()
    backup = C.BackupAndRestore(str(tmp_path / "b"))
    with pytest.raises(KeyboardInterrupt):
        train([backup, Interrupt()])
    m = train([backup])
    assert backup.resumed_from == 3 and m.optimizer.iterations == 35
    for k, v in m.state_dict().items():
        assert np.array_equal(v, expected[k]), k
