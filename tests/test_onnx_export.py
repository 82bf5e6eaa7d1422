"""ONNX export: every zoo model, the recurrent layers, preprocessing and the image layers run in
onnxruntime and give neurona's outputs within float32 rounding; layers without an equivalent are refused."""

import numpy as np
import pytest

import neurona as nr
from neurona import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from neurona.graphs.onnx import ExportError, to_onnx  # noqa: E402


def run_onnx(source, xs):
    """The outputs of an ONNX model (a ModelProto or a file) on the input arrays ``xs``, by onnxruntime."""
    data = source.SerializeToString() if hasattr(source, "SerializeToString") else str(source)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    xs = xs if isinstance(xs, list) else [xs]
    return sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), xs)})


def neurona_outputs(model, xs):
    model.eval()
    with nr.no_grad():
        out = model(xs if isinstance(xs, list) else nr.tensor(xs, dtype=xs.dtype))
    return [o.numpy() for o in out] if isinstance(out, (list, tuple)) else [out.numpy()]


def liven(model, rng):
    """Weights drawn at He scale, random biases and running statistics: every layer's effect shows in the output."""
    state = {}
    for k, a in model.state_dict().items():
        leaf = k.rsplit(".", 1)[-1]
        if leaf.endswith("kernel") or leaf == "embeddings":  # depthwise_kernel, pointwise_kernel too
            fan_in = int(np.prod(a.shape[:-1])) if a.ndim > 1 else 1
            a = rng.standard_normal(a.shape) * np.sqrt(2.0 / fan_in)
        elif leaf == "moving_variance":
            a = rng.uniform(0.5, 2.0, a.shape)
        elif leaf in ("bias", "beta", "moving_mean", "gamma"):
            a = (1.0 if leaf == "gamma" else 0.0) + 0.3 * rng.standard_normal(a.shape)
        state[k] = a.astype(np.float32)
    model.load_state_dict(state)
    return model


def assert_same(model, xs, proto=None):
    """onnxruntime on the exported graph agrees with neurona within float32 rounding; returns the proto."""
    proto = to_onnx(model) if proto is None else proto
    want = neurona_outputs(model, xs)
    got = run_onnx(proto, xs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        assert np.ptp(w) > 1e-3, "the outputs should vary with the input for the comparison to mean something"
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(w).max())))
    return proto


ZOO = [  # (name, input shape, kwargs): small widths and images to stay fast
    ("mlp", (20,), {}),
    ("cnn", (12, 12, 1), {}),
    ("lenet5", (16, 16, 1), {}),
    ("resnet20", (8, 8, 3), {}),
    ("alexnet", (16, 16, 3), {"width": 1 / 16}),
    ("zfnet", (16, 16, 3), {"width": 1 / 16}),
    ("zfnet", (64, 64, 3), {"width": 1 / 32}),          # the paper's stem: 7x7 stride 2, "same" pooling
    ("vgg11", (16, 16, 3), {"width": 1 / 16}),
    ("vgg16", (16, 16, 3), {"width": 1 / 16}),
    ("googlenet", (16, 16, 3), {"width": 1 / 16}),
    ("resnet18", (16, 16, 3), {"width": 1 / 16}),
    ("resnet18", (64, 64, 3), {"width": 1 / 32}),       # 7x7 stride-2 stem, ZeroPadding2D, max pool
    ("resnet34", (8, 8, 3), {"width": 1 / 16}),
    ("resnet50", (8, 8, 3), {"width": 1 / 16}),
    ("se_resnet", (8, 8, 3), {"width": 1 / 8, "ratio": 4}),
    ("unet", (16, 16, 1), {"width": 1 / 16}),
]


@pytest.mark.parametrize("name,shape,kwargs", ZOO, ids=[f"{n}-{s[0]}" for n, s, _ in ZOO])
def test_zoo_model_runs_the_same_in_onnxruntime(name, shape, kwargs):
    rng = np.random.default_rng(0)
    model = liven(nr.models.get(name, shape, 5, **kwargs), rng)
    x = rng.standard_normal((3, *shape)).astype(np.float32)
    proto = assert_same(model, x)
    declared = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in declared] == ["N", *shape]  # channels-last, as predict takes


