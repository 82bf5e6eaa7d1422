"""nr.viz: the computational graph as DOT text (and rendered by Graphviz), and the course's plots.

Plots are checked through what they draw (axes, titles, cell texts, colours at known
points) and through the PNG they write (readable, not blank).
"""

import re
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.viz.graph import graph, render
from neurona.viz.images import conv_layers, display_image, plot_feature_maps, plot_filters, plot_predictions
from neurona.viz.plots import (
    PALETTE,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_history,
    plot_lr_finder,
    plot_roc_curve,
    suggest_lr,
)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


# ---------------------------------------------------------------- helpers
def parse_dot(text):
    """{node id: (label, attributes)}, [(source, target)] from our DOT output."""
    nodes, edges = {}, []
    for line in text.splitlines():
        m = re.match(r'\s*(\w+) \[label="((?:[^"\\]|\\.)*)", (.*)\];$', line)
        if m:
            nodes[m.group(1)] = (m.group(2).replace("\\n", "\n"), m.group(3))
            continue
        m = re.match(r"\s*(\w+) -> (\w+)", line)
        if m:
            edges.append((m.group(1), m.group(2)))
    return nodes, edges


def ops_with_inputs(text):
    """{op label: sorted first lines of its inputs' labels} for graphs whose op labels are unique."""
    nodes, edges = parse_dot(text)
    ops = {}
    for src, dst in edges:
        if dst.startswith("f"):
            ops.setdefault(nodes[dst][0], []).append(nodes[src][0].split("\n")[0])
    return {k: sorted(v) for k, v in ops.items()}


def assert_png_not_blank(path, min_ink=0.01):
    image = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    assert image.shape[0] > 50 and image.shape[1] > 50
    ink = (image.sum(axis=2) < 3 * 245).mean()  # share of pixels that are not (near) white
    assert ink > min_ink, f"{path} looks blank ({ink:.2%} ink)"


def pixel_at(fig, ax, x, y):
    """The RGB colour (0..1) that ``fig`` shows at data point (x, y) of ``ax``."""
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    px, py = ax.transData.transform((x, y))
    return rgba[int(round(rgba.shape[0] - py)), int(round(px)), :3] / 255.0


def hex_rgb(colour):
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0


class TinyConv(nn.Module):
    """A 'valid' 3x3 convolution built from tensor ops (slices and matmuls), channels-last, then relu."""

    def __init__(self, filters, name=None):
        super().__init__(name=name)
        self.filters = filters
        self.kernel = None

    def build(self, input_shape):
        self.add_weight("kernel", (3, 3, input_shape[-1], self.filters))

    def forward(self, x):
        H, W = x.shape[1] - 2, x.shape[2] - 2
        out = None
        for i in range(3):
            for j in range(3):
                term = x[:, i:i + H, j:j + W, :] @ self.kernel[i, j]
                out = term if out is None else out + term
        return out.relu()


def xor_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    return x, ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)


# ---------------------------------------------------------------- graph: DOT text
def course_expression():
    """The course's neuron: y = sigmoid(x * w + b), a squared error on top."""
    x = nr.tensor([0.5, -1.0])
    x.name = "x"
    w = nn.Parameter(np.array([0.3, 0.8]), name="w")
    b = nn.Parameter(np.array([0.1]), name="b")
    y = F.sigmoid(x * w + b)
    loss = ((y - 1.0) ** 2).sum()
    loss.name = "loss"
    return loss


def test_graph_of_small_expression_has_its_ops_tensors_and_edges():
    text = graph(course_expression())
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    assert ops_with_inputs(text) == {
        "Mul": ["w", "x"], "Add": ["(2,) float32", "b"], "Sigmoid": ["(2,) float32"],
        "Sub": ["(2,) float32", "1"], "Pow": ["(2,) float32", "2"], "Sum": ["(2,) float32"],
    }
    nodes, edges = parse_dot(text)
    assert len([n for n in nodes if n.startswith("f")]) == 6
    # tensors: x, w, b and the 6 op outputs (the last is the loss); constants 1.0 and 2
    assert len([n for n in nodes if n.startswith("t")]) == 9
    assert len([n for n in nodes if n.startswith("c")]) == 2
    assert len(edges) == 6 + 10  # one edge out of each op, one per op input
    labels = {label.split("\n")[0]: attrs for label, attrs in nodes.values()}
    assert "#dae8fc" in labels["w"] and "#dae8fc" in labels["b"]      # parameters: blue boxes
    assert "#dae8fc" not in labels["x"] and "ellipse" in labels["x"]  # data: an ellipse
    assert "penwidth" in labels["loss"] and "() float32" in nodes[[n for n in nodes if "loss" in nodes[n][0]][0]][0]


