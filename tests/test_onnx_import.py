"""``nr.load_onnx``: files exported by PyTorch and by neurona become neurona models with the same outputs,
which train, save and export again."""

import io
import warnings

import numpy as np
import pytest

import neurona as nr
from neurona import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from neurona.graphs.onnx import OnnxImportError, to_onnx  # noqa: E402


def torch_to_onnx(module, example):
    """A torch module as ONNX bytes (the TorchScript exporter, dynamo=False: no extra package), batch axis free."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter announces its deprecation
        torch.onnx.export(module.eval(), example, buffer, dynamo=False, opset_version=17, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    return buffer.getvalue()


def torch_cnn():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 3, padding=1), torch.nn.BatchNorm2d(6), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 8, 3, stride=2), torch.nn.Tanh(), torch.nn.Dropout(0.3),
        torch.nn.Flatten(), torch.nn.Linear(8 * 2 * 2, 16), torch.nn.BatchNorm1d(16), torch.nn.Sigmoid(),
        torch.nn.Linear(16, 4))  # the exporter folds BatchNorm2d into the convolution; BatchNorm1d stays
    with torch.no_grad():  # running statistics that are not the defaults, so eval-mode BatchNorm shows
        for bn in (net[1], net[9]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    return net


def test_a_pytorch_cnn_imports_channels_last_with_the_same_outputs(tmp_path):
    net = torch_cnn()
    path = tmp_path / "cnn.onnx"
    path.write_bytes(torch_to_onnx(net, torch.zeros(1, 3, 10, 10)))
    model = nr.load_onnx(str(path))
    assert isinstance(model, nn.Model) and model.input_shape == (None, 10, 10, 3)  # NCHW file, NHWC model
    x = np.random.default_rng(0).standard_normal((5, 3, 10, 10)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x.transpose(0, 2, 3, 1)), want, rtol=1e-4, atol=1e-5)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"Conv2D", "BatchNorm", "MaxPool2D", "Flatten", "Dense"} <= kinds


def test_a_pytorch_mlp_imports_and_fine_tunes():
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.ReLU(), torch.nn.Linear(12, 12), torch.nn.LeakyReLU(),
                              torch.nn.Linear(12, 3), torch.nn.LogSoftmax(dim=1))
    model = nr.load_onnx(onnx.load_from_string(torch_to_onnx(net, torch.zeros(2, 6))))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-4, atol=1e-5)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)  # three classes the random net does not know
    model.compile(optimizer=nr.optim.Adam(lr=0.01), loss=nn.NLLLoss())  # the file ends in LogSoftmax
    before = model.evaluate(x, y)
    model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert model.evaluate(x, y) < 0.8 * before


ROUND_TRIP = [
    ("cnn", lambda: nr.models.get("cnn", (12, 12, 1), 4)),
    ("resnet18", lambda: nr.models.get("resnet18", (64, 64, 3), 4, width=1 / 32)),
    ("se_resnet", lambda: nr.models.get("se_resnet", (8, 8, 3), 4, width=1 / 8, ratio=4)),
    ("googlenet", lambda: nr.models.get("googlenet", (16, 16, 3), 4, width=1 / 16)),
    ("unet", lambda: nr.models.get("unet", (16, 16, 1), 2, width=1 / 16)),
    ("sequence", lambda: nn.Sequential([nn.Conv1D(3, 3, padding="causal"), nn.MaxPool1D(2), nn.Conv1D(2, 2, padding="same"),
                                        nn.GlobalAvgPool1D(), nn.RepeatVector(2), nn.GRU(2), nn.Dense(2)], name="seq")),
    ("normalised-cnn", lambda: nn.Sequential([nn.Normalization(mean=[10.0, 0.0], variance=[4.0, 0.25]),
                                              nn.Rescaling(2.0, 0.5), nn.Conv2D(3, 3), nn.MaxPool2D(2), nn.Flatten(),
                                              nn.Dense(2)], name="normalised")),
]


@pytest.mark.parametrize("name,make", ROUND_TRIP, ids=[n for n, _ in ROUND_TRIP])
def test_neurona_to_onnx_to_neurona_gives_the_same_outputs(name, make):
    from test_onnx_export import liven

    rng = np.random.default_rng(2)
    model = make()
    if not model.built:
        model.build((None, 8, 2) if name == "sequence" else (None, 6, 6, 2))
    liven(model, rng)
    back = nr.load_onnx(to_onnx(model))
    x = rng.standard_normal((3, *model.input_shape[1:])).astype(np.float32)
    np.testing.assert_allclose(back.predict(x), model.predict(x), rtol=1e-4, atol=1e-5)
    assert back.count_params() == model.count_params()


def test_recurrent_and_preprocessing_round_trip_and_train(tmp_path):
    from test_onnx_export import liven

    rng = np.random.default_rng(3)
    norm = nn.Normalization()
    series = rng.standard_normal((48, 6, 3)).astype(np.float32) * [4.0, 1.0, 0.2] + [10.0, -2.0, 0.0]
    norm.adapt(series)
    model = nn.Sequential([norm, nn.LSTM(5, return_sequences=True, go_backwards=True), nn.GRU(4, return_sequences=True),
                           nn.SimpleRNN(4), nn.Dense(2)])
    model.build((None, 6, 3))
    liven(model, rng)
    model.export(str(tmp_path / "rnn.onnx"))
    back = nr.load_onnx(str(tmp_path / "rnn.onnx"))
    np.testing.assert_allclose(back.predict(series), model.predict(series), rtol=1e-4, atol=1e-5)
    back.save(str(tmp_path / "back.neurona"))  # an imported model is an ordinary one
    again = nr.load_model(str(tmp_path / "back.neurona"))
    np.testing.assert_array_equal(again.predict(series), back.predict(series))
    target = series[:, -1, :2] * 0.1
    back.compile(optimizer=nr.optim.Adam(lr=0.01), loss="mse")
    before = back.evaluate(series, target)
    back.fit(series, target, epochs=8, batch_size=16, verbose=0)
    assert back.evaluate(series, target) < 0.8 * before


def test_an_operator_without_a_layer_is_named():
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 4])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 4])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Cos", ["x"], ["y"], name="wave")], "g", [x], [y])
    with pytest.raises(OnnxImportError, match=r"node 'wave' uses operator Cos, which has no neurona layer"):
        nr.load_onnx(onnx.helper.make_model(graph))
    grouped = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3, groups=2))
    with pytest.raises(OnnxImportError, match=r"\(Conv\): grouped convolution \(group=2\)"):
        nr.load_onnx(onnx.load_from_string(torch_to_onnx(grouped, torch.zeros(1, 4, 6, 6))))


class TorchTagger(torch.nn.Module):
    """Embedding, an LSTM and a second recurrent layer whose last hidden state feeds a linear layer."""

    def __init__(self, cell):
        super().__init__()
        self.embed = torch.nn.Embedding(20, 4)
        self.lstm = torch.nn.LSTM(4, 5, batch_first=True)
        self.cell = cell(5, 3, batch_first=True)
        self.fc = torch.nn.Linear(3, 2)

    def forward(self, ids):
        y, _ = self.lstm(self.embed(ids))
        _, h = self.cell(y)
        return self.fc((h[0] if isinstance(h, tuple) else h)[-1])


@pytest.mark.parametrize("cell,layer", [(torch.nn.RNN, "SimpleRNN"), (torch.nn.LSTM, "LSTM"), (torch.nn.GRU, "GRU")])
def test_pytorch_recurrent_models_import_with_their_gate_order(cell, layer):
    torch.manual_seed(3)
    net = TorchTagger(cell)
    model = nr.load_onnx(onnx.load_from_string(torch_to_onnx(net, torch.zeros(2, 6, dtype=torch.long))))
    assert [type(m).__name__ for m in model.layers] == ["Input", "Embedding", "LSTM", layer, "Dense"]
    ids = np.random.default_rng(4).integers(0, 20, (5, 6))
    with torch.no_grad():
        want = net.eval()(torch.from_numpy(ids)).numpy()
    np.testing.assert_allclose(model.predict(ids), want, rtol=1e-4, atol=1e-5)


class TorchBlock(torch.nn.Module):
    """A basic residual block: relu(bn(conv(relu(bn(conv(x))))) + x)."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(channels)
        self.conv2 = torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(channels)

    def forward(self, x):
        return torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))) + x)