def test_resnet_of_any_depth_and_the_cifar_blocks():
    rng = np.random.default_rng(1)
    model = liven(nr.models.resnet(8, (8, 8, 3), 4, widths=(4, 8, 8)), rng)
    assert_same(model, rng.standard_normal((2, 8, 8, 3)).astype(np.float32))
    blocks = nn.Sequential([nn.Conv2D(8, 3, padding="same"), nn.InceptionBlock(2, 2, 3, 1, 2, 2),
                            nn.SqueezeExcite(ratio=2), nn.ResidualBlock(6, strides=2), nn.GlobalAvgPool2D(keepdims=True),
                            nn.Flatten(), nn.Dense(3)])
    blocks.build((None, 8, 8, 3))
    assert_same(liven(blocks, rng), rng.standard_normal((2, 8, 8, 3)).astype(np.float32))


@pytest.mark.parametrize("layer", [
    lambda: nn.SimpleRNN(6),
    lambda: nn.SimpleRNN(6, activation="relu", return_sequences=True),
    lambda: nn.LSTM(6),
    lambda: nn.LSTM(6, return_sequences=True, go_backwards=True),
    lambda: nn.GRU(6),
    lambda: nn.GRU(6, reset_after=False, return_sequences=True),
    lambda: nn.GRU(6, go_backwards=True),
], ids=["rnn", "rnn-relu-seq", "lstm", "lstm-backwards-seq", "gru", "gru-reset-before-seq", "gru-backwards"])
def test_recurrent_layers_match_onnx_rnn_lstm_gru(layer):
    rng = np.random.default_rng(2)
    model = nn.Sequential([layer(), nn.Dense(3)])
    model.build((None, 5, 4))
    liven(model, rng)
    proto = assert_same(model, rng.standard_normal((3, 5, 4)).astype(np.float32))
    assert {n.op_type for n in proto.graph.node} & {"RNN", "LSTM", "GRU"}


def test_text_model_with_embedding_and_lstm_states():
    rng = np.random.default_rng(3)
    ids = nn.Input((7,), dtype="int64")
    seq, h, c = nn.LSTM(5, return_sequences=True, return_state=True)(nn.Embedding(30, 6)(ids))
    model = nn.Model(ids, [nn.Dense(2)(nn.Flatten()(seq)), nn.Dense(2)(h), c])
    liven(model, rng)
    assert_same(model, rng.integers(0, 30, (4, 7)).astype(np.int64))
    floats = nn.Sequential([nn.Embedding(30, 6), nn.GRU(4), nn.Dense(2)])  # float ids, as Sequential takes
    floats.build((None, 7))
    assert_same(liven(floats, rng), rng.integers(0, 30, (4, 7)).astype(np.float32))


def test_input_normalisation_is_built_into_the_graph():
    rng = np.random.default_rng(4)
    raw = (rng.standard_normal((64, 8, 8, 3)) * [20, 5, 1] + [100, -3, 0.5]).astype(np.float32)
    norm = nn.Normalization()
    norm.adapt(raw)
    model = nn.Sequential([norm, nn.Conv2D(4, 3, activation="relu"), nn.BatchNorm(), nn.MaxPool2D(2),
                           nn.Flatten(), nn.Dropout(0.5), nn.Dense(3, activation="softmax")])
    model.build((None, 8, 8, 3))
    liven(model, rng)
    assert_same(model, raw[:5])
    pixels = nn.Sequential([nn.Rescaling(1 / 255, offset=-0.5), nn.Normalization(axis=None, mean=0.1, variance=4.0),
                            nn.Normalization(axis=None, mean=1.0, variance=9.0, invert=True), nn.Flatten(), nn.Dense(4)])
    pixels.build((None, 6, 6, 1))
    assert_same(liven(pixels, rng), rng.integers(0, 256, (3, 6, 6, 1)).astype(np.float32))