def test_graph_of_mlp_with_loss_names_parameters_and_fused_ops():
    model = nn.Sequential([nn.Dense(4, activation="relu"), nn.Dense(3)])
    x = nr.tensor(np.ones((2, 5)))
    loss = F.cross_entropy(model(x), np.array([0, 2]))
    text = graph(loss, params=model, rankdir="LR")
    assert "rankdir=LR" in text
    nodes, edges = parse_dot(text)
    op_labels = sorted(label for n, (label, _) in nodes.items() if n.startswith("f"))
    assert op_labels == ["CrossEntropy", "Linear", "Linear\nrelu"]
    params = {label.split("\n")[0]: label for label, attrs in nodes.values() if "#dae8fc" in attrs}
    assert params == {"0.kernel": "0.kernel\n(5, 4) float32", "0.bias": "0.bias\n(4,) float32",
                      "1.kernel": "1.kernel\n(4, 3) float32", "1.bias": "1.bias\n(3,) float32"}
    assert "const (2,) int64" in text  # the labels, a constant
    assert ops_with_inputs(text)["CrossEntropy"] == ["(2, 3) float32", "const (2,) int64"]
    # without params= the parameters keep their own short names
    assert "\"kernel\\n(5, 4) float32\"" in graph(loss)


def test_graph_options_shapes_values_and_rankdir():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3.0).sum()
    bare = graph(y, show_shapes=False)
    assert "float32" not in bare and "(2,)" not in bare
    assert "variable" in bare  # a leaf without name or shape still says what it is
    valued = graph(y, show_values=True)
    assert "[1., 2.]" in valued and "\\n9\"" in valued  # x's values, and y = 3 + 6
    with pytest.raises(ValueError, match="rankdir must be one of"):
        graph(y, rankdir="sideways")
    with pytest.raises(TypeError, match="expected a Tensor"):
        graph(np.ones(3))


def test_graph_of_shared_input_draws_it_once():
    x = nr.tensor(np.ones((2, 3)), requires_grad=True)
    y = (x.exp() * x).mean(axis=0)
    nodes, edges = parse_dot(graph(y))
    (xid,) = [n for n, (label, _) in nodes.items() if "#ffe6cc" in _]  # the one leaf variable
    assert sorted(nodes[d][0] for s, d in edges if s == xid) == ["Exp", "Mul"]
    assert "Mean\naxis=0" in [label for label, _ in nodes.values()]


def test_graph_after_backward_explains_and_retain_graph_shows_gradients():
    loss = course_expression()
    loss.backward(retain_graph=True)
    text = graph(loss, show_values=True)
    assert "grad " in text  # the leaves' gradients are drawn with their values
    loss.backward()
    with pytest.raises(RuntimeError, match="freed by backward.*retain_graph=True"):
        graph(loss)


def test_graph_of_leaf_and_of_no_grad_result_is_one_node():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    nodes, edges = parse_dot(graph(x))
    assert len(nodes) == 1 and edges == []
    with nr.no_grad():
        y = (x * 2).sum()
    nodes, edges = parse_dot(graph(y))
    assert len(nodes) == 1 and edges == []


def test_graph_of_deep_chain_needs_no_recursion():
    x = nr.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    nodes, edges = parse_dot(graph(y))
    assert len([n for n in nodes if n.startswith("f")]) == 3000
    assert len(edges) == 3 * 3000


def test_graph_escapes_names():
    x = nr.tensor([1.0], requires_grad=True)
    x.name = 'say "hi" \\ bye'
    text = graph(x * 2)
    assert 'label="say \\"hi\\" \\\\ bye\\n(1,) float32"' in text


