"""A first PyTorch workflow on Fashion-MNIST: data, a model class, train and test loops, save, reload, predict.

Kind of tutorial it stands for: the PyTorch "Quickstart" of pytorch/tutorials
(beginner_source/basics/quickstart_tutorial.py). This is our own script; it exercises
``datasets.FashionMNIST(root, train, download, transform=ToTensor())``, ``DataLoader``, a
``NeuralNetwork(nn.Module)`` with ``nn.Flatten`` and ``nn.Sequential`` of ``nn.Linear``/``nn.ReLU``,
``nn.CrossEntropyLoss()``, ``optim.SGD``, ``train(dataloader, model, loss_fn, optimizer)`` /
``test(dataloader, model, loss_fn)`` functions, ``torch.save(model.state_dict())``,
``load_state_dict(torch.load(..., weights_only=True))`` and a prediction for one test image.

What a PyTorch user changes to run it on neurona:
  * ``import torch`` ... -> ``import neurona as torch``; ``torchvision.datasets`` -> ``neurona.datasets``,
    ``torchvision.transforms.ToTensor`` -> ``neurona.data.transforms.ToTensor``
  * ``ToTensor`` keeps images channels-last: a batch is (N, 28, 28, 1), not (N, 1, 28, 28)
  * ``download=True`` finds the local IDX files first (neurona's data folders) before downloading

``NEURONA_PORT_QUICK=1`` uses 1,024 training and 500 test images (for the tests); five epochs either way.
"""

import os

import neurona as torch
from neurona import datasets, nn
from neurona.data.transforms import ToTensor
from neurona.utils.data import DataLoader, Subset

QUICK = os.environ.get("NEURONA_PORT_QUICK") == "1"

train_set = datasets.FashionMNIST(root="data", train=True, download=True, transform=ToTensor())
test_set = datasets.FashionMNIST(root="data", train=False, download=True, transform=ToTensor())
classes = test_set.classes
if QUICK:
    train_set, test_set = Subset(train_set, range(1024)), Subset(test_set, range(500))

batch_size = 64
train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
test_loader = DataLoader(test_set, batch_size=batch_size)
images, labels = next(iter(test_loader))
print(f"one batch: images {tuple(images.shape)} {images.dtype}, labels {tuple(labels.shape)}")

device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"device: {device}")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.layers = nn.Sequential(
            nn.Linear(28 * 28, 256),
            nn.ReLU(),
            nn.Linear(256, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.layers(self.flatten(x))  # logits


model = NeuralNetwork().to(device)
print(model)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)


def train(dataloader, model, loss_fn, optimizer):
    model.train()
    for batch, (x, y) in enumerate(dataloader):
        x, y = x.to(device), y.to(device)
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch % 50 == 0:
            print(f"  batch {batch:>4}: loss {loss.item():.4f}")


def test(dataloader, model, loss_fn):
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for x, y in dataloader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            loss_sum += loss_fn(logits, y).item() * len(y)
            correct += (logits.argmax(1) == y).type(torch.float).sum().item()
    n = len(dataloader.dataset)
    print(f"test: accuracy {100 * correct / n:.1f}%, mean loss {loss_sum / n:.4f}")
    return loss_sum / n, correct / n


epochs = 5
for epoch in range(1, epochs + 1):
    print(f"epoch {epoch}/{epochs}")
    train(train_loader, model, loss_fn, optimizer)
    test(test_loader, model, loss_fn)

torch.save(model.state_dict(), "quickstart_model.pth")
print("saved the weights to quickstart_model.pth")

reloaded = NeuralNetwork().to(device)
reloaded.load_state_dict(torch.load("quickstart_model.pth", weights_only=True))
reloaded.eval()

image, label = test_set[0]
with torch.no_grad():
    logits = reloaded(image.unsqueeze(0).to(device))
predicted, actual = classes[logits[0].argmax(0).item()], classes[label]
print(f"first test image: predicted {predicted!r}, actually {actual!r}")
