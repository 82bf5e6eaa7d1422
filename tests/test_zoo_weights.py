"""Pretrained weights: a PyTorch state dict saved to safetensors gives the same outputs in neurona."""

import numpy as np
import pytest

import neurona as nr
from neurona import nn

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

from test_zoo import _torch_resnet, _torch_vgg  # noqa: E402  (the reference models, as torchvision defines them)


def _randomize_batch_norms(model):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial statistics and affine terms
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def _save(model, path):
    safetensors_torch.save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))


def test_resnet18_from_a_torchvision_state_dict_gives_pytorchs_outputs(tmp_path):
    torch.manual_seed(0)
    reference = _torch_resnet(torch, 18).eval()
    _randomize_batch_norms(reference)
    path = tmp_path / "resnet18.safetensors"
    _save(reference, path)
    model = nr.models.resnet18((64, 64, 3), 1000, weights=path)
    x = np.random.default_rng(0).standard_normal((2, 64, 64, 3)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.tensor(x).permute(0, 3, 1, 2)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-3, atol=2e-4)
    assert model.get_layer("conv1").kernel.shape == (7, 7, 3, 64)


def test_vgg_from_a_state_dict_reorders_the_first_dense_layer(tmp_path):
    torch.manual_seed(1)
    width = 1 / 16
    reference = _torch_vgg(torch, 11, width).eval()
    path = tmp_path / "vgg11.safetensors"
    _save(reference, path)
    model = nr.models.vgg11((224, 224, 3), 1000, width=width, weights=path)
    x = np.random.default_rng(1).standard_normal((2, 224, 224, 3)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.tensor(x).permute(0, 3, 1, 2)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-3, atol=1e-5)


def test_fine_tuning_a_loaded_resnet_with_a_new_head_trains_only_the_head(tmp_path):
    torch.manual_seed(2)
    reference = _torch_resnet(torch, 18).eval()
    _randomize_batch_norms(reference)
    path = tmp_path / "r.safetensors"
    _save(reference, path)
    base = nr.models.resnet18((64, 64, 3), 1000, weights=path)
    base.trainable = False
    features = base.get_layer("avgpool").output  # (None, 512): the pretrained features
    model = nn.Model(base.input, nn.Dense(3, name="new_head")(features))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 64, 64, 3)).astype(np.float32)
    y = rng.integers(0, 3, 6)
    with torch.no_grad():  # the features are torch's: its network up to the pooling
        t = torch.tensor(x).permute(0, 3, 1, 2)
        t = reference.maxpool(torch.relu(reference.bn1(reference.conv1(t))))
        for i in range(1, 5):
            t = getattr(reference, f"layer{i}")(t)
        expected = t.mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(nn.Model(base.input, features).predict(x), expected, rtol=1e-3, atol=2e-4)
    frozen = {k: v.copy() for k, v in base.state_dict().items()}
    model.compile(nr.optim.Adam(lr=1e-2), "cross_entropy")
    first = model.train_step(x, y)["loss"]
    for _ in range(5):
        last = model.train_step(x, y)["loss"]
    assert last < first
    for k, v in base.state_dict().items():  # frozen: weights and batch-norm statistics unchanged
        np.testing.assert_array_equal(v, frozen[k])


def test_mismatched_files_are_refused_with_the_key_and_shapes(tmp_path):
    reference = _torch_resnet(torch, 18)
    path = tmp_path / "r.safetensors"
    _save(reference, path)
    with pytest.raises(ValueError, match=r"'fc' gives (kernel|bias) of shape \((512, )?1000,?\).*\((512, )?10,?\)"):
        nr.models.resnet18((64, 64, 3), 10, weights=path)
    with pytest.raises(ValueError, match=r"leaves 80 weights of model 'resnet34' unset.*layer1_2_conv1"):
        nr.models.resnet34((64, 64, 3), 1000, weights=path)
    with pytest.raises(ValueError, match=r"leaves 32 weights of model 'se_resnet18' unset.*layer1_0_se.squeeze"):
        nr.models.se_resnet(18, (64, 64, 3), 1000, weights=path)  # its squeeze-excite layers have no torch twin
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        nr.models.resnet18((64, 64, 3), 1000, weights=bad)