def test_graph_names_parameters_from_a_mapping_and_rejects_bad_params():
    w = nn.Parameter(np.ones((2, 2)))
    y = (w * 2).sum()
    assert '"layer.w\\n(2, 2) float32"' in graph(y, params={"layer.w": w})
    assert '"layer.w\\n(2, 2) float32"' in graph(y, params=[("layer.w", w)])
    with pytest.raises(TypeError, match="params must be"):
        graph(y, params=3)


# ---------------------------------------------------------------- graph: rendering
@needs_dot
def test_render_svg_and_png(tmp_path):
    loss = course_expression()
    svg = render(graph(loss), tmp_path / "g.svg")
    text = svg.read_text()
    assert "<svg" in text and "Sigmoid" in text and "Pow" in text
    png = render(loss, tmp_path / "sub" / "g.png", rankdir="LR")  # a tensor, options passed to graph
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_png_not_blank(png)
    with Image.open(png) as im:
        assert im.width > im.height  # left to right
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["g.png", "g.svg", "sub"]  # no temporary files left


def test_render_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="svg, png, pdf"):
        render("digraph {}", tmp_path / "g.txt")
    with pytest.raises(TypeError, match="graph options"):
        render("digraph {}", tmp_path / "g.svg", rankdir="LR")
    monkeypatch.setattr(shutil, "which", lambda name: None)  # as on a machine without Graphviz
    with pytest.raises(RuntimeError, match="install Graphviz|Install Graphviz"):
        render("digraph {}", tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()


@needs_dot
def test_render_reports_dot_errors_and_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError, match="dot failed"):
        render("digraph { this is not dot", tmp_path / "g.svg")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- training curves
HISTORY = {
    "loss": [1.0, 0.6, 0.4, 0.3], "accuracy": [0.5, 0.7, 0.8, 0.9],
    "val_loss": [1.1, 0.7, 0.5, 0.6], "val_accuracy": [0.45, 0.65, 0.8, 0.75],
}


class FakeHistory:
    history = HISTORY


@pytest.mark.parametrize("history", [HISTORY, FakeHistory()], ids=["dict", "History"])
def test_plot_history(history, tmp_path):
    fig = plot_history(history, path=tmp_path / "h.png")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    assert all(ax.get_xlabel() == "epoch" for ax in axes)
    loss_ax = axes[0]
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["training", "validation", "best: epoch 3"]
    train, val, best = loss_ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(val.get_ydata(), HISTORY["val_loss"])
    assert list(best.get_xydata()[0]) == [3, 0.5]  # the lowest validation loss
    assert axes[1].get_lines()[2].get_xydata()[0][0] == 3  # the highest validation accuracy
    assert_png_not_blank(tmp_path / "h.png")


def test_plot_history_choices_and_errors():
    fig = plot_history({"loss": [1, 2], "lr": [0.1, 0.01]}, metrics=["lr"])
    assert len(fig.axes) == 1 and fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="no values for mae"):
        plot_history(HISTORY, metrics=["mae"])
    with pytest.raises(TypeError, match="History or a non-empty dict"):
        plot_history([1, 2, 3])


# ---------------------------------------------------------------- confusion matrix
def cell_texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def test_confusion_matrix_cells_are_the_counts(tmp_path, rng):
    from sklearn.metrics import confusion_matrix

    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, 200))
    expected = confusion_matrix(y_true, y_pred)
    fig = plot_confusion_matrix(y_true, y_pred, class_names=["a", "b", "c", "d"], path=tmp_path / "cm.png")
    assert cell_texts(fig) == [str(v) for v in expected.ravel()]
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "d"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted label", "true label")
    assert f"{np.trace(expected) / 200:.3f}" in ax.get_title()
    assert_png_not_blank(tmp_path / "cm.png")


def test_confusion_matrix_normalized_and_from_scores(rng):
    from sklearn.metrics import confusion_matrix

    y_true = np.array([0, 0, 0, 1, 1, 2])
    scores = np.eye(3)[[0, 1, 0, 1, 1, 0]] + 0.1  # argmax gives the predictions
    fig = plot_confusion_matrix(y_true, scores, normalize="true")
    expected = confusion_matrix(y_true, [0, 1, 0, 1, 1, 0], normalize="true")
    assert cell_texts(fig) == [f"{v:.2f}" for v in expected.ravel()]
    fig = plot_confusion_matrix(matrix=np.array([[3, 0], [0, 0]]), normalize="pred")  # an empty column: no warning
    assert cell_texts(fig) == ["1.00", "0.00", "0.00", "0.00"]