def test_image_layers_activations_and_merges():
    rng = np.random.default_rng(5)
    stack = nn.Sequential([
        nn.ZeroPadding2D(((1, 2), (0, 1))), nn.Conv2D(3, 3, strides=2, dilation_rate=2, padding="same", activation="elu"),
        nn.UpSampling2D(2), nn.UpSampling2D((1, 2), interpolation="bilinear"), nn.AvgPool2D(3, strides=2, padding="same"),
        nn.Conv2DTranspose(3, 3, strides=2, padding="same", activation="tanh"), nn.Conv2DTranspose(2, 2, strides=3),
        nn.Conv2DTranspose(2, 3, strides=2, padding=1, output_padding=1), nn.MaxPool2D(4),
        nn.BatchNorm(axis=1), nn.GlobalMaxPool2D(), nn.LayerNorm(),
        nn.Dense(4, activation="gelu"), nn.Activation("swish"), nn.Activation("selu"), nn.Activation("leaky_relu"),
        nn.Activation("hard_tanh"), nn.Activation("softplus"), nn.Reshape((2, 2)), nn.Softmax(dim=1),
    ])
    stack.build((None, 4, 4, 3))
    assert_same(liven(stack, rng), rng.standard_normal((3, 4, 4, 3)).astype(np.float32))

    a, b = nn.Input((4, 4, 2), name="a"), nn.Input((4, 4, 2), name="b")
    ca, cb = nn.Conv2D(3, 1)(a), nn.Conv2D(3, 1)(b)
    merged = [nn.add(ca, cb), nn.subtract(ca, cb), nn.multiply(ca, cb), nn.average(ca, cb), nn.maximum(ca, cb),
              nn.minimum(ca, cb), nn.concatenate([ca, b], axis=-1), nn.concatenate([ca, cb], axis=1)]
    flat = [nn.Flatten()(m) for m in merged]
    model = nn.Model([a, b], nn.Dense(3)(nn.concatenate(flat)))
    liven(model, rng)
    assert_same(model, [rng.standard_normal((2, 4, 4, 2)).astype(np.float32) for _ in range(2)])


def test_the_graph_keeps_few_transposes():
    model = nr.models.get("cnn", (12, 12, 1), 10)
    ops = [n.op_type for n in to_onnx(model).graph.node]
    assert ops.count("Transpose") == 2  # after the input and before Flatten
    assert "Dropout" not in [n.op_type for n in to_onnx(nr.models.get("mlp", (8,), 3, dropout=0.5)).graph.node]


def test_export_writes_a_checked_file_atomically(tmp_path):
    model = nr.models.get("lenet5", (16, 16, 1), 10)
    path = tmp_path / "lenet.onnx"
    model.export(str(path))
    onnx.checker.check_model(str(path), full_check=True)
    loaded = onnx.load(str(path))
    assert loaded.opset_import[0].version == 17
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet.onnx"]  # no temporary file left
    x = np.random.default_rng(6).standard_normal((2, 16, 16, 1)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(path, x)[0], model.predict(x), rtol=1e-4, atol=1e-5)
    model.export(str(path), opset=19)
    assert onnx.load(str(path)).opset_import[0].version == 19


class Doubler(nn.Module):
    def forward(self, x):
        return x * 2


def test_a_layer_without_onnx_equivalent_is_named():
    model = nn.Sequential([nn.Dense(4), Doubler(name="times_two"), nn.Dense(2)])
    model.build((None, 3))
    with pytest.raises(ExportError, match=r"layer 'times_two' \(Doubler\) has no ONNX equivalent"):
        to_onnx(model)
    frames = nn.Sequential([nn.TimeDistributed(Doubler(name="times_two"), name="per_step")])
    frames.build((None, 3, 4))
    with pytest.raises(ExportError, match=r"TimeDistributed layer 'per_step' wraps a layer the exporter cannot "
                                          r"write: layer 'times_two' \(Doubler\) has no ONNX equivalent"):
        frames.export("never-written.onnx")
    with pytest.raises(ExportError, match="not built"):
        to_onnx(nn.Sequential([nn.Dense(3)]))
    class TwiceDense(nn.Dense):  # a subclass that computes something else is not written as its parent
        def forward(self, x):
            return super().forward(x) * 2

    twice = nn.Sequential([TwiceDense(3, name="twice")])
    twice.build((None, 2))
    with pytest.raises(ExportError, match=r"layer 'twice' \(TwiceDense\) has no ONNX equivalent"):
        to_onnx(twice)
    i = nn.Input((4,))
    with pytest.raises(ExportError, match=r"\(BatchNorm\) is called with training=True"):
        to_onnx(nn.Model(i, nn.BatchNorm(name="bn")(nn.Dense(3)(i), training=True)))
    custom = nn.Sequential([nn.Dense(3, activation=lambda t: t * 3)])
    custom.build((None, 2))
    with pytest.raises(ExportError, match="custom activation"):
        to_onnx(custom)


