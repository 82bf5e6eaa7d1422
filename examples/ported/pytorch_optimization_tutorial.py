"""The optimization loop, spelled out: hyperparameters, a training pass, an evaluation pass, per-epoch numbers.

Kind of tutorial it stands for: "Optimizing Model Parameters" of pytorch/tutorials
(beginner_source/basics/optimization_tutorial.py). This is our own script; it exercises the loop such
a tutorial teaches: ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()`` over a
``DataLoader``, ``model.train()``/``model.eval()`` and ``torch.no_grad()``, ``nn.CrossEntropyLoss``, and
how two settings of the hyperparameters (plain SGD against SGD with momentum) change the per-epoch
loss and accuracy.

What a PyTorch user changes to run it on neurona:
  * ``import torch`` ... -> ``import neurona as torch``; ``torchvision`` -> ``neurona.datasets`` /
    ``neurona.data.transforms``
  * images are channels-last (N, 28, 28, 1); ``nn.Flatten`` makes them (N, 784) either way
  * the data is read from the local Fashion-MNIST IDX files

``NEURONA_PORT_QUICK=1`` uses 640 training and 500 test images and three epochs (for the tests).
"""

import os

import neurona as torch
from neurona import datasets, nn
from neurona.data.transforms import ToTensor
from neurona.utils.data import DataLoader, Subset

QUICK = os.environ.get("NEURONA_PORT_QUICK") == "1"

hyperparameters = {"learning_rate": 0.05, "batch_size": 32, "epochs": 3 if QUICK else 10}

train_data = datasets.FashionMNIST("data", train=True, transform=ToTensor())
test_data = datasets.FashionMNIST("data", train=False, transform=ToTensor())
if QUICK:
    train_data, test_data = Subset(train_data, range(640)), Subset(test_data, range(500))


def make_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def train_epoch(loader, model, loss_fn, optimizer):
    """One pass over the training data; returns the mean training loss."""
    model.train()
    total, seen = 0.0, 0
    for x, y in loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()  # gradients add up unless cleared
        loss.backward()  # d loss / d parameter for every parameter
        optimizer.step()  # move each parameter against its gradient
        total += loss.item() * len(y)
        seen += len(y)
    return total / seen


def evaluate(loader, model, loss_fn):
    """Mean loss and accuracy on held-out data, without building a graph."""
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            total += loss_fn(logits, y).item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
    n = len(loader.dataset)
    return total / n, correct / n


def run(momentum):
    torch.manual_seed(0)
    model = make_model()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=hyperparameters["learning_rate"], momentum=momentum)
    train_loader = DataLoader(train_data, batch_size=hyperparameters["batch_size"], shuffle=True)
    test_loader = DataLoader(test_data, batch_size=256)
    print(f"\nSGD, learning rate {hyperparameters['learning_rate']}, momentum {momentum}")
    print("epoch  train loss  test loss  test accuracy")
    results = []
    for epoch in range(1, hyperparameters["epochs"] + 1):
        train_loss = train_epoch(train_loader, model, loss_fn, optimizer)
        test_loss, accuracy = evaluate(test_loader, model, loss_fn)
        results.append((train_loss, test_loss, accuracy))
        print(f"{epoch:>5}  {train_loss:>10.4f}  {test_loss:>9.4f}  {accuracy:>13.1%}")
    return results


results = {momentum: run(momentum) for momentum in (0.0, 0.9)}
for momentum, per_epoch in results.items():
    print(f"momentum {momentum}: final test loss {per_epoch[-1][1]:.4f}, accuracy {per_epoch[-1][2]:.1%}")
