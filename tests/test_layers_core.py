"""The core layers and the Module machinery: Dense, Activation, Flatten, Reshape, Input, Dropout,
GaussianNoise; lazy building, names, summary, state_dict, get_config, freezing, devices."""

import numpy as np
import pytest
import torch

import neurona as nr
from neurona import nn
from neurona.testing import gradcheck

R = np.random.default_rng(7)


@pytest.mark.parametrize("activation,torch_act", [(None, lambda t: t), ("relu", torch.relu),
                                                  ("sigmoid", torch.sigmoid), ("tanh", torch.tanh),
                                                  ("gelu", torch.nn.functional.gelu),
                                                  ("softmax", lambda t: torch.softmax(t, -1))])
def test_dense_matches_torch_linear(activation, torch_act):
    x, W, b = R.standard_normal((5, 4)), R.standard_normal((4, 3)), R.standard_normal(3)
    x = np.where(np.abs(x) < 0.1, 0.5, x)

    def ours(x, W, b):
        layer = nn.Dense(3, activation=activation)
        layer.build((None, 4))
        layer.kernel, layer.bias = nn.Parameter(W.data, dtype=np.float64), nn.Parameter(b.data, dtype=np.float64)
        return layer(x), layer

    def theirs(x, W, b):
        linear = torch.nn.Linear(4, 3).double()
        with torch.no_grad():
            linear.weight.copy_(W.T)
            linear.bias.copy_(b)
        return torch_act(linear(x)), linear

    # compare forward and gradients through the layer's own parameters
    x64 = nr.tensor(x, dtype=np.float64, requires_grad=True)
    y, layer = ours(x64, nr.tensor(W, dtype=np.float64), nr.tensor(b, dtype=np.float64))
    xt = torch.tensor(x, requires_grad=True)
    yt, linear = theirs(xt, torch.tensor(W), torch.tensor(b))
    g = R.standard_normal(y.shape)
    y.backward(g)  # = (y * g).sum().backward(), with g moved to y's device
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(x64.grad, xt.grad.numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(layer.kernel.grad, linear.weight.grad.numpy().T, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(layer.bias.grad, linear.bias.grad.numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "elu"])
def test_dense_gradcheck_through_the_layer(activation):
    def through_layer(x, W, b):
        layer = nn.Dense(3, activation=activation)
        layer.build((None, 4))
        layer.kernel, layer.bias = W, b  # the checked tensors stand in for the parameters
        return layer(x)

    gradcheck(through_layer, R.standard_normal((5, 4)), R.standard_normal((4, 3)), R.standard_normal(3))


@pytest.mark.parametrize("make,x_shape,out_shape,n_params", [
    (lambda: nn.Dense(7), (2, 5), (2, 7), 5 * 7 + 7),
    (lambda: nn.Dense(7, use_bias=False), (2, 3, 5), (2, 3, 7), 35),
    (lambda: nn.Activation("relu"), (2, 5), (2, 5), 0),
    (lambda: nn.Flatten(), (2, 3, 4, 5), (2, 60), 0),
    (lambda: nn.Reshape((4, 15)), (2, 3, 4, 5), (2, 4, 15), 0),
    (lambda: nn.Input((3, 4)), (2, 3, 4), (2, 3, 4), 0),
    (lambda: nn.Dropout(0.5), (2, 5), (2, 5), 0),
    (lambda: nn.GaussianNoise(0.1), (2, 5), (2, 5), 0),
])
def test_layer_contract(make, x_shape, out_shape, n_params):
    """Output shape, parameter count, one backward, state_dict and get_config round trips."""
    nr.manual_seed(0)
    layer = make()
    x = nr.tensor(R.standard_normal(x_shape), requires_grad=True)
    y = layer(x)
    assert y.shape == out_shape and layer.count_params() == n_params
    y.sum().backward()
    assert x.grad.shape == x_shape
    clone = type(layer).from_config(layer.get_config())
    clone(nr.tensor(np.zeros(x_shape)))
    clone.load_state_dict(layer.state_dict())
    layer.eval()
    clone.eval()
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())


