"""PyTorch-named pieces: nn.Linear/Conv2d/activation modules, loss modules, F.nll_loss, tensor methods,
nr.save/nr.load, nr.device and nr.cuda; each checked against torch or against neurona's own class."""

import numpy as np
import pytest

import neurona as nr
from neurona import functional as F
from neurona import nn
from neurona.testing import compare_with_torch, gradcheck

torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)


# ---------------------------------------------------------------- F.nll_loss, F.log_softmax(dim=)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_matches_torch(reduction, weighted):
    x = rng.standard_normal((6, 4))
    t = np.array([0, 3, 1, 1, 2, -100])
    w = rng.uniform(0.5, 2, 4) if weighted else None
    wt = None if w is None else torch.tensor(w)
    compare_with_torch(lambda a, b: F.nll_loss(a, b, weight=w, reduction=reduction),
                       lambda a, b: torch.nn.functional.nll_loss(a, b, weight=wt, reduction=reduction), x, t)
    gradcheck(lambda a: F.nll_loss(a, t, weight=w, reduction=reduction), x)


def test_nll_of_log_softmax_is_cross_entropy_and_errors_are_clear():
    z, t = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    compare_with_torch(lambda a: F.nll_loss(F.log_softmax(a, dim=1), t),
                       lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(t)), z)
    np.testing.assert_allclose(F.nll_loss(F.log_softmax(nr.tensor(z, dtype=np.float64), dim=1), t).item(),
                               F.cross_entropy(nr.tensor(z, dtype=np.float64), t).item(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\] for 3 classes"):
        F.nll_loss(nr.tensor(z), np.array([0, 3, 1, 1, 0]))
    with pytest.raises(ValueError, match="int labels of shape"):
        F.nll_loss(nr.tensor(z), np.zeros(5, dtype=np.float32))


def test_softmax_dim_spelling():
    z = rng.standard_normal((3, 4, 5))
    compare_with_torch(lambda a: F.softmax(a, dim=1), lambda a: torch.softmax(a, dim=1), z)
    compare_with_torch(lambda a: F.log_softmax(a, dim=1), lambda a: torch.log_softmax(a, dim=1), z)


# ---------------------------------------------------------------- loss modules: thin adapters
LOSS_CASES = [
    (lambda: nn.CrossEntropyLoss(), lambda: torch.nn.CrossEntropyLoss(), (5, 4), "labels"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=0.1, reduction="sum"),
     lambda: torch.nn.CrossEntropyLoss(label_smoothing=0.1, reduction="sum"), (5, 4), "labels"),
    (lambda: nn.NLLLoss(), lambda: torch.nn.NLLLoss(), (5, 4), "labels"),
    (lambda: nn.MSELoss(), lambda: torch.nn.MSELoss(), (5, 3), "values"),
    (lambda: nn.L1Loss(reduction="sum"), lambda: torch.nn.L1Loss(reduction="sum"), (5, 3), "values"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=[2.0, 1.0, 0.5]),
     lambda: torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)),
     (5, 3), "binary"),
]


@pytest.mark.parametrize("ours, theirs, shape, kind", LOSS_CASES)
def test_loss_modules_match_torch(ours, theirs, shape, kind):
    x = rng.standard_normal(shape)
    if kind == "labels":
        t = rng.integers(0, shape[1], shape[0])
    elif kind == "binary":
        t = rng.integers(0, 2, shape).astype(np.float64)
    else:
        t = rng.standard_normal(shape)
    if kind != "labels":
        compare_with_torch(lambda a, b: ours()(a, b), lambda a, b: theirs()(a, b), x, t, wrt=[0])
    else:
        compare_with_torch(lambda a, b: ours()(a, b), lambda a, b: theirs()(a, b), x, t)


