"""ONNX and the depthwise convolutions: DepthwiseConv2D and SeparableConv2D export as a Conv with group = channels
(then a 1x1 Conv), run the same in onnxruntime, and come back; PyTorch's Conv2d(groups=C) imports as DepthwiseConv2D."""

import numpy as np
import pytest

import neurona as nr
from neurona import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from test_onnx_export import assert_same, liven  # noqa: E402

from neurona.graphs.onnx import OnnxImportError, to_onnx  # noqa: E402

LAYERS = [
    ("depthwise-same-m2", lambda: nn.DepthwiseConv2D(3, depth_multiplier=2, padding="same")),
    ("depthwise-valid-dilated-tanh", lambda: nn.DepthwiseConv2D((3, 2), dilation_rate=2, activation="tanh",
                                                                 use_bias=False)),
    ("depthwise-stride2-m3-pads", lambda: nn.DepthwiseConv2D(3, strides=2, padding=1, depth_multiplier=3)),
    ("separable-same-relu", lambda: nn.SeparableConv2D(4, 3, padding="same", activation="relu")),
    ("separable-stride2-m3", lambda: nn.SeparableConv2D(5, 3, strides=2, padding="same", depth_multiplier=3)),
    ("separable-dilated-nobias", lambda: nn.SeparableConv2D(2, 2, dilation_rate=(2, 1), use_bias=False,
                                                            activation="sigmoid")),
]


def built(layer, shape=(7, 6, 3)):
    model = nn.Sequential([layer])
    model.build((None, *shape))
    return liven(model, np.random.default_rng(0))


@pytest.mark.parametrize("opset", [13, 21])
@pytest.mark.parametrize("name,make", LAYERS, ids=[n for n, _ in LAYERS])
def test_depthwise_and_separable_run_the_same_in_onnxruntime(name, make, opset):
    model = built(make())
    x = np.random.default_rng(1).standard_normal((2, 7, 6, 3)).astype(np.float32)
    proto = assert_same(model, x, to_onnx(model, opset))  # also asserts the outputs vary
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    groups = [next((a.i for a in n.attribute if a.name == "group"), 1) for n in convs]
    assert groups == ([3, 1] if name.startswith("separable") else [3])
    assert proto.opset_import[0].version == opset


def test_the_depthwise_weights_keep_keras_channel_major_order():
    """Output channel c * M + m of the ONNX Conv is input channel c through filter m, as in neurona's forward."""
    model = built(nn.DepthwiseConv2D(1, depth_multiplier=2, use_bias=False), (1, 1, 3))
    kernel = model.layers[0].depthwise_kernel.numpy()  # (1, 1, C=3, M=2)
    x = np.array([[[[1.0, 10.0, 100.0]]]], dtype=np.float32)
    expected = np.array([x[0, 0, 0, c] * kernel[0, 0, c, m] for c in range(3) for m in range(2)])
    np.testing.assert_allclose(model.predict(x).reshape(-1), expected, rtol=1e-6)
    w = onnx.numpy_helper.to_array(to_onnx(model).graph.initializer[0])
    assert w.shape == (6, 1, 1, 1)
    np.testing.assert_array_equal(w.reshape(-1), kernel[0, 0].reshape(-1))  # c-major, then m


def test_separable_models_round_trip_through_onnx():
    rng = np.random.default_rng(2)
    model = nn.Sequential([nn.SeparableConv2D(6, 3, padding="same", depth_multiplier=2, activation="relu"),
                           nn.BatchNorm(), nn.DepthwiseConv2D(3, strides=2, depth_multiplier=2, activation="relu"),
                           nn.SeparableConv2D(4, 2, padding=1), nn.GlobalAvgPool2D(), nn.Dense(3)])
    model.build((None, 9, 9, 3))
    liven(model, rng)
    back = nr.load_onnx(to_onnx(model))
    kinds = [type(m).__name__ for m in back.layers]
    assert kinds.count("DepthwiseConv2D") == 3 and "Conv2D" in kinds  # a separable conv comes back as two layers
    x = rng.standard_normal((4, 9, 9, 3)).astype(np.float32)
    want = model.predict(x)
    assert np.ptp(want) > 1e-3
    np.testing.assert_allclose(back.predict(x), want, rtol=1e-5, atol=1e-5)
    assert back.count_params() == model.count_params()


def test_a_pytorch_mobilenet_block_imports_as_depthwise_layers():
    torch = pytest.importorskip("torch")
    from test_onnx_import import torch_to_onnx

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 6, 1, bias=False), torch.nn.BatchNorm2d(6), torch.nn.ReLU(),  # (ReLU6 has no neurona activation)
        torch.nn.Conv2d(6, 12, 3, padding="same", groups=6),  # depth multiplier 2
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(12, 4))
    with torch.no_grad():
        for bn in (net[3], net[6]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    model = nr.load_onnx(onnx.load_from_string(torch_to_onnx(net, torch.zeros(1, 3, 10, 10))))
    depthwise = [m for m in model.layers if isinstance(m, nn.DepthwiseConv2D)]
    assert [m.depth_multiplier for m in depthwise] == [1, 2]
    x = np.random.default_rng(3).standard_normal((3, 3, 10, 10)).astype(np.float32)
    with torch.no_grad():
        want = net.eval()(torch.from_numpy(x)).numpy()
    assert np.ptp(want) > 1e-3
    np.testing.assert_allclose(model.predict(x.transpose(0, 2, 3, 1)), want, rtol=1e-4, atol=1e-5)


def test_a_grouped_convolution_is_refused_with_what_is_supported():
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 4, 6, 6])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 4, 4, 4])
    w = onnx.numpy_helper.from_array(np.ones((4, 2, 3, 3), np.float32), "w")
    conv = onnx.helper.make_node("Conv", ["x", "w"], ["y"], name="pairs", group=2)
    proto = onnx.helper.make_model(onnx.helper.make_graph([conv], "g", [x], [y], [w]))
    with pytest.raises(OnnxImportError, match=r"node 'pairs' \(Conv\): grouped convolution \(group=2\) over 4 input "
                                              r"channels has no neurona layer.*DepthwiseConv2D"):
        nr.load_onnx(proto)