def test_wrong_input_shape_names_layer_and_shapes():
    layer = nn.Dense(3, name="hidden")
    layer(nr.tensor(np.ones((2, 4))))
    with pytest.raises(ValueError, match=r"Dense layer 'hidden': .*last axis has size 4.*shape=\(2, 5\)"):
        layer(nr.tensor(np.ones((2, 5))))
    with pytest.raises(ValueError, match=r"Input 'in': expected samples of shape \(3,\)"):
        nn.Input((3,), name="in")(np.ones((2, 4)))
    with pytest.raises(ValueError, match="Reshape layer"):
        nn.Reshape((7,))(np.ones((2, 4)))
    with pytest.raises(ValueError, match="rate"):
        nn.Dropout(1.0)
    with pytest.raises(ValueError, match="unknown activation"):
        nn.Dense(3, activation="relux")


def test_automatic_names_summary_and_parameter_order():
    nn.reset_names()
    model = nn.Sequential([nn.Dense(4, activation="relu"), nn.Dropout(0.2), nn.Dense(2)])
    assert [layer.name for layer in model.layers] == ["dense", "dropout", "dense_1"]
    assert "not built yet" in model.summary(print_fn=None)
    model.build((None, 3))
    text = model.summary(print_fn=None)
    assert "dense (Dense)" in text and "(None, 4)" in text and "Total params: 26" in text
    assert [n for n, _ in model.named_parameters()] == ["0.kernel", "0.bias", "2.kernel", "2.bias"]


def test_subclassed_module_registers_parameters_children_and_lists():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(np.ones(1))
            self.blocks = [nn.Dense(3), nn.Dense(2)]
            self.head = nn.Dense(1)

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return self.head(x) * self.scale

    net = Net()
    net(nr.tensor(np.ones((2, 5))))
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "blocks.0.kernel", "blocks.0.bias", "blocks.1.kernel", "blocks.1.bias",
                     "head.kernel", "head.bias"]
    with pytest.raises(AttributeError, match=r"call super\(\)\.__init__\(\) in Broken"):
        class Broken(nn.Module):
            def __init__(self):
                self.fc = nn.Dense(2)

        Broken()


def test_frozen_layer_gets_no_gradient_and_no_update():
    model = nn.Sequential([nn.Dense(3, input_shape=(4,)), nn.Dense(2)])
    model.layers[0].trainable = False
    before = model.layers[0].kernel.data.copy()
    opt = nr.optim.SGD(model.parameters(), lr=0.1)
    loss = nr.functional.cross_entropy(model(nr.tensor(np.ones((5, 4)))), np.zeros(5, int))
    loss.backward()
    opt.step()
    assert model.layers[0].kernel.grad is None
    np.testing.assert_array_equal(model.layers[0].kernel.data, before)
    assert model.count_params(trainable_only=True) == 3 * 2 + 2


def test_dropout_and_noise_are_identity_in_eval_mode():
    x = nr.tensor(np.ones((4, 10)))
    model = nn.Sequential([nn.Dropout(0.5), nn.GaussianNoise(1.0)])
    assert not np.array_equal(model(x).numpy(), x.numpy())
    model.eval()
    np.testing.assert_array_equal(model(x).numpy(), x.numpy())


def test_regularization_loss_adds_kernel_penalties_only():
    layer = nn.Dense(2, kernel_regularizer=nn.regularizers.L2(0.5), bias_initializer="ones")
    layer.build((None, 3))
    expected = 0.5 * float((layer.kernel.numpy().astype(np.float64) ** 2).sum())
    np.testing.assert_allclose(layer.regularization_loss().item(), expected, rtol=1e-6)


def test_module_to_cpu_keeps_parameters():
    model = nn.Sequential([nn.Dense(2, input_shape=(3,))])
    assert model.to("cpu") is model and model.layers[0].kernel.device == "cpu"
    with pytest.raises(ValueError, match="device must be one of"):
        model.to("tpu")


@pytest.mark.gpu
def test_module_to_gpu_and_back():
    model = nn.Sequential([nn.Dense(2, input_shape=(3,))])
    x = np.ones((1, 3), np.float32)
    expected = model(nr.tensor(x)).numpy()
    model.to("gpu")
    out = model(nr.tensor(x, device="gpu"))
    assert out.device == "gpu"
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5)