def test_a_pytorch_residual_network_with_padded_pools():
    """ResNet's stem (7x7 stride 2, max pool 3/2 padded by 1 after a ReLU), a residual block, a padded average pool."""
    torch.manual_seed(4)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 7, stride=2, padding=3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(3, 2, padding=1), TorchBlock(4), torch.nn.AvgPool2d(3, 1, padding=1),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3))
    model = nr.load_onnx(onnx.load_from_string(torch_to_onnx(net, torch.zeros(1, 3, 20, 20))))
    assert {"Add", "ZeroPadding2D", "GlobalAvgPool2D"} <= {type(m).__name__ for m in model.layers}
    x = np.random.default_rng(5).standard_normal((2, 3, 20, 20)).astype(np.float32)
    with torch.no_grad():
        want = net.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x.transpose(0, 2, 3, 1)), want, rtol=1e-4, atol=1e-5)


def test_a_pytorch_conv1d_network_imports_channels_last():
    torch.manual_seed(6)
    net = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool1d(2),
                              torch.nn.Conv1d(4, 3, 3, dilation=2), torch.nn.AvgPool1d(2), torch.nn.Flatten(),
                              torch.nn.Linear(3, 2))
    model = nr.load_onnx(onnx.load_from_string(torch_to_onnx(net, torch.zeros(1, 2, 14))))
    assert model.input_shape == (None, 14, 2)  # the file's (N, C, L) becomes neurona's (N, L, C)
    x = np.random.default_rng(7).standard_normal((3, 2, 14)).astype(np.float32)
    with torch.no_grad():
        want = net.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x.transpose(0, 2, 1)), want, rtol=1e-4, atol=1e-5)