def test_confusion_matrix_rows_are_the_labels_present_or_the_named_classes():
    fig = plot_confusion_matrix([0, 3, 3], [0, 3, 0])  # scikit-learn's rule: the labels that occur
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0", "3"]
    assert cell_texts(fig) == ["1", "0", "1", "1"]
    fig = plot_confusion_matrix([0, 2, 2], [0, 2, 0], class_names=["a", "b", "c"])  # named: every class, even b
    assert cell_texts(fig) == ["1", "0", "0", "0", "0", "0", "1", "0", "1"]
    with pytest.raises(ValueError, match="3 class names, for labels 0..2. Received: a label 5"):
        plot_confusion_matrix([0, 5], [0, 1], class_names=["a", "b", "c"])


def test_confusion_matrix_of_named_labels():
    fig = plot_confusion_matrix(["cat", "dog", "dog", "cat"], ["cat", "dog", "cat", "cat"])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["cat", "dog"]
    assert cell_texts(fig) == ["2", "0", "1", "1"]


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match="non-integer values"):
        plot_confusion_matrix([0, 1, 1], [0.2, 0.9, 0.6])  # probabilities, not labels
    with pytest.raises(ValueError, match="normalize must be"):
        plot_confusion_matrix([0, 1], [0, 1], normalize="rows")
    with pytest.raises(ValueError, match="3 class names for 2 classes"):
        plot_confusion_matrix(matrix=np.eye(2), class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="same length"):
        plot_confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="give y_true and y_pred"):
        plot_confusion_matrix([0, 1])


# ---------------------------------------------------------------- ROC curve
def test_plot_roc_curve_binary_and_multiclass(tmp_path, rng):
    from sklearn.metrics import roc_auc_score

    y = rng.integers(0, 2, 200)
    s = rng.random(200) + 0.6 * y
    fig = plot_roc_curve(y, s, path=tmp_path / "roc.png")
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"ROC (AUC = {roc_auc_score(y, s):.3f})", "chance (AUC = 0.5)"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("false positive rate", "true positive rate")
    assert_png_not_blank(tmp_path / "roc.png")
    y3 = rng.integers(0, 3, 300)
    s3 = rng.random((300, 3)) + np.eye(3)[y3]
    fig = plot_roc_curve(y3, s3, class_names=["cat", "dog", "bird"])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert [t.split(" (")[0] for t in legend] == ["cat", "dog", "bird", "chance"]
    assert f"{roc_auc_score(y3 == 2, s3[:, 2]):.3f}" in legend[2]


def test_roc_errors():
    with pytest.raises(ValueError, match="both classes"):
        plot_roc_curve([1, 1, 1], [0.2, 0.4, 0.9])
    with pytest.raises(ValueError, match="same length"):
        plot_roc_curve([0, 1, 1], [0.2, 0.4])


# ---------------------------------------------------------------- learning-rate range test
def lr_curve():
    lrs = np.logspace(-5, 0, 51)
    losses = 2.0 - 1.5 / (1.0 + np.exp(-2.0 * (np.log10(lrs) + 3.0)))  # falls fastest at lr = 1e-3
    losses[-5:] = [1.0, 2.0, 4.0, np.inf, np.nan]  # divergence at the end
    return lrs, losses


def test_suggest_lr_is_the_steepest_fall():
    assert suggest_lr(*lr_curve()) == pytest.approx(1e-3, rel=1e-6)


def test_plot_lr_finder(tmp_path):
    lrs, losses = lr_curve()
    fig = plot_lr_finder(lrs, losses, path=tmp_path / "lr.png")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss", "suggested lr = 0.001"]
    assert len(ax.get_lines()[0].get_xdata()) == 49  # the inf and NaN losses are dropped
    assert ax.get_ylim()[1] < 4.0  # the diverging tail does not squash the curve
    assert_png_not_blank(tmp_path / "lr.png")
    fig = plot_lr_finder({"lr": lrs, "loss": losses}, suggestion=False)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["loss"]
    fig = plot_lr_finder(lrs, losses, suggestion=3e-4)
    assert fig.axes[0].get_legend().get_texts()[1].get_text() == "suggested lr = 0.0003"
    result = SimpleNamespace(lrs=lrs, losses=losses, suggestion=2e-3)  # the shape of lr_find's result
    fig = plot_lr_finder(result)
    assert fig.axes[0].get_legend().get_texts()[1].get_text() == "suggested lr = 0.002"
    with pytest.raises(ValueError, match="at least 2"):
        plot_lr_finder([1e-3, 1e-2], [np.nan, np.nan])
    with pytest.raises(TypeError, match="give lrs and losses"):
        plot_lr_finder([1e-3, 1e-2])


