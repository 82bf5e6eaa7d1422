"""ResidualBlock, SqueezeExcite and InceptionBlock against hand-built PyTorch equivalents with the same
weights (forward, input and weight gradients, running statistics), plus parameter counts, round trips
and errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import neurona as nr
from neurona import nn
from neurona.nn.module import deserialize_layer, serialize_layer
from neurona.testing import gradcheck

R = np.random.default_rng(11)


@pytest.fixture
def f64():
    nr.set_default_dtype(np.float64)
    yield
    nr.set_default_dtype(np.float32)


# ---------------------------------------------------------------- torch equivalents (NCHW), our weights
def conv(x, w, stride=1, padding=0):
    """Our kernel (kh, kw, C_in, C_out) as torch's (C_out, C_in, kh, kw)."""
    return TF.conv2d(x, w.permute(3, 2, 0, 1), stride=stride, padding=padding)


def bn(x, P, B, name, training):
    """Keras's momentum 0.99 is torch's 0.01; epsilon 1e-3."""
    return TF.batch_norm(x, B[f"{name}.moving_mean"], B[f"{name}.moving_variance"], P[f"{name}.gamma"],
                         P[f"{name}.beta"], training, 0.01, 1e-3)


def torch_residual(x, P, B, stride, training):
    y = TF.relu(bn(conv(x, P["conv1.kernel"], stride, 1), P, B, "bn1", training))
    y = bn(conv(y, P["conv2.kernel"], 1, 1), P, B, "bn2", training)
    shortcut = x
    if "shortcut_conv.kernel" in P:
        shortcut = bn(conv(x, P["shortcut_conv.kernel"], stride), P, B, "shortcut_bn", training)
    return TF.relu(y + shortcut)


def torch_squeeze_excite(x, P, B, training):
    s = TF.relu(x.mean(dim=(2, 3)) @ P["squeeze.kernel"] + P["squeeze.bias"])
    s = torch.sigmoid(s @ P["excite.kernel"] + P["excite.bias"])
    return x * s[:, :, None, None]


def torch_inception(x, P, B, training):
    def c(name, y, padding=0):
        return TF.relu(conv(y, P[f"{name}.kernel"], 1, padding) + P[f"{name}.bias"][:, None, None])

    pooled = TF.max_pool2d(x, 3, 1, padding=1)
    return torch.cat([c("branch_1x1", x), c("branch_3x3", c("branch_3x3_reduce", x), 1),
                      c("branch_5x5", c("branch_5x5_reduce", x), 2), c("branch_pool_proj", pooled)], dim=1)


def compare_block(block, torch_fn, shape, steps=2):
    """Training steps (outputs, every gradient, running statistics), then one evaluation step, vs torch."""
    block.eval()
    with nr.no_grad():
        block(nr.tensor(np.zeros(shape)))  # builds every sublayer; eval mode moves no statistics
    block.train()
    P = {n: torch.tensor(p.numpy(), requires_grad=True) for n, p in block.named_parameters()}
    B = {n: torch.tensor(nr.backend.to_numpy(b)) for n, b in block.named_buffers()}
    for step in range(steps + 1):
        training = step < steps
        block.train(training)
        x = R.standard_normal(shape) + step
        ours_x, their_x = nr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y = block(ours_x)
        ty = torch_fn(their_x.permute(0, 3, 1, 2), P, B, training).permute(0, 2, 3, 1)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-8, atol=1e-8)
        gy = R.standard_normal(y.shape)
        block.zero_grad()
        for t in P.values():
            t.grad = None
        y.backward(gy)  # = (y * gy).sum().backward(), with gy moved to y's device
        (ty * torch.tensor(gy)).sum().backward()
        np.testing.assert_allclose(ours_x.grad, their_x.grad.numpy(), rtol=1e-7, atol=1e-8)
        for n, p in block.named_parameters():
            np.testing.assert_allclose(p.grad, P[n].grad.numpy(), rtol=1e-7, atol=1e-8, err_msg=n)
    for n, b in block.named_buffers():
        np.testing.assert_allclose(b, B[n].numpy(), rtol=1e-10, err_msg=n)
    return block