class TorchBidirectional(torch.nn.Module):
    """A bidirectional recurrent layer (batch_first) read per step (a tagger) or by its last states (a classifier)."""

    def __init__(self, cell, per_step):
        super().__init__()
        self.embed = torch.nn.Embedding(20, 4)
        self.rnn = cell(4, 3, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(6, 2)
        self.per_step = per_step

    def forward(self, ids):
        y, h = self.rnn(self.embed(ids))
        if self.per_step:
            return self.fc(y)
        h = h[0] if isinstance(h, tuple) else h
        return self.fc(torch.cat([h[-2], h[-1]], dim=1))  # the last forward and backward states


@pytest.mark.parametrize("cell", [torch.nn.LSTM, torch.nn.GRU, torch.nn.RNN], ids=["lstm", "gru", "rnn"])
@pytest.mark.parametrize("per_step", [True, False], ids=["tagger", "classifier"])
def test_pytorch_bidirectional_recurrences_import_as_bidirectional(cell, per_step, tmp_path):
    torch.manual_seed(5)
    net = TorchBidirectional(cell, per_step)
    model = nr.load_onnx(onnx.load_from_string(torch_to_onnx(net, torch.zeros(2, 6, dtype=torch.long))))
    wrapped = [m for m in model.layers if isinstance(m, nn.Bidirectional)]
    assert len(wrapped) == 1 and wrapped[0].merge_mode == ("concat" if per_step else None)
    ids = np.random.default_rng(6).integers(0, 20, (5, 6))
    with torch.no_grad():
        want = net.eval()(torch.from_numpy(ids)).numpy()
    assert np.ptp(want) > 1e-3
    np.testing.assert_allclose(model.predict(ids), want, rtol=1e-4, atol=1e-5)
    model.save(str(tmp_path / "bidirectional.neurona"))  # an ordinary model: it saves and loads
    np.testing.assert_array_equal(nr.load_model(str(tmp_path / "bidirectional.neurona")).predict(ids),
                                  model.predict(ids))


def gru_reset_before(units, **kwargs):
    return nn.GRU(units, reset_after=False, activation="relu", **kwargs)  # ONNX's linear_before_reset=0


BIDIRECTIONAL = [(nn.LSTM, True, "concat"), (nn.LSTM, False, "concat"), (nn.GRU, True, "concat"),
                 (nn.GRU, False, "concat"), (nn.SimpleRNN, True, "concat"), (nn.SimpleRNN, False, "concat"),
                 (gru_reset_before, True, "concat"), (nn.LSTM, True, "sum"), (nn.GRU, False, "ave"),
                 (nn.SimpleRNN, True, "mul"), (nn.LSTM, False, None)]


@pytest.mark.parametrize("cell,sequences,mode", BIDIRECTIONAL,
                         ids=[f"{c.__name__}-{'seq' if s else 'last'}-{m}" for c, s, m in BIDIRECTIONAL])
def test_bidirectional_layers_round_trip(cell, sequences, mode):
    from test_onnx_export import assert_same, liven

    rng = np.random.default_rng(7)
    x = nn.Input((5, 4))
    y = nn.Bidirectional(cell(3, return_sequences=sequences), merge_mode=mode)(x)
    y = nn.concatenate(y) if mode is None else y  # merge_mode None gives [forward, backward]
    model = liven(nn.Model(x, nn.Dense(2)(y)), rng)
    proto = to_onnx(model)
    ops = [n for n in proto.graph.node if n.op_type in ("RNN", "LSTM", "GRU")]
    directions = [onnx.helper.get_attribute_value(a) for n in ops for a in n.attribute if a.name == "direction"]
    assert directions == [b"bidirectional"]  # one operator for both halves
    xs = rng.standard_normal((3, 5, 4)).astype(np.float32)
    assert_same(model, xs, proto)  # onnxruntime agrees with neurona
    back = nr.load_onnx(proto)
    assert sum(isinstance(m, nn.Bidirectional) for m in back.layers) == 1
    want = model.predict(xs)
    assert np.ptp(want) > 1e-3
    np.testing.assert_allclose(back.predict(xs), want, rtol=1e-5, atol=1e-5)
    assert back.count_params() == model.count_params()


def test_bidirectional_patterns_without_a_neurona_layer_are_named():
    from test_onnx_export import liven

    torch.manual_seed(8)
    proto = onnx.load_from_string(torch_to_onnx(TorchBidirectional(torch.nn.GRU, True), torch.zeros(2, 6,
                                                                                                  dtype=torch.long)))
    gru = next(n for n in proto.graph.node if n.op_type == "GRU")
    proto.graph.output.append(onnx.helper.make_tensor_value_info(gru.output[1], onnx.TensorProto.FLOAT, None))
    with pytest.raises(OnnxImportError, match=rf"node '{gru.name}' \(GRU\): neurona's Bidirectional gives the "
                                              r"sequence Y or the last hidden states Y_h, not both"):
        nr.load_onnx(proto)
    # a recurrent operator's output used in ONNX's layout (T, 1, N, H), without the Squeeze that makes it (N, T, H)
    helper = onnx.helper
    weights = [onnx.numpy_helper.from_array(np.ones(shape, np.float32), name)
               for name, shape in (("W", (1, 3, 4)), ("R", (1, 3, 3)))]
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
             helper.make_node("RNN", ["xt", "W", "R"], ["Y"], hidden_size=3, name="rnn"),
             helper.make_node("Relu", ["Y"], ["y"], name="act")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 5, 4])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)], weights)
    with pytest.raises(OnnxImportError, match=r"node 'act' \(Relu\) uses 'Y', a recurrent operator's Y "
                                              r"\(T, 1, N, H\), which is imported only through the Squeeze"):
        nr.load_onnx(helper.make_model(graph))
    # a forward half that reads the steps backwards is exported as two operators and a Slice reversing a sequence
    x = nn.Input((5, 4))
    y = nn.Bidirectional(nn.GRU(3, go_backwards=True, return_sequences=True))(x)
    model = liven(nn.Model(x, nn.Dense(2)(y)), np.random.default_rng(9))
    with pytest.raises(OnnxImportError, match=r"\(Concat\) uses '.*Slice.*', a sequence reversed in time"):
        nr.load_onnx(to_onnx(model))