@pytest.mark.parametrize("opset", [13, 21])
def test_older_and_newer_opsets(opset):
    rng = np.random.default_rng(7)
    model = nn.Sequential([nn.Conv2D(3, 3, padding="same"), nn.UpSampling2D(2, interpolation="bilinear"),
                           nn.BatchNorm(), nn.GlobalAvgPool2D(), nn.LayerNorm(), nn.Reshape((3, 1)),
                           nn.Bidirectional(nn.LSTM(2, return_sequences=True)), nn.TimeDistributed(nn.Dense(2)),
                           nn.Bidirectional(nn.GRU(2), merge_mode="ave"), nn.Dense(2)])
    model.build((None, 4, 4, 2))
    liven(model, rng)
    proto = assert_same(model, rng.standard_normal((2, 4, 4, 2)).astype(np.float32), to_onnx(model, opset))
    assert proto.opset_import[0].version == opset
    with pytest.raises(ValueError, match="opset must be an integer from 13 to 21"):
        to_onnx(model, 12)


def test_onnx_is_optional(monkeypatch):
    import subprocess
    import sys

    code = "import sys, neurona; assert 'onnx' not in sys.modules and 'onnxruntime' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0  # importing neurona loads neither
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the extra were not installed
    with pytest.raises(ImportError, match=r"pip install neurona\[onnx\]"):
        nr.models.get("mlp", (4,), 2).export("never-written.onnx")
    with pytest.raises(ImportError, match=r"pip install neurona\[onnx\]"):
        nr.load_onnx("never-read.onnx")


def test_sequence_layers_conv1d_pools_and_repeat_vector():
    rng = np.random.default_rng(8)
    model = nn.Sequential([
        nn.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu"), nn.Conv1D(3, 3, strides=2, padding="same"),
        nn.Conv1D(3, 2, padding=1), nn.MaxPool1D(2, padding="same"), nn.AvgPool1D(2, strides=1, padding="same"),
        nn.GlobalAvgPool1D(keepdims=True), nn.Flatten(), nn.RepeatVector(3), nn.GlobalMaxPool1D(), nn.Dense(2)])
    model.build((None, 11, 2))
    liven(model, rng)
    proto = assert_same(model, rng.standard_normal((3, 11, 2)).astype(np.float32))
    assert [n.op_type for n in proto.graph.node].count("Conv") == 3


@pytest.mark.parametrize("mode", ["concat", "ave", None])
def test_bidirectional_layers(mode):
    rng = np.random.default_rng(9)
    x = nn.Input((5, 4))
    seq = nn.Bidirectional(nn.LSTM(3, return_sequences=True), merge_mode=mode)(x)
    seq = nn.concatenate(seq) if mode is None else seq  # merge_mode None gives [forward, backward]
    y = nn.Dense(2)(nn.Bidirectional(nn.GRU(2, go_backwards=True), merge_mode="sum")(seq))
    model = liven(nn.Model(x, y), rng)
    assert_same(model, rng.standard_normal((3, 5, 4)).astype(np.float32))


def time_distributed_clip(rng: np.random.Generator) -> nn.Sequential:
    """A clip of frames through per-frame convolutions, pools, a flatten and a Dense, then an LSTM over the frames."""
    per_frame = nn.Sequential([nn.Conv2D(3, 3, padding="same"), nn.BatchNorm(), nn.Activation("relu")])
    model = nn.Sequential([nn.TimeDistributed(per_frame), nn.TimeDistributed(nn.MaxPool2D(2)),
                           nn.TimeDistributed(nn.SeparableConv2D(4, 2, activation="tanh")),
                           nn.TimeDistributed(nn.Flatten()), nn.TimeDistributed(nn.Dense(5, activation="relu")),
                           nn.LSTM(3, return_sequences=True), nn.TimeDistributed(nn.Dense(2))])
    model.build((None, 4, 6, 6, 2))
    liven(model, rng)
    return model


def test_time_distributed_folds_the_steps_into_the_batch():
    """Each TimeDistributed exports as a Reshape in and out around its layer, for any batch size."""
    rng = np.random.default_rng(10)
    model = time_distributed_clip(rng)
    proto = assert_same(model, rng.standard_normal((3, 4, 6, 6, 2)).astype(np.float32))
    assert [n.op_type for n in proto.graph.node].count("Reshape") == 12  # in and out of each TimeDistributed
    assert_same(model, rng.standard_normal((1, 4, 6, 6, 2)).astype(np.float32), proto)  # any batch size
