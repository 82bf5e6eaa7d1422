"""The course experiments (examples/course/) run with ``--quick`` and show what the lectures claim."""

import importlib.util
import pathlib

import numpy as np

COURSE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "course"


def run(name, tmp_path, *extra):
    spec = importlib.util.spec_from_file_location(f"course_{name}", COURSE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--quick", "--out", str(tmp_path), *extra])
    assert pathlib.Path(results["figure"]).stat().st_size > 10_000  # a picture was drawn
    return results


def test_01_activations(tmp_path):
    r = run("01_activations", tmp_path)
    d = r["derivatives"]
    assert not d["step"].any() and not d["sign"].any()  # no gradient signal: the perceptron needs its own rule
    assert d["sigmoid"].max() <= 0.25 + 1e-12 and d["tanh"].max() <= 1 + 1e-12
    assert r["sigmoid_rule"] < 1e-12 and r["tanh_rule"] < 1e-12  # autograd agrees with s(1-s), 1-tanh^2
    assert r["softmax_is_sigmoid"] < 1e-12
    assert np.array_equal(d["relu"], (r["z"] > 0).astype(float))
    gaps = list(r["gaps"].values())
    assert all(a > b for a, b in zip(gaps, gaps[1:])) and gaps[-1] < 1e-3  # sigmoid(kz) -> step


def test_07_initialization(tmp_path):
    r = run("07_initialization", tmp_path)["runs"]
    zeros, large, fan_in = r["zeros"], r["large (normal, std 5)"], r["fan-in (LeCun, var 1/n_in)"]
    assert zeros["weight_change"] > 0.01 and zeros["unit_spread"][-1] < 1e-4  # units moved, but together
    assert fan_in["unit_spread"][-1] > 0.1
    assert large["start_saturation"] > 0.5 and fan_in["start_saturation"] < 0.05  # big weights: flat sigmoids
    assert fan_in["loss"][-1] < large["loss"][-1] and fan_in["loss"][-1] < zeros["loss"][-1]
    assert fan_in["val_accuracy"][-1] > zeros["val_accuracy"][-1]


def test_06_cost_functions(tmp_path):
    r = run("06_cost_functions", tmp_path)
    quad, ce = r["neuron"]["quadratic"], r["neuron"]["cross-entropy"]
    assert quad[0] == ce[0] > 0.98  # the same saturated start
    assert quad[30] > 0.97 and ce[30] < 0.3  # the quadratic cost crawls, cross-entropy does not
    assert all(c < q for q, c in zip(quad[1:], ce[1:]))  # cross-entropy ahead at every epoch
    assert max(r["network"]["cross-entropy"]) > max(r["network"]["quadratic"]) + 0.1


def test_03_optimizer_paths(tmp_path):
    r = run("03_optimizer_paths", tmp_path)
    finals = r["finals"]
    assert all(f["error"] < r["start_error"] - 1.5 for f in finals.values())  # every optimizer descends
    assert finals["SGD (lr 0.1)"]["minimum"] == "local"  # plain gradient descent stops in the nearest well
    assert finals["momentum (lr 0.1, 0.9)"]["minimum"] == "global"  # the velocity carries it over the rim
    assert finals["momentum (lr 0.1, 0.9)"]["error"] < finals["SGD (lr 0.1)"]["error"] - 1.0


def test_02_perceptron(tmp_path):
    r = run("02_perceptron", tmp_path)
    assert r["AND"]["converged"] and r["AND"]["errors_per_epoch"][-1] == 0 and r["AND"]["rosenblatt_correct"] == 4
    xor = r["XOR"]["errors_per_epoch"]
    assert not r["XOR"]["converged"] and len(xor) == 30 and min(xor) > 0  # some error in every epoch
    assert r["AND"]["adaline_correct"] == 4 and r["XOR"]["adaline_correct"] < 4  # no line separates XOR
    mse = r["XOR"]["adaline_mse"]
    assert abs(mse[-1] - mse[-10]) < 0.01 and mse[-1] < 0.27  # the delta rule settles near the least-squares 0.25


def test_05_learning_rate(tmp_path):
    r = run("05_learning_rate", tmp_path)
    small, right, large = (r["runs"][f"{name} (lr {lr:.3g})"]["loss"] for name, lr in r["rates"].items())
    assert 1e-2 < r["suggestion"] < 3.0  # the range test picks a rate between the two bad ones
    assert small[0] - small[-1] < 0.1  # too small: the loss creeps
    assert large[0] > 2 * small[0] and large[-1] > 2.0  # too large: the loss jumps up and stays high
    assert right[-1] < 0.5 * small[-1] and right[-1] < 0.5 * large[-1]
    s = r["schedules"]
    assert s["constant"]["lr"] == [0.5] * 6 and s["step"]["lr"] == [0.5] * 5 + [0.25]
    assert np.allclose(s["exponential"]["lr"], [0.5 * 0.85 ** e for e in range(6)])
    assert s["plateau"]["lr"][-1] <= 0.5


def test_12_depth_residual(tmp_path):
    r = run("12_depth_residual", tmp_path)
    plain, residual = r["plain"]["grad_norms"], r["residual"]["grad_norms"]
    assert plain[0] / plain[-1] < 1e-6  # the gradient vanishes on its way down the plain stack
    assert all(a < b for a, b in zip(plain, plain[1:]))  # smaller at every layer nearer the input
    assert min(residual) / max(residual) > 1e-2 and min(residual) > 1e3 * max(plain[:10])  # the skips carry it


def test_04_batch_size(tmp_path):
    r = run("04_batch_size", tmp_path)["runs"]
    one, mini, whole = (r[name]["loss"] for name in r)
    assert one[-1] < mini[-1] < whole[-1]  # per epoch: more steps, more progress
    assert one[0] < whole[-1]  # one epoch of per-example steps beats every epoch of whole-set steps
    assert all(len(log["seconds"]) == 3 and log["seconds"][-1] > 0 for log in r.values())


def test_14_optimizers(tmp_path):
    r = run("14_optimizers", tmp_path)["runs"]
    assert len(r) == 7 and all(log["loss"][-1] < log["loss"][0] for log in r.values())  # every one learns
    sgd = r["SGD (lr 0.05)"]["loss"][-1]
    assert r["momentum (lr 0.05, 0.9)"]["loss"][-1] < 0.5 * sgd  # momentum: same lr, much further
    assert r["Nesterov (lr 0.05, 0.9)"]["loss"][-1] < 0.5 * sgd
    adam, adamw = r["Adam (lr 1e-3)"]["loss"], r["AdamW (lr 1e-3, wd 0.01)"]["loss"]
    assert adam != adamw and abs(adam[-1] - adamw[-1]) < 0.05  # decoupled decay: a small, real difference


def test_08_overfitting(tmp_path):
    r = run("08_overfitting", tmp_path)["results"]
    none, more, under = r["none"], r["more data (1294)"], r["under-fitting (2 hidden)"]
    assert none["train_accuracy"] > 0.95 and none["val_loss"] > 3 * none["train_loss"]  # learnt by heart
    assert more["val_accuracy"] > none["val_accuracy"] + 0.05 and more["val_loss"] < 0.5 * none["val_loss"]
    assert under["train_accuracy"] < 0.5 and under["train_loss"] > 10 * none["train_loss"]  # too small to fit
    assert len(r) == 9 and all(len(x["history"]["val_loss"]) >= 1 for x in r.values())


def test_09_normalization(tmp_path):
    r = run("09_normalization", tmp_path)
    acc = {name.split(" (")[0]: log["val_accuracy"][-1] for name, log in r["runs"].items()}
    assert acc["raw pixels"] < 0.2 and acc["pixels - 127"] < 0.2  # inputs of size 100: the same lr wrecks the net
    assert min(acc["z-norm"], acc["min-max"], acc["ZCA"]) > 0.5
    bn = r["batch_norm"]
    assert bn["with batch norm"]["val_accuracy"][-1] > 0.8
    assert bn["with batch norm"]["loss"][-1] < bn["without batch norm"]["loss"][-1]
    z, robust = r["z_children"], r["robust_children"]
    assert np.ptp(z) < 0.1 and np.ptp(robust) >= 2  # the outlier squeezes the children together under the mean/std


def test_11_mnist_baselines(tmp_path):
    r = run("11_mnist_baselines", tmp_path)
    acc = r["accuracy"]
    assert r["dataset"] in ("MNIST", "Fashion-MNIST")
    assert acc["random guess"] < 0.2 < acc["darkness"] < acc["linear SVM (hinge)"]  # each baseline beats the last
    assert min(acc["MLP 784-128-10"], acc["LeNet-5"], acc["CNN (2 conv + 2 dense)"]) > acc["linear SVM (hinge)"]


def test_10_output_encoding(tmp_path):
    r = run("10_output_encoding", tmp_path)
    one_hot, bits, nearest = (r["runs"][32][name][-1] for name in ("one-hot (10 outputs)", "binary (4 bits read)",
                                                                    "binary (nearest valid code)"))
    assert one_hot > 0.85 and one_hot > bits + 0.05  # the same network learns the one-hot code faster
    assert nearest >= bits  # reading the most probable valid code never loses to reading the bits
    assert all(r["runs"][8][name][-1] < r["runs"][32][name][-1] for name in r["runs"][8])  # capacity matters
    assert 0 <= r["invalid_codes"] < 0.2 and len(r["bit_errors"]) == 4


def test_13_recurrent(tmp_path):
    r = run("13_recurrent", tmp_path)
    ratio = {name: {n: v["gradient_ratio"] for n, v in runs.items()} for name, runs in r["memory"].items()}
    for cell in ("SimpleRNN", "LSTM", "GRU"):
        assert ratio[cell][20] < ratio[cell][5]  # the first input's pull on the answer fades with distance
    # at the start (Keras's initialisation) the orthogonal SimpleRNN reaches further back than the gated cells,
    # whose forget (LSTM) or update (GRU) gates halve or quarter their memory at every step
    assert ratio["SimpleRNN"][20] > 2 * ratio["LSTM"][20] and ratio["SimpleRNN"][20] > 100 * ratio["GRU"][20]
    assert ratio["LSTM, chrono init"][20] > 2 * ratio["LSTM"][20]  # gate biases log(u) keep the memory open
    assert ratio["GRU, chrono init"][20] > 100 * ratio["GRU"][20]
    for name, f in r["fashion"].items():  # empty when Fashion-MNIST is not on the machine
        assert 0 <= f["val_accuracy"][-1] <= 1
        if "dropout" in name:  # Keras's rates: the same parameters, a recurrent mask dropping about 1 in 5
            assert f["parameters"] == r["fashion"][name.split(" (")[0]]["parameters"]
            assert 0.1 < f["recurrent_mask_zeros"] < 0.3
        else:
            assert f["recurrent_mask_zeros"] == 0
