"""The playground's run written as a neurona script, ready to paste and run.

The script makes the same points and features, builds the same network with the
same seed and trains it with the same loop as the session, so for the same number
of epochs it reaches the same weights (runs with dropout differ in their masks).
"""

from __future__ import annotations

from pprint import pformat

from . import data
from .settings import Settings

_OPTIMIZERS = {"sgd": "optim.SGD(model.parameters(), lr={lr})",
               "momentum": "optim.SGD(model.parameters(), lr={lr}, momentum=0.9)",
               "adagrad": "optim.Adagrad(model.parameters(), lr={lr})",
               "rmsprop": "optim.RMSprop(model.parameters(), lr={lr})",
               "adam": "optim.Adam(model.parameters(), lr={lr})"}


def _header(s: Settings, epochs: int) -> str:
    if s.model == "perceptron":
        what = "a single perceptron trained with Rosenblatt's rule"
    else:
        sizes = ", ".join(map(str, s.hidden)) or "no"
        what = f"hidden layers [{sizes}] of {s.activation} units, {s.optimizer}, {s.problem}"
    return (f'"""neurona playground export: {s.dataset}, {what}, {epochs} epochs.\n\n'
            f"Settings: {pformat(s.to_dict(), width=100, compact=True)}\n"
            '"""\n\nimport numpy as np\n\nimport neurona as nr\nfrom neurona import functional as F\n'
            "from neurona import nn, optim\n\n")


def _data(s: Settings) -> str:
    k = data.n_train(s)
    return ("# --- the data ---\n" + data.points_code(s)
            + f"X_train, y_train, X_test, y_test = X[:{k}], y[:{k}], X[{k}:], y[{k}:]  # the points come shuffled\n\n\n"
            + data.features_code(s.features) + "\n\n"
            + "F_train, F_test = features(X_train), features(X_test)\n")


def _perceptron(s: Settings, epochs: int) -> str:
    return (f"\n# --- the perceptron: one threshold unit, w <- w + lr (d - y) x after each mistake ---\n"
            f"p = nr.models.Perceptron({len(s.features)}, lr={s.lr!r})\n"
            "for epoch in range(1, EPOCHS + 1):\n"
            "    p.fit(F_train, y_train, epochs=1)\n"
            "    p.trace.clear()  # the recorded steps (p.format_trace() prints them)\n"
            "train_error = np.mean(p.predict(F_train) != y_train)\n"
            "test_error = np.mean(p.predict(F_test) != y_test)\n"
            'print(f"after {EPOCHS} epochs: weights {p.weights}, bias {p.bias:.4g}, "\n'
            '      f"train error {train_error:.3f}, test error {test_error:.3f}")\n')


def _network(s: Settings) -> str:
    lines = ["\n# --- the network ---", f"nr.manual_seed({s.seed})", "model = nn.Sequential(["]
    reg = {"l1": "nn.regularizers.L1({})", "l2": "nn.regularizers.L2({})"}.get(s.regularization)
    for units in s.hidden:
        extra = f", kernel_regularizer={reg.format(repr(s.reg_rate))}" if reg and s.reg_rate else ""
        lines.append(f"    nn.Dense({units}, activation={s.activation!r}{extra}),")
        if s.dropout:
            lines.append(f"    nn.Dropout({s.dropout!r}),")
    if s.problem == "classification":
        lines += ["    nn.Dense(1),  # one logit: p(class 1) = sigmoid(output)", "])",
                  "",
                  "",
                  "def targets(y):",
                  '    """Labels 0/1 as a column, for binary cross-entropy on the logit."""',
                  "    return y.astype(np.float32)[:, None]",
                  "",
                  "",
                  "def cost(output, t):",
                  "    return F.binary_cross_entropy_with_logits(output, nr.tensor(t))"]
    else:
        lines += ["    nn.Dense(1),  # the predicted value", "])",
                  "",
                  "",
                  "def targets(y):",
                  '    """Labels 0/1 as values -1/+1 to fit (regression)."""',
                  "    return 2 * y.astype(np.float32)[:, None] - 1",
                  "",
                  "",
                  "def cost(output, t):",
                  "    return F.mse_loss(output, nr.tensor(t))"]
    lines += ["",
              "",
              f"model.build((None, {len(s.features)}))",
              f"optimizer = {_OPTIMIZERS[s.optimizer].format(lr=repr(s.lr))}",
              f"rng = np.random.default_rng({s.seed})  # the order of the batches",
              "t_train, t_test = targets(y_train), targets(y_test)",
              "",
              "for epoch in range(1, EPOCHS + 1):",
              "    model.train()",
              "    order = rng.permutation(len(F_train))",
              f"    for start in range(0, len(order), {s.batch_size}):",
              f"        batch = order[start:start + {s.batch_size}]",
              "        loss = cost(model(nr.tensor(F_train[batch])), t_train[batch])",
              "        penalty = model.regularization_loss()  # L1/L2 on the weights, None without",
              "        if penalty is not None:",
              "            loss = loss + penalty",
              "        optimizer.zero_grad()",
              "        loss.backward()",
              "        optimizer.step()",
              "",
              "model.eval()",
              "with nr.no_grad():",
              "    train_loss = cost(model(nr.tensor(F_train)), t_train).item()",
              "    test_loss = cost(model(nr.tensor(F_test)), t_test).item()",
              'print(f"after {EPOCHS} epochs: train loss {train_loss:.4f}, test loss {test_loss:.4f}")',
              ""]
    return "\n".join(lines)


def python_code(s: Settings, epochs: int = 0) -> str:
    """A runnable neurona script for these settings, training ``epochs`` epochs (100 when 0)."""
    epochs = epochs or 100
    body = _perceptron(s, epochs) if s.model == "perceptron" else _network(s)
    return _header(s, epochs) + f"EPOCHS = {epochs}\n\n" + _data(s) + body
