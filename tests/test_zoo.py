"""The model zoo: the papers' architectures and parameter counts, and every model trains and round-trips."""

import numpy as np
import pytest

import neurona as nr
from neurona import nn
from neurona.models.googlenet import INCEPTION

ZOO = ["lenet5", "alexnet", "zfnet", "vgg11", "vgg16", "googlenet", "resnet18", "resnet34", "resnet50",
       "se_resnet", "resnet20"]


# ---------------------------------------------------------------- the course's figures
def test_alexnet_at_227_has_the_papers_figures():
    with nn.shapes_only():  # 62M parameters counted without allocating or drawing them
        model = nr.models.alexnet((227, 227, 3), 1000)
    flatten = next(layer for layer in model.layers if isinstance(layer, nn.Flatten))
    first_dense = next(layer for layer in model.layers if isinstance(layer, nn.Dense))
    assert flatten.input_shape[1:] == (6, 6, 256)
    assert first_dense.count_params() == 6 * 6 * 256 * 4096 + 4096 == 37_752_832  # "37.7 million"
    # conv1..5 = 34,944 + 614,656 + 885,120 + 1,327,488 + 884,992; fc = 37,752,832 + 16,781,312 + 4,097,000
    assert model.count_params() == 62_378_344
    assert model.output_shape[1:] == (1000,)


# ---------------------------------------------------------------- PyTorch reference models (torchvision's definitions)
def _torch_resnet(torch, depth):
    tnn = torch.nn
    kind, counts = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)), 50: ("bottleneck", (3, 4, 6, 3))}[depth]
    expansion = 1 if kind == "basic" else 4

    class Block(tnn.Module):
        def __init__(self, cin, planes, stride):
            super().__init__()
            out = planes * expansion
            if kind == "basic":
                self.conv1 = tnn.Conv2d(cin, planes, 3, stride, 1, bias=False)
                self.bn1 = tnn.BatchNorm2d(planes)
                self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
                self.bn2 = tnn.BatchNorm2d(planes)
            else:
                self.conv1 = tnn.Conv2d(cin, planes, 1, bias=False)
                self.bn1 = tnn.BatchNorm2d(planes)
                self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
                self.bn2 = tnn.BatchNorm2d(planes)
                self.conv3 = tnn.Conv2d(planes, out, 1, bias=False)
                self.bn3 = tnn.BatchNorm2d(out)
            self.downsample = None
            if stride != 1 or cin != out:
                self.downsample = tnn.Sequential(tnn.Conv2d(cin, out, 1, stride, bias=False), tnn.BatchNorm2d(out))

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            if kind != "basic":
                y = self.bn3(self.conv3(torch.relu(y)))
            return torch.relu(y + (x if self.downsample is None else self.downsample(x)))

    class ResNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = tnn.BatchNorm2d(64)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
            cin = 64
            for i, (planes, n) in enumerate(zip((64, 128, 256, 512), counts), start=1):
                blocks = []
                for j in range(n):
                    blocks.append(Block(cin, planes, 2 if i > 1 and j == 0 else 1))
                    cin = planes * expansion
                setattr(self, f"layer{i}", tnn.Sequential(*blocks))
            self.avgpool = tnn.AdaptiveAvgPool2d(1)
            self.fc = tnn.Linear(512 * expansion, 1000)

        def forward(self, x):
            x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
            for i in range(1, 5):
                x = getattr(self, f"layer{i}")(x)
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet()


def _torch_vgg(torch, depth, width):
    from neurona.models.vgg import CONFIGS

    tnn = torch.nn
    layers, cin = [], 3
    for v in CONFIGS[depth]:
        if v == "M":
            layers.append(tnn.MaxPool2d(2, 2))
        else:
            c = int(round(v * width))
            layers += [tnn.Conv2d(cin, c, 3, padding=1), tnn.ReLU(True)]
            cin = c
    units = int(round(4096 * width))
    return tnn.Sequential(tnn.Sequential(*layers), tnn.AdaptiveAvgPool2d((7, 7)), tnn.Flatten(),
                          tnn.Linear(cin * 49, units), tnn.ReLU(True), tnn.Dropout(),
                          tnn.Linear(units, units), tnn.ReLU(True), tnn.Dropout(), tnn.Linear(units, 1000))


def _torch_count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("depth", [18, 34, 50])
def test_resnet_parameter_counts_equal_pytorchs(depth):
    torch = pytest.importorskip("torch")
    with torch.device("meta"):
        reference = _torch_count(_torch_resnet(torch, depth))
    with nn.shapes_only():  # 64x64 takes the paper's stem; global pooling makes the count size-free
        model = getattr(nr.models, f"resnet{depth}")((64, 64, 3), 1000)
    assert model.count_params() == reference
    assert reference == {18: 11_689_512, 34: 21_797_672, 50: 25_557_032}[depth]  # torchvision's published counts


@pytest.mark.parametrize("depth", [11, 16])
def test_vgg_parameter_counts_equal_pytorchs_at_224(depth):
    torch = pytest.importorskip("torch")
    width = 0.125  # every layer an eighth as wide: the same structure in a fraction of a second
    with torch.device("meta"):
        reference = _torch_count(_torch_vgg(torch, depth, width))
    with nn.shapes_only():
        model = getattr(nr.models, f"vgg{depth}")((224, 224, 3), 1000, width=width)
    assert model.count_params() == reference


