"""Resuming with BackupAndRestore: callback state found by identity whatever the verbosity, a warning for
state nobody takes, CSVLogger rows kept, and a clear refusal when the model or the optimizer changed."""

import csv

import numpy as np
import pytest

import neurona as nr
from neurona import nn, optim
from neurona.training import ModelFileError
from neurona.training import callbacks as C
from neurona.training.backup import FILENAME, callback_keys


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (np.eye(3)[y] @ rng.standard_normal((3, 5)) + rng.standard_normal((n, 5))).astype(np.float32)
    return x, y


class Interrupt(C.Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def make(units=8, opt=None):
    nr.manual_seed(3)
    m = nn.Sequential([nn.Dense(units, activation="relu"), nn.Dropout(0.2), nn.Dense(3)])
    m.compile(opt or optim.Adam(lr=0.05), "cross_entropy")
    return m


def stateful():
    return [C.EarlyStopping(monitor="loss", patience=50, restore_best_weights=True),
            C.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0.5)]


@pytest.mark.cpu_only(reason="bit-exact resume with dropout: backups hold the CPU generator's state, not the GPU one's")
def test_callback_state_is_matched_by_identity_whatever_the_verbosity(tmp_path, capsys):
    x, y = data()
    plain_cbs = stateful()
    plain = make()
    plain.fit(x, y, epochs=6, batch_size=8, callbacks=plain_cbs, verbose=0)

    backup = str(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        make().fit(x, y, epochs=6, batch_size=8, callbacks=[*stateful(), C.BackupAndRestore(backup), Interrupt(3)],
                   verbose=0)
    resumed_cbs = stateful()
    resumed = make()
    restore = C.BackupAndRestore(backup)
    resumed.fit(x, y, epochs=6, batch_size=8, callbacks=[*resumed_cbs, restore], verbose=2)  # one logger more
    assert restore.resumed_from == 3
    assert resumed.optimizer.lr == plain.optimizer.lr < 0.05  # the plateau's counters came back
    for a, b in zip(plain_cbs, resumed_cbs):
        assert a.get_state().keys() == b.get_state().keys()
        for key, value in a.get_state().items():
            if key != "best_weights":
                assert b.get_state()[key] == value, (type(a).__name__, key)
    for k, v in plain.state_dict().items():
        assert np.array_equal(resumed.state_dict()[k], v), k


def test_identities_are_class_and_name_with_a_count():
    class Named(C.Callback):
        def __init__(self, name):
            super().__init__()
            self.name = name

    cbs = [C.EarlyStopping(), Named("a"), C.EarlyStopping(), Named("b"), Named("a")]
    assert callback_keys(cbs) == ["EarlyStopping", "Named[a]", "EarlyStopping#2", "Named[b]", "Named[a]#2"]


def test_a_saved_state_without_its_callback_is_reported(tmp_path):
    x, y = data()
    backup = str(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        make().fit(x, y, epochs=4, batch_size=8, callbacks=[*stateful(), C.BackupAndRestore(backup), Interrupt(2)],
                   verbose=0)
    with pytest.warns(UserWarning, match="holds the state of a ReduceLROnPlateau callback, which this fit does not "
                                         "have; that state is ignored"):
        make().fit(x, y, epochs=4, batch_size=8, callbacks=[stateful()[0], C.BackupAndRestore(backup)], verbose=0)


def _interrupted(tmp_path, model, epochs=4, at=2, extra=()):
    x, y = data()
    backup = str(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=epochs, batch_size=8, callbacks=[*extra, C.BackupAndRestore(backup), Interrupt(at)],
                  verbose=0)
    return backup


@pytest.mark.parametrize("changed, match", [
    (lambda: make(units=16), r"different architecture: config.layers.0.config.units is 8 in the backup and 16 now"),
    (lambda: make(opt=optim.SGD(lr=0.05)), "different optimizer: class is 'Adam' in the backup and 'SGD' now"),
    (lambda: make(opt=optim.Adam(lr=0.01)), "different optimizer: config.lr is 0.05 in the backup and 0.01 now"),
])
def test_a_changed_model_or_optimizer_is_refused_with_what_differs(tmp_path, changed, match):
    backup = _interrupted(tmp_path, make())
    x, y = data()
    with pytest.raises(ValueError, match=match + r".*to start over, delete .*b \(or give BackupAndRestore another"):
        changed().fit(x, y, epochs=4, batch_size=8, callbacks=[C.BackupAndRestore(backup)], verbose=0)
    assert (tmp_path / "b" / FILENAME).exists()  # nothing was lost


def test_a_subclassed_model_with_other_shapes_is_refused(tmp_path):
    class Net(nn.Module):
        def __init__(self, units):
            super().__init__()
            self.a, self.b = nn.Dense(units), nn.Dense(3)

        def forward(self, x):
            return self.b(self.a(x).relu())

    def net(units):
        m = Net(units)
        m.compile(optim.Adam(lr=0.05), "cross_entropy")
        return m

    backup = _interrupted(tmp_path, net(8))
    x, y = data()
    with pytest.raises(ValueError, match=r"different architecture: a.kernel has shape \(5, 8\) in the backup and "
                                         r"\(5, 4\) now"):
        net(4).fit(x, y, epochs=4, batch_size=8, callbacks=[C.BackupAndRestore(backup)], verbose=0)


def test_a_damaged_backup_is_a_model_file_error(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / FILENAME).write_bytes(b"PK\x03\x04 not really a zip")
    x, y = data()
    with pytest.raises(ModelFileError, match=f"{FILENAME} is not a neurona training backup file"):
        make().fit(x, y, epochs=2, batch_size=8, callbacks=[C.BackupAndRestore(str(tmp_path / "b"))], verbose=0)


@pytest.mark.cpu_only(reason="bit-exact resume with dropout: backups hold the CPU generator's state, not the GPU one's")
def test_csv_logger_keeps_the_rows_of_the_epochs_before_a_resume(tmp_path):
    x, y = data()
    log = str(tmp_path / "history.csv")
    plain_log = str(tmp_path / "plain.csv")
    make().fit(x, y, epochs=5, batch_size=8, callbacks=[C.CSVLogger(plain_log)], verbose=0)

    class CrashAfterLogging(C.Callback):
        """Dies at the end of epoch 2 after CSVLogger wrote its row but before the backup: the row is redone."""

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    backup = str(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        make().fit(x, y, epochs=5, batch_size=8, verbose=0,
                   callbacks=[C.CSVLogger(log), CrashAfterLogging(), C.BackupAndRestore(backup)])
    assert [r["epoch"] for r in csv.DictReader(open(log))] == ["0", "1", "2"]
    make().fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[C.CSVLogger(log), C.BackupAndRestore(backup)])
    rows = list(csv.DictReader(open(log)))
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert rows == list(csv.DictReader(open(plain_log)))  # the same file an uninterrupted run writes