# ---------------------------------------------------------------- decision boundary
def test_decision_boundary_of_mlp_trained_on_xor(tmp_path):
    x, y = xor_data()
    model = nn.Sequential([nn.Dense(16, activation="tanh"), nn.Dense(2)])
    opt = optim.Adam(model.parameters(), lr=0.05)
    for _ in range(150):
        opt.zero_grad()
        F.cross_entropy(model(nr.tensor(x)), y).backward()
        opt.step()
    with nr.no_grad():
        assert (model(nr.tensor(x)).numpy().argmax(axis=1) == y).mean() > 0.95
    model.train()
    probes = (((0.6, 0.6), 0), ((-0.6, -0.6), 0), ((-0.6, 0.6), 1), ((0.6, -0.6), 1))
    away = np.min([np.abs(x - p).max(axis=1) for p, _ in probes], axis=0) > 0.15  # no dot over a probed pixel
    fig = plot_decision_boundary(model, x[away], y[away], class_names=["even", "odd"], path=tmp_path / "db.png")
    assert model.training  # the mode is given back
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["even", "odd"]
    # regions: class 0 ("even") in the first and third quadrants, class 1 in the others
    for point, k in probes:
        colour = pixel_at(fig, ax, *point)
        mine, other = hex_rgb(PALETTE[k]), hex_rgb(PALETTE[1 - k])
        assert np.linalg.norm(colour - mine) < np.linalg.norm(colour - other), (point, colour)
    assert_png_not_blank(tmp_path / "db.png")


def test_decision_boundary_of_a_function_with_three_classes():
    x = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])  # the corners, away from the probes
    label = lambda p: (p[:, 0] > 0).astype(np.int64) + (p[:, 1] > 0.5)  # noqa: E731
    fig = plot_decision_boundary(label, x, label(x))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1", "class 2"]
    for point, k in (((-0.5, 0.0), 0), ((0.5, 0.0), 1), ((0.5, 0.8), 2)):
        colour = pixel_at(fig, ax, *point)
        distances = [np.linalg.norm(colour - (0.35 * hex_rgb(c) + 0.65)) for c in PALETTE[:3]]  # alpha 0.35 on white
        assert int(np.argmin(distances)) == k, (point, colour)


def test_decision_boundary_reads_probabilities_and_logits():
    x = np.array([[-1.0, 0.0], [1.0, 0.0]])
    as_prob = plot_decision_boundary(lambda p: 1 / (1 + np.exp(-4 * p[:, 0])), x)
    as_logit = plot_decision_boundary(lambda p: 4 * p[:, 0], x, output="logits")
    for fig in (as_prob, as_logit):
        ax = fig.axes[0]
        left, right = pixel_at(fig, ax, -0.9, 0.0), pixel_at(fig, ax, 0.9, 0.0)
        assert np.linalg.norm(left - hex_rgb(PALETTE[0])) < np.linalg.norm(left - hex_rgb(PALETTE[1]))
        assert np.linalg.norm(right - hex_rgb(PALETTE[1])) < np.linalg.norm(right - hex_rgb(PALETTE[0]))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plot_decision_boundary(lambda p: p[:, 0], np.ones((4, 3)))
    with pytest.raises(ValueError, match="1 class names for 2 classes"):
        plot_decision_boundary(lambda p: p[:, 0], x, [0, 1], class_names=["only"])
    with pytest.raises(ValueError, match="output must be"):
        plot_decision_boundary(lambda p: p[:, 0], x, output="votes")