class TorchPerStep(torch.nn.Module):
    """Two linear layers applied to every step by folding the steps into the batch, as TimeDistributed does."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(4, 5), torch.nn.Linear(5, 2)

    def forward(self, x):
        n, t, f = x.shape
        return self.fc2(torch.relu(self.fc1(x.reshape(-1, f)))).reshape(n, t, 2)


def test_a_pytorch_per_step_model_imports_as_time_distributed():
    """PyTorch's x.reshape(-1, F) ... .reshape(N, T, out) (shapes computed in the graph) is a TimeDistributed too."""
    torch.manual_seed(11)
    net = TorchPerStep()
    model = nr.load_onnx(onnx.load_from_string(torch_to_onnx(net, torch.zeros(2, 3, 4))))
    assert [type(m).__name__ for m in model.layers] == ["Input", "TimeDistributed"]
    x = np.random.default_rng(12).standard_normal((5, 3, 4)).astype(np.float32)
    with torch.no_grad():
        want = net.eval()(torch.from_numpy(x)).numpy()
    assert np.ptp(want) > 1e-3
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-4, atol=1e-5)


def test_time_distributed_round_trips_as_time_distributed_models():
    """The Reshapes that fold the steps into the batch and back become nn.TimeDistributed around the layers between."""
    from test_onnx_export import time_distributed_clip

    rng = np.random.default_rng(10)
    model = time_distributed_clip(rng)
    back = nr.load_onnx(to_onnx(model))
    assert sum(isinstance(m, nn.TimeDistributed) for m in back.layers) == 6
    x = rng.standard_normal((3, 4, 6, 6, 2)).astype(np.float32)
    want = model.predict(x)
    assert np.ptp(want) > 1e-3
    np.testing.assert_allclose(back.predict(x), want, rtol=1e-5, atol=1e-5)
    assert back.count_params() == model.count_params()

    seq = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 3, 4])
    rows = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [None, 4])
    fold = onnx.helper.make_node("Reshape", ["x", "shape"], ["y"], name="fold")
    shape = onnx.numpy_helper.from_array(np.array([-1, 4], np.int64), "shape")
    graph = onnx.helper.make_graph([fold], "g", [seq], [rows], [shape])
    with pytest.raises(OnnxImportError, match=r"node 'fold' \(Reshape\) folds the steps of a sequence into the "
                                              r"batch, and no Reshape unfolds them"):
        nr.load_onnx(onnx.helper.make_model(graph))


def test_a_file_that_is_not_onnx_gets_an_error_naming_it(tmp_path):
    bad = tmp_path / "notes.onnx"
    bad.write_bytes(b"garbage, not a protobuf")
    with pytest.raises(ValueError, match=r"notes\.onnx is not an ONNX model file"):
        nr.load_onnx(bad)
    with pytest.raises(FileNotFoundError):
        nr.load_onnx(tmp_path / "missing.onnx")