def test_loss_modules_are_the_keras_losses_and_round_trip():
    from neurona import losses
    x, t = nr.tensor(rng.standard_normal((4, 3))), rng.integers(0, 3, 4)
    assert isinstance(nn.CrossEntropyLoss(), losses.CrossEntropy)
    assert nn.CrossEntropyLoss()(x, t).item() == losses.CrossEntropy()(x, t).item()
    assert nn.MSELoss()(x, x * 2).item() == losses.MeanSquaredError()(x, x * 2).item()
    for loss in (nn.CrossEntropyLoss(weight=[1, 2, 3]), nn.NLLLoss(ignore_index=1), nn.BCEWithLogitsLoss(),
                 nn.MSELoss(reduction="sum")):
        again = losses.deserialize_loss(losses.serialize_loss(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()


# ---------------------------------------------------------------- layers: adapters over Dense / Conv2D
def test_linear_is_a_built_dense_with_torch_init_and_config():
    nr.manual_seed(0)
    fc = nn.Linear(50, 20)
    assert isinstance(fc, nn.Dense) and fc.kernel.shape == (50, 20) and len(fc.parameters()) == 2
    bound = 1 / np.sqrt(50)
    assert np.abs(fc.kernel.numpy()).max() <= bound and np.abs(fc.kernel.numpy()).max() > 0.9 * bound
    assert np.abs(fc.bias.numpy()).max() <= bound and np.abs(fc.bias.numpy()).std() > 0
    x = rng.standard_normal((3, 50)).astype(np.float32)
    dense = nn.Dense(20)
    dense.build((None, 50))
    dense.load_state_dict(fc.state_dict())
    np.testing.assert_array_equal(fc(nr.tensor(x)).numpy(), dense(nr.tensor(x)).numpy())
    assert nn.Linear(3, 2, bias=False).bias is None
    again = nn.deserialize_layer(nn.serialize_layer(fc))
    assert isinstance(again, nn.Linear) and again.in_features == 50 and again.out_features == 20
    with pytest.raises(ValueError, match="in_features must be a positive integer"):
        nn.Linear(0, 3)


def test_linear_matches_torch_linear():
    fc = nn.Linear(4, 3)
    W, b = fc.kernel.numpy().astype(np.float64), fc.bias.numpy().astype(np.float64)
    compare_with_torch(lambda x, w, c: F.linear(x, w, c), lambda x, w, c: torch.nn.functional.linear(x, w.T, c),
                       rng.standard_normal((5, 4)), W, b)


def test_conv2d_is_channels_last_and_matches_torch_on_permuted_input():
    nr.manual_seed(1)
    conv = nn.Conv2d(2, 3, kernel_size=3, stride=2, padding=1)
    assert isinstance(conv, nn.Conv2D) and conv.kernel.shape == (3, 3, 2, 3)
    bound = 1 / np.sqrt(2 * 9)
    assert np.abs(conv.kernel.numpy()).max() <= bound
    x = rng.standard_normal((2, 7, 7, 2)).astype(np.float32)
    ref = torch.nn.functional.conv2d(torch.tensor(x).permute(0, 3, 1, 2),
                                     torch.tensor(conv.kernel.numpy()).permute(3, 2, 0, 1),
                                     torch.tensor(conv.bias.numpy()), stride=2, padding=1)
    np.testing.assert_allclose(conv(nr.tensor(x)).numpy(), ref.permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-5)
    again = nn.deserialize_layer(nn.serialize_layer(conv))
    assert isinstance(again, nn.Conv2d) and again.kernel.shape == conv.kernel.shape


def test_pool_adapters_equal_keras_layers():
    x = nr.tensor(rng.standard_normal((2, 6, 6, 3)))
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).numpy(), nn.MaxPool2D(2)(x).numpy())
    np.testing.assert_array_equal(nn.AvgPool2d(3, stride=1)(x).numpy(), nn.AvgPool2D(3, strides=1)(x).numpy())