# ---------------------------------------------------------------- images
def test_display_image_handles_channels_and_dtypes():
    img, opts = display_image(np.full((4, 4, 1), 200, np.uint8))
    assert img.shape == (4, 4) and opts == {"cmap": "gray", "vmin": 0, "vmax": 255}
    img, opts = display_image(np.full((4, 4), 0.2, np.float32))
    assert opts["vmax"] == 1.0
    img, opts = display_image(np.linspace(-2, 3, 48).reshape(4, 4, 3))
    assert opts == {} and img.min() == 0.0 and img.max() == 1.0
    with pytest.raises(ValueError, match="channels last"):
        display_image(np.ones((3, 4, 4, 2)))


def test_plot_predictions_marks_wrong_ones_in_red(tmp_path, rng):
    images = rng.integers(0, 256, (10, 8, 8), dtype=np.uint8)
    y_true = np.arange(10) % 3
    y_pred = y_true.copy()
    y_pred[[2, 5]] = (y_true[[2, 5]] + 1) % 3
    names = ["zero", "one", "two"]
    fig = plot_predictions(images, y_pred, y_true, class_names=names, n=9, path=tmp_path / "p.png")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 9
    red = [ax.title.get_color() == "#d62728" for ax in shown]
    assert red == [i in (2, 5) for i in range(9)]
    assert shown[2].get_title() == f"{names[y_pred[2]]}\ntrue: {names[y_true[2]]}"
    assert fig.get_suptitle() == "2 wrong of 9 shown"
    assert_png_not_blank(tmp_path / "p.png")
    fig = plot_predictions(images, y_pred, y_true, errors_only=True)
    assert [ax.get_title().split("\n")[0] for ax in fig.axes if ax.get_visible()] == [str(y_pred[2]), str(y_pred[5])]