@pytest.mark.parametrize("filters, strides, projection, has_projection", [
    (3, 1, None, False),  # same shape: identity shortcut
    (5, 1, None, True),  # more channels: projection
    (4, 2, None, True),  # downsampling: projection with the same strides
    (3, 1, True, True),  # asked for
], ids=["identity", "channels", "strided", "forced"])
def test_residual_block_matches_torch(f64, filters, strides, projection, has_projection):
    block = nn.ResidualBlock(filters, strides=strides, projection=projection)
    compare_block(block, lambda x, P, B, t: torch_residual(x, P, B, strides, t), (2, 5, 6, 3))
    assert (block.shortcut_conv is not None) == has_projection
    out = block(nr.tensor(R.standard_normal((2, 5, 6, 3))))
    assert out.shape == (2, -(-5 // strides), -(-6 // strides), filters)


def test_squeeze_excite_matches_torch(f64):
    block = nn.SqueezeExcite(ratio=2)
    compare_block(block, torch_squeeze_excite, (2, 3, 4, 6))
    assert block.squeeze.units == 3 and block.excite.units == 6


def test_inception_block_matches_torch(f64):
    block = nn.InceptionBlock(2, 3, 4, 1, 2, 3)
    compare_block(block, torch_inception, (2, 5, 5, 3), steps=1)
    assert block(nr.tensor(R.standard_normal((1, 5, 5, 3)))).shape == (1, 5, 5, 2 + 4 + 2 + 3)


def test_blocks_gradcheck(f64):
    rng = np.random.default_rng(5)  # its own generator: the inputs must not depend on which tests ran before
    for block, shape in ((nn.ResidualBlock(2, strides=2), (2, 3, 3, 2)), (nn.SqueezeExcite(ratio=2), (2, 2, 2, 4)),
                         (nn.InceptionBlock(1, 1, 1, 1, 1, 1), (1, 3, 3, 2))):
        x = rng.standard_normal(shape)
        block(nr.tensor(x))  # the weights are made once, before the differences are taken
        assert gradcheck(block, x)


def test_parameter_counts():
    C, k = 3, 8
    x = nr.tensor(R.standard_normal((2, 8, 8, C)))
    block = nn.ResidualBlock(k, strides=2)
    block(x)
    # conv3x3 (no bias), BN gamma/beta, conv3x3, BN, and the 1x1 projection with its BN
    assert block.count_params() == 9 * C * k + 2 * k + 9 * k * k + 2 * k + C * k + 2 * k
    identity = nn.ResidualBlock(C)
    identity(x)
    assert identity.count_params() == 2 * (9 * C * C + 2 * C)
    se = nn.SqueezeExcite(ratio=4)
    se(nr.tensor(R.standard_normal((2, 4, 4, 16))))
    assert se.count_params() == (16 * 4 + 4) + (4 * 16 + 16)
    inc = nn.InceptionBlock(64, 96, 128, 16, 32, 32)
    inc.build((1, 6, 6, 192))  # GoogLeNet's inception (3a): 163,696 weights and biases
    assert inc.count_params() == 163_696
    assert inc(nr.tensor(np.zeros((1, 6, 6, 192)))).shape == (1, 6, 6, 256)


@pytest.mark.parametrize("make", [
    lambda: nn.ResidualBlock(4, strides=2), lambda: nn.ResidualBlock(3, projection=True),
    lambda: nn.SqueezeExcite(ratio=2), lambda: nn.InceptionBlock(2, 2, 3, 1, 2, 2),
], ids=["residual_strided", "residual_forced", "se", "inception"])
def test_state_dict_and_config_round_trip(make):
    x = nr.tensor(R.standard_normal((2, 6, 6, 3)))
    block = make()
    block(x)  # one training step: the running statistics move
    block.eval()
    clone = deserialize_layer(serialize_layer(block))
    assert clone.get_config() == block.get_config()
    clone.build(x.shape)
    clone.load_state_dict(block.state_dict())
    clone.eval()
    np.testing.assert_array_equal(clone(x).numpy(), block(x).numpy())
    assert list(clone.state_dict()) == list(block.state_dict())


def test_blocks_inside_sequential_train():
    model = nn.Sequential([nn.Conv2D(4, 3, padding="same"), nn.ResidualBlock(4), nn.SqueezeExcite(ratio=2),
                           nn.ResidualBlock(8, strides=2), nn.GlobalAvgPool2D(), nn.Dense(2)])
    opt = nr.optim.Adam(model.parameters(), lr=1e-2)
    x = R.standard_normal((16, 6, 6, 1)).astype(np.float32)
    labels = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = nr.functional.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert model(x).dtype == np.float32


def test_frozen_block_uses_running_statistics():
    block = nn.ResidualBlock(3)
    x = nr.tensor(R.standard_normal((4, 5, 5, 3)))
    block(x)
    block.trainable = False
    before = block.state_dict()
    y1 = block(x)
    y2 = block(nr.tensor(np.concatenate([x.numpy()[:2], 5 * x.numpy()[2:]])))
    np.testing.assert_array_equal(y1.numpy()[:2], y2.numpy()[:2])  # no batch statistics: samples independent
    assert all(np.array_equal(v, block.state_dict()[k]) for k, v in before.items())
    assert block.count_params(trainable_only=True) == 0


def test_lazily_created_sublayers_follow_frozen_parent():
    block = nn.ResidualBlock(6, strides=2)
    block.trainable = False
    block(nr.tensor(R.standard_normal((2, 4, 4, 3))))
    assert not any(p.requires_grad for p in block.parameters())


def test_block_errors_name_the_block():
    with pytest.raises(ValueError, match=r"ResidualBlock 'rb': an identity shortcut needs .* strides=2"):
        nn.ResidualBlock(3, strides=2, projection=False, name="rb")(nr.tensor(np.zeros((1, 4, 4, 3))))
    with pytest.raises(ValueError, match=r"ResidualBlock layer 'rb2': expected input with 4 dimensions "
                                         r"\(N, H, W, C\). Received: shape=\(2, 3\)"):
        nn.ResidualBlock(3, name="rb2")(nr.tensor(np.zeros((2, 3))))
    with pytest.raises(ValueError, match="InceptionBlock 'inc': filters_5x5 must be a positive integer"):
        nn.InceptionBlock(1, 1, 1, 1, 0, 1, name="inc")
    with pytest.raises(ValueError, match="SqueezeExcite 'se': ratio must be a positive integer"):
        nn.SqueezeExcite(ratio=0, name="se")
    block = nn.ResidualBlock(3, name="rb3")
    block(nr.tensor(np.zeros((1, 4, 4, 3))))
    with pytest.raises(ValueError, match=r"ResidualBlock layer 'rb3': expected input whose last axis has size 3"):
        block(nr.tensor(np.zeros((1, 4, 4, 5))))