@pytest.mark.parametrize("ours, theirs", [
    (lambda: nn.ReLU(), torch.nn.ReLU), (lambda: nn.Tanh(), torch.nn.Tanh), (lambda: nn.Sigmoid(), torch.nn.Sigmoid),
    (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    (lambda: nn.LogSoftmax(dim=1), lambda: torch.nn.LogSoftmax(dim=1)),
])
def test_activation_modules_match_torch(ours, theirs):
    layer = ours()
    assert isinstance(layer, nn.Activation)
    compare_with_torch(lambda a: layer(a), lambda a: theirs()(a), rng.standard_normal((4, 5)))
    gradcheck(lambda a: layer(a), rng.standard_normal((4, 5)))


# ---------------------------------------------------------------- tensor methods
def test_tensor_methods_match_torch():
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    x, tx = nr.tensor(a), torch.tensor(a)
    assert x.size() == tuple(tx.size()) and x.size(1) == tx.size(1) and x.size(-1) == 4 and x.dim() == tx.dim()
    assert x.size == 24  # NumPy's count still works
    for dim in (0, 1, 2):
        np.testing.assert_allclose(x.sum(dim=dim, keepdim=True).numpy(), tx.sum(dim=dim, keepdim=True).numpy(),
                                   rtol=1e-6)
        np.testing.assert_allclose(x.mean(dim=dim).numpy(), tx.mean(dim=dim).numpy(), rtol=1e-6)
        values, indices = x.max(dim=dim, keepdim=True)
        tv, ti = tx.max(dim=dim, keepdim=True)
        np.testing.assert_array_equal(values.numpy(), tv.numpy())
        np.testing.assert_array_equal(indices.numpy(), ti.numpy())
        assert x.min(dim=dim).indices.tolist() == tx.min(dim=dim).indices.tolist()
        np.testing.assert_array_equal(x.argmax(dim=dim, keepdim=True).numpy(), tx.argmax(dim=dim, keepdim=True))
    assert x.max().item() == tx.max().item() and x.argmax(1).tolist() == tx.argmax(1).tolist()
    np.testing.assert_array_equal(x.view(6, 4).numpy(), tx.view(6, 4).numpy())
    np.testing.assert_array_equal(x.view_as(nr.tensor(np.zeros((4, 6)))).numpy(), tx.view(4, 6).numpy())
    np.testing.assert_array_equal(nr.flatten(x, 1).numpy(), torch.flatten(tx, 1).numpy())
    np.testing.assert_array_equal(x.flatten(start_dim=0, end_dim=1).numpy(), tx.flatten(0, 1).numpy())
    assert x.long().dtype == np.int64 and x.float().dtype == np.float32 and x.double().dtype == np.float64
    assert x.type() == "neurona.FloatTensor" and x.long().type() == "neurona.LongTensor"
    eq = x.argmax(1).eq(nr.tensor(tx.argmax(1).numpy()))
    assert eq.type(nr.float).sum().item() == 8.0 and eq.type(nr.float).dtype == np.float32
    with pytest.raises(TypeError, match="axis or dim, not both"):
        x.sum(axis=0, dim=1)
    with pytest.raises(IndexError, match="dim must be in"):
        x.size(3)


def test_tensor_gradients_through_torch_spellings():
    a = rng.standard_normal((3, 4))
    gradcheck(lambda t: t.view(4, 3).sum(dim=1, keepdim=True) * t.mean(dim=0).view(4, 1), a)
    gradcheck(lambda t: t.max(dim=1).values + t.double().min(dim=1)[0], a)


def test_tensor_as_index_and_no_grad_decorator():
    classes = ["a", "b", "c"]
    t = nr.tensor(np.array([0.1, 0.9, 0.0]))
    assert classes[t.argmax(0)] == "b"
    idx = nr.tensor(np.array([2, 0]), dtype=np.int64)
    assert np.arange(5)[idx].tolist() == [2, 0] and nr.tensor(np.arange(5.0))[idx].tolist() == [2.0, 0.0]
    mask = nr.tensor(np.arange(4.0)) > 1
    assert nr.tensor(np.arange(4.0))[mask].tolist() == [2.0, 3.0]
    with pytest.raises(TypeError, match="integer tensor"):
        classes[t]
    w = nr.tensor(np.ones(3), requires_grad=True)

    @nr.no_grad
    def bare():
        return (w * 2).requires_grad

    @nr.no_grad()
    def called():
        return (w * 2).requires_grad

    assert bare() is False and called() is False and (w * 2).requires_grad is True


# ---------------------------------------------------------------- devices, save / load
def test_device_names():
    assert nr.device("cpu") == "cpu" and nr.device("cuda") == "gpu" and nr.device("gpu").type == "cuda"
    assert repr(nr.device("cpu")) == "device(type='cpu')"
    assert nr.cuda.is_available() == nr.gpu_available() == nr.accelerator.is_available()
    with pytest.raises(ValueError, match="'cpu', 'gpu' or 'cuda'"):
        nr.device("tpu")
    x = nr.tensor(np.ones(2), device="cpu")  # on the CPU whatever the default device (--device strict)
    assert x.to(nr.device("cpu")) is x
    model = nn.Sequential(nn.Linear(2, 2))
    assert model.to(nr.device("cpu")) is model


def test_save_load_state_dict_round_trip(tmp_path):
    nr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    path = tmp_path / "model.pth"
    nr.save(model.state_dict(), path)
    assert path.is_file() and not (tmp_path / "model.pth.npz").exists()
    with open(path, "rb") as f:
        assert f.read(2) == b"PK"  # an npz (zip) file, no pickle
    nr.manual_seed(1)
    other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = nr.tensor(rng.standard_normal((2, 4)))
    assert not np.array_equal(other(x).numpy(), model(x).numpy())
    other.load_state_dict(nr.load(path, weights_only=True))
    np.testing.assert_array_equal(other(x).numpy(), model(x).numpy())


def test_save_refuses_what_would_need_pickle_and_load_names_bad_files(tmp_path):
    with pytest.raises(TypeError, match="expected a state dict"):
        nr.save(nn.Linear(2, 2), tmp_path / "m.pth")
    with pytest.raises(TypeError, match="not an array or a number"):
        nr.save({"a": {"nested": 1}}, tmp_path / "m.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a state dict saved by nr.save"):
        nr.load(tmp_path / "junk.pth")


class LazyNet(nn.Module):
    """Keras-style lazy layers in a PyTorch-style class: no weights until the first call."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2D(4, 3, activation="relu")
        self.flat = nn.Flatten()
        self.fc = nn.Dense(3)

    def forward(self, x):
        return self.fc(self.flat(self.conv(x)))


def test_load_state_dict_builds_an_unbuilt_model_from_the_shapes(tmp_path):
    nr.manual_seed(0)
    x = nr.tensor(rng.standard_normal((2, 6, 6, 2)))
    trained = LazyNet()
    expected = trained(x).numpy()
    nr.save(trained.state_dict(), tmp_path / "lazy.pth")
    fresh = LazyNet()
    assert fresh.parameters() == []
    fresh.load_state_dict(nr.load(tmp_path / "lazy.pth"))
    assert fresh.conv.kernel.shape == (3, 3, 2, 4) and fresh.fc.kernel.shape == (64, 3)
    np.testing.assert_array_equal(fresh(x).numpy(), expected)
    seq = nn.Sequential([nn.Dense(5, activation="relu"), nn.Dense(2)])
    seq.load_state_dict({"0.kernel": np.ones((3, 5)), "0.bias": np.zeros(5), "1.kernel": np.ones((5, 2)),
                         "1.bias": np.zeros(2)})
    assert seq(nr.tensor(np.ones((1, 3)))).tolist() == [[15.0, 15.0]]
    with pytest.raises(ValueError, match="has shape"):
        nn.Sequential([nn.Dense(5)]).load_state_dict({"0.kernel": np.ones((3, 5)), "0.bias": np.zeros(4)})


def test_load_state_dict_without_kernels_to_build_from_still_says_build_first():
    with pytest.raises(RuntimeError, match="no weights yet"):
        nn.Sequential([nn.BatchNorm()]).load_state_dict({"0.gamma": np.ones(3), "0.beta": np.zeros(3)})


def test_torch_and_keras_cross_entropy_orders_do_not_clash():
    from neurona import losses
    x, t = nr.tensor(rng.standard_normal((5, 3))), rng.integers(0, 3, 5)
    torch_order = nn.CrossEntropyLoss()(x, t)  # (input, target)
    keras_order = losses.SparseCategoricalCrossentropy(from_logits=True)(t, x)  # (y_true, y_pred)
    assert torch_order.item() == keras_order.item()
    with pytest.raises(ValueError, match="SparseCategoricalCrossentropy: expected y_true as integer labels"):
        losses.SparseCategoricalCrossentropy(from_logits=True)(x, t)  # PyTorch's order into a Keras loss


def test_dropout_takes_pytorch_p_beside_rate():
    x = nr.tensor(np.ones((64, 32)))
    masks = []
    for layer in (nn.Dropout(p=0.3), nn.Dropout(0.3), nn.Dropout(rate=0.3, name="d")):
        nr.manual_seed(1)
        masks.append(layer(x).numpy())
        assert layer.rate == 0.3 and layer.get_config()["rate"] == 0.3
    np.testing.assert_array_equal(masks[0], masks[1])
    np.testing.assert_array_equal(masks[0], masks[2])
    assert nn.Dropout().rate == 0.5 and nn.Dropout(p=0.2, inplace=True).rate == 0.2  # PyTorch's defaults
    with pytest.raises(ValueError, match=r"Dropout: p must be a number in \[0, 1\). Received: p=1.5"):
        nn.Dropout(p=1.5)
    with pytest.raises(ValueError, match="pass the rate once"):
        nn.Dropout(0.2, p=0.2)
    with pytest.raises(ValueError, match="rate must be a number"):
        nn.Dropout("half")