def test_plot_predictions_from_flat_rgb_and_scores(rng):
    flat = rng.random((4, 36)).astype(np.float32)  # flat rows of 6x6 grey images
    scores = np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0], [0.0, 0.0]])
    fig = plot_predictions(flat, scores)
    assert [ax.get_title() for ax in fig.axes] == ["0 (88%)", "1 (88%)", "0 (50%)", "0 (50%)"]
    assert fig.axes[0].images[0].get_array().shape == (6, 6)
    rgb = rng.normal(0, 1, (3, 5, 5, 3))  # standardised colour images
    fig = plot_predictions(rgb, [0, 1, 2], [0, 1, 1])
    assert fig.axes[0].images[0].get_array().shape == (5, 5, 3)
    with pytest.raises(ValueError, match="must match"):
        plot_predictions(rgb, [0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="not square"):
        plot_predictions(rng.random((2, 10)), [0, 1])
    with pytest.raises(ValueError, match="needs y_true"):
        plot_predictions(rgb, [0, 1, 2], errors_only=True)


def tiny_cnn():
    model = nn.Sequential([TinyConv(4, name="conv_a"), TinyConv(6, name="conv_b"), nn.Flatten(), nn.Dense(3)])
    model(nr.tensor(np.zeros((1, 10, 10, 1))))
    return model


def test_plot_filters_of_a_model_and_of_a_kernel(tmp_path):
    model = tiny_cnn()
    assert [path for path, _ in conv_layers(model)] == ["0", "1"]
    fig = plot_filters(model, path=tmp_path / "f.png")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 4 and "conv_a: 4 filters 3x3x1" in fig.get_suptitle()
    image = shown[0].images[0]
    np.testing.assert_allclose(image.get_array(), model.layers[0].kernel.numpy()[:, :, 0, 0])
    low, high = image.get_clim()
    assert low == -high  # one symmetric scale: mid-grey is a zero weight
    assert_png_not_blank(tmp_path / "f.png", min_ink=0.005)
    fig = plot_filters(model, layer="conv_b", in_channel=3, max_filters=5)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 5
    assert "5 of 6 filters 3x3x4, input channel 3 of 4" in fig.get_suptitle()
    colour = plot_filters(np.random.default_rng(0).normal(size=(5, 5, 3, 8)))
    array = colour.axes[0].images[0].get_array()
    assert array.shape == (5, 5, 3) and array.min() == 0.0 and array.max() == 1.0
    with pytest.raises(ValueError, match="has no convolution layer"):
        plot_filters(nn.Sequential([nn.Dense(2)]))
    with pytest.raises(ValueError, match="no conv layer named 'conv_c'"):
        plot_filters(model, layer="conv_c")
    with pytest.raises(ValueError, match="in_channel must be"):
        plot_filters(model, in_channel=1)


def test_plot_feature_maps_runs_layers_one_by_one(tmp_path):
    model = tiny_cnn()
    model.train()
    image = np.random.default_rng(0).integers(0, 256, (10, 10), dtype=np.uint8)
    fig = plot_feature_maps(model, image, max_maps=5, ncols=4, path=tmp_path / "fm.png")
    assert model.training
    titles = [sub.get_suptitle() for sub in fig.subfigs]
    assert titles == ["input (10, 10)", "conv_a: 8x8x4", "conv_b: 6x6x6, first 5 of 6 maps"]
    images = [ax.images[0] for ax in fig.axes if ax.get_visible() and ax.images]
    assert len(images) == 1 + 4 + 5
    with nr.no_grad():
        h = model.layers[0](nr.tensor(image[None, :, :, None].astype(np.float32)))
    np.testing.assert_allclose(images[1].get_array(), h.numpy()[0, :, :, 0], rtol=1e-6)
    assert_png_not_blank(tmp_path / "fm.png")
    fig = plot_feature_maps(model, image[:, :, None], layers=["conv_b"])
    assert len(fig.subfigs) == 2
    with pytest.raises(ValueError, match="not a feature map"):
        plot_feature_maps(model, image, layers=[3])
    with pytest.raises(ValueError, match="no layer 'pool'"):
        plot_feature_maps(model, image, layers=["pool"])
    with pytest.raises(TypeError, match="expected a Sequential"):
        plot_feature_maps(TinyConv(2), image)


@pytest.mark.skipif(not hasattr(nn, "Conv2D"), reason="nn.Conv2D is not in this tree yet")
def test_filters_and_feature_maps_of_conv2d():
    model = nn.Sequential([nn.Conv2D(4, 3, activation="relu"), nn.Flatten(), nn.Dense(2)])
    model(nr.tensor(np.zeros((1, 8, 8, 3))))
    fig = plot_filters(model)
    assert fig.axes[0].images[0].get_array().shape == (3, 3, 3)  # 3 input channels: colour filters
    fig = plot_feature_maps(model, np.zeros((8, 8, 3), np.float32))
    assert len(fig.subfigs) == 2


# ---------------------------------------------------------------- saving
def test_figures_save_atomically_in_the_format_of_the_extension(tmp_path):
    plot_history(HISTORY, path=tmp_path / "h.svg")
    plot_history(HISTORY, path=tmp_path / "h.pdf")
    assert (tmp_path / "h.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "h.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(ValueError, match="path must end in one of"):
        plot_history(HISTORY, path=tmp_path / "h.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.pdf", "h.svg"]


def test_saved_files_get_the_usual_permissions(tmp_path):
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    plot_history(HISTORY, path=tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_mode == reference.stat().st_mode  # not mkstemp's private 0600


def test_viz_package_exports_load_plots_on_first_use():
    from neurona import viz
    from neurona.viz import images, plots

    assert viz.graph is graph and viz.render is render
    assert viz.plot_history is plots.plot_history and viz.plot_filters is images.plot_filters
    assert "plot_decision_boundary" in dir(viz)
    with pytest.raises(AttributeError, match="no attribute 'plot_everything'"):
        _ = viz.plot_everything


def _dense_on(device):
    model = nn.Sequential([nn.Dense(2)])
    model(nr.tensor(np.zeros((1, 2))))
    return model.to(device)


def test_viz_with_model_and_tensors_on_the_device(device):
    model = nn.Sequential([TinyConv(2), nn.Flatten(), nn.Dense(2)])
    model(nr.tensor(np.zeros((1, 5, 5, 1))))
    model.to(device)
    nr.set_device("cpu")  # the model's device, not the default one, decides where inputs go
    fig = plot_decision_boundary(_dense_on(device), *xor_data(20), resolution=20)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["class 0", "class 1"]
    fig = plot_feature_maps(model, np.ones((5, 5), np.float32))
    assert len(fig.subfigs) == 2
    w = nr.tensor([1.0, 2.0], requires_grad=True, device=device)
    assert "[1., 2.]" in graph((w * 2).sum(), show_values=True)