@pytest.mark.slow
@pytest.mark.parametrize("depth,published", [(11, 132_863_336), (16, 138_357_544)])
def test_vgg_full_width_counts_equal_pytorchs(depth, published):
    torch = pytest.importorskip("torch")
    with torch.device("meta"):
        reference = _torch_count(_torch_vgg(torch, depth, 1.0))
    with nn.shapes_only():
        model = getattr(nr.models, f"vgg{depth}")((224, 224, 3), 1000)
    assert model.count_params() == reference == published


def _torch_googlenet(torch, torchvision_style):
    """GoogLeNet without auxiliary classifiers. torchvision_style: torchvision's googlenet(aux_logits=False),
    whose convolutions are BasicConv2d (conv without bias, then BatchNorm) and whose "5x5" branch uses
    3x3 kernels (a bug kept for its pretrained weights); otherwise the paper's: conv with bias then
    ReLU, 5x5 kernels (its local response normalisation has no parameters)."""
    tnn = torch.nn

    def conv(cin, cout, k, stride=1):
        if torchvision_style:
            return tnn.Sequential(tnn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
                                  tnn.BatchNorm2d(cout, eps=0.001), tnn.ReLU(True))
        return tnn.Sequential(tnn.Conv2d(cin, cout, k, stride, k // 2), tnn.ReLU(True))

    class Inception(tnn.Module):
        def __init__(self, cin, c1, r3, c3, r5, c5, pp):
            super().__init__()
            self.b1 = conv(cin, c1, 1)
            self.b2 = tnn.Sequential(conv(cin, r3, 1), conv(r3, c3, 3))
            self.b3 = tnn.Sequential(conv(cin, r5, 1), conv(r5, c5, 3 if torchvision_style else 5))
            self.b4 = tnn.Sequential(tnn.MaxPool2d(3, 1, 1, ceil_mode=True), conv(cin, pp, 1))

        def forward(self, x):
            return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)

    layers, cin = [conv(3, 64, 7, 2), tnn.MaxPool2d(3, 2, ceil_mode=True), conv(64, 64, 1), conv(64, 192, 3),
                   tnn.MaxPool2d(3, 2, ceil_mode=True)], 192
    for stage in ("3a", "3b", "pool", "4a", "4b", "4c", "4d", "4e", "pool", "5a", "5b"):
        if stage == "pool":
            layers.append(tnn.MaxPool2d(3, 2, ceil_mode=True))
            continue
        sizes = INCEPTION[stage]
        layers.append(Inception(cin, *sizes))
        cin = sizes[0] + sizes[2] + sizes[4] + sizes[5]
    layers += [tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Dropout(0.2), tnn.Linear(cin, 1000)]
    return tnn.Sequential(*layers)


def test_googlenet_count_equals_the_papers_layers_in_pytorch_and_differs_from_torchvisions_as_explained():
    torch = pytest.importorskip("torch")
    with torch.device("meta"):
        paper = _torch_googlenet(torch, torchvision_style=False)
        tv = _torch_googlenet(torch, torchvision_style=True)
    with nn.shapes_only():
        model = nr.models.googlenet((224, 224, 3), 1000)
    assert model.count_params() == _torch_count(paper) == 6_998_552
    assert _torch_count(tv) == 6_624_904  # torchvision's published googlenet count
    # the two differences, counted from torchvision's layers: BatchNorm's gamma and beta replace a
    # bias (+1 per conv output channel), and each "5x5" branch's 3x3 kernels have 16 fewer taps
    norm_extra = sum(m.out_channels for m in tv.modules() if isinstance(m, torch.nn.Conv2d))
    taps_saved = sum((25 - 9) * r5 * c5 for _, _, _, r5, c5, _ in INCEPTION.values())
    assert _torch_count(tv) == model.count_params() + norm_extra - taps_saved


# ---------------------------------------------------------------- every model: shape, learning, saving
def _loss(logs):
    return logs["loss"] if isinstance(logs, dict) else (logs[0] if isinstance(logs, list) else logs)


def _small(name):
    kwargs = {} if name in ("lenet5", "resnet20") else {"width": 0.125}
    return nr.models.get(name, (32, 32, 3), 10, **kwargs)


@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_shapes_training_and_round_trip(name, tmp_path):
    nr.manual_seed(0)
    model = _small(name)
    rng = np.random.default_rng(0)
    x = rng.random((8, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    assert model.predict(x).shape == (8, 10)
    model.compile(nr.optim.Adam(lr=3e-3), "cross_entropy")
    before = model.evaluate(x, y)
    for _ in range(6):
        model.train_step(x, y)
    after = model.evaluate(x, y)
    assert _loss(after) < _loss(before)
    path = tmp_path / f"{name}.neurona"
    model.save(path)
    loaded = nr.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_unet_gives_per_pixel_logits_learns_and_round_trips(tmp_path):
    nr.manual_seed(0)
    model = nr.models.unet((16, 16, 1), 3, width=0.125)
    assert type(model) is nn.Model and model.output_shape == (None, 16, 16, 3)
    rng = np.random.default_rng(0)
    x = rng.random((4, 16, 16, 1)).astype(np.float32)
    y = (x[..., 0] * 3).astype(np.int64).clip(0, 2)  # a per-pixel label the input determines
    model.compile(nr.optim.Adam(lr=1e-2), "cross_entropy")
    first = model.train_step(x, y)["loss"]
    for _ in range(8):
        last = model.train_step(x, y)["loss"]
    assert last < first
    path = tmp_path / "unet.neurona"
    model.save(path)
    np.testing.assert_array_equal(nr.load_model(path).predict(x), model.predict(x))
    assert nr.models.unet((28, 28, 1), 2, width=0.125).get_layer("down2_conv1")  # 28x28: depth 2 chosen
    with pytest.raises(ValueError, match=r"multiples of 16"):
        nr.models.unet((28, 28, 1), 2, depth=4)


def test_zoo_models_built_for_28x28_grayscale():
    for name in ("alexnet", "zfnet", "vgg11", "googlenet", "resnet18", "se_resnet", "unet"):
        model = nr.models.get(name, (28, 28, 1), 10, width=0.0625)
        expected = (28, 28, 10) if name == "unet" else (10,)
        assert tuple(model.output_shape[1:]) == expected, name


def test_dag_models_are_functional_and_the_paper_stem_is_used_on_large_inputs():
    for name in ("googlenet", "resnet18", "resnet50", "se_resnet", "unet"):
        assert isinstance(nr.models.get(name, (32, 32, 3), 10, width=0.0625), nn.Model)
    big = nr.models.resnet18((64, 64, 3), 10, width=0.0625)
    assert big.get_layer("conv1").kernel.shape == (7, 7, 3, 4)
    assert nr.models.resnet18((32, 32, 3), 10, width=0.0625).get_layer("conv1").kernel.shape == (3, 3, 3, 4)
    se = nr.models.se_resnet(18, (32, 32, 3), 10, width=0.25)
    assert isinstance(se.get_layer("layer1_0_se"), nn.SqueezeExcite)


def test_docstrings_give_paper_and_year_on_one_clean_line():
    for name in ("alexnet", "zfnet", "vgg11", "vgg16", "googlenet", "resnet18", "resnet34", "resnet50", "se_resnet",
                 "unet", "lenet5", "resnet20"):
        line = nr.models.MODELS[name].__doc__.splitlines()[0]
        assert any(str(year) in line for year in range(1998, 2018)), line
        assert "`" not in line and len(line) <= 116, line


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"resnet18: input_shape must be \(height, width, channels\)"):
        nr.models.resnet18((784,), 10)
    with pytest.raises(ValueError, match="width must be a number > 0"):
        nr.models.alexnet((32, 32, 3), 10, width=0)
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        nr.models.vgg11((32, 32, 3), 0)


# ---------------------------------------------------------------- ZeroPadding2D (ResNet's stem pooling)
def test_zero_padding_matches_pytorch_and_gradchecks():
    torch = pytest.importorskip("torch")
    from neurona.testing import gradcheck

    x = np.random.default_rng(0).standard_normal((2, 3, 4, 2))
    layer = nn.ZeroPadding2D(((1, 2), (0, 3)))
    y = layer(nr.tensor(x, dtype="float64"))
    t = torch.nn.functional.pad(torch.tensor(x).permute(0, 3, 1, 2), (0, 3, 1, 2)).permute(0, 2, 3, 1)
    np.testing.assert_array_equal(y.numpy(), t.numpy())
    assert gradcheck(lambda v: layer(v), x)
    # after a ReLU, zero padding then a valid 3x3/2 max pool is torch's MaxPool2d(3, 2, padding=1)
    r = np.maximum(np.random.default_rng(1).standard_normal((2, 6, 6, 3)), 0)
    ours = nn.MaxPool2D(3, strides=2)(nn.ZeroPadding2D(1)(nr.tensor(r, dtype="float64"))).numpy()
    ref = torch.nn.functional.max_pool2d(torch.tensor(r).permute(0, 3, 1, 2), 3, 2, 1).permute(0, 2, 3, 1)
    np.testing.assert_array_equal(ours, ref.numpy())
    with pytest.raises(ValueError, match="padding must be an int >= 0"):
        nn.ZeroPadding2D(-1)


def test_the_command_line_builds_functional_zoo_models_whole():
    from neurona.cli.build import build_model
    from neurona.cli.data import Dataset

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (4, 16, 16, 1), dtype=np.uint8)
    ds = Dataset("tiny", images, np.array([0, 1, 2, 1]), images, np.array([0, 1, 2, 1]), ["a", "b", "c"], "images")
    with nn.shapes_only():
        model = build_model("resnet18", ds, augment=False)
    inner = [layer for layer in model.layers if isinstance(layer, nn.Model)]
    assert len(inner) == 1 and inner[0].name == "resnet18"  # the graph kept whole, skips included
    assert model.predict(images.astype(np.float32)).shape == (4, 3)
