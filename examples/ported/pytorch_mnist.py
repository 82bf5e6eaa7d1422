"""A command-line PyTorch training script for a small convnet on Fashion-MNIST.

Kind of example it stands for: the MNIST script in pytorch/examples (mnist/main.py). This is our own
script; it exercises what such a script uses: an ``nn.Module`` subclass with ``nn.Conv2d``,
``nn.Dropout`` and ``nn.Linear``, ``F.relu``, ``F.max_pool2d``, ``torch.flatten``,
``F.log_softmax(x, dim=1)`` and ``F.nll_loss``, ``DataLoader`` over
``datasets.FashionMNIST(root, train, transform=Compose([ToTensor(), Normalize(...)]))``,
``optim.Adadelta`` with ``optim.lr_scheduler.StepLR``, ``model.to(device)``, ``torch.no_grad()``,
``pred.eq(target.view_as(pred)).sum().item()`` and ``torch.save(model.state_dict(), path)``.

What a PyTorch user changes to run it on neurona:
  * ``import torch`` ... -> ``import neurona as torch``; ``torchvision.datasets``/``transforms`` ->
    ``neurona.datasets`` / ``neurona.data.transforms``
  * images are channels-last: a batch is (N, 28, 28, 1), so ``nn.Conv2d`` sees channels on the last axis
    and the flattened size is height * width * channels
  * the data is read from local IDX files (``--data`` or neurona's data folders), not downloaded

``NEURONA_PORT_QUICK=1`` trains one epoch on 256 images and tests on 200 (for the tests).
"""

import argparse
import os

import neurona as torch
from neurona import datasets, nn, optim
from neurona import functional as F
from neurona.data import transforms
from neurona.utils.data import DataLoader, Subset

QUICK = os.environ.get("NEURONA_PORT_QUICK") == "1"


class SmallConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)  # 28x28x1 -> 26x26x16
        self.conv2 = nn.Conv2d(16, 32, 3)  # -> 24x24x32, pooled to 12x12x32
        self.drop_conv = nn.Dropout(0.25)
        self.fc1 = nn.Linear(12 * 12 * 32, 64)
        self.drop_fc = nn.Dropout(0.5)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(self.drop_conv(x), 1)
        x = self.drop_fc(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def train_one_epoch(model, device, loader, optimizer, epoch, log_every):
    model.train()
    for step, (images, labels) in enumerate(loader):
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(images), labels)
        loss.backward()
        optimizer.step()
        if step % log_every == 0:
            print(f"epoch {epoch} step {step}/{len(loader)}  loss {loss.item():.4f}")


def evaluate(model, device, loader):
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            log_probs = model(images)
            total_loss += F.nll_loss(log_probs, labels, reduction="sum").item()
            pred = log_probs.argmax(dim=1, keepdim=True)
            correct += pred.eq(labels.view_as(pred)).sum().item()
    n = len(loader.dataset)
    print(f"test: mean loss {total_loss / n:.4f}, correct {correct}/{n} ({100.0 * correct / n:.1f}%)")
    return correct


def main():
    parser = argparse.ArgumentParser(description="small convnet on Fashion-MNIST")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=1 if QUICK else 10)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7, help="learning-rate factor per epoch")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-every", type=int, default=20, help="batches between loss lines")
    parser.add_argument("--data", default="data", help="folder holding the Fashion-MNIST IDX files")
    parser.add_argument("--save-model", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    prepare = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))])
    train_set = datasets.FashionMNIST(args.data, train=True, transform=prepare)
    test_set = datasets.FashionMNIST(args.data, train=False, transform=prepare)
    if QUICK:
        train_set, test_set = Subset(train_set, range(256)), Subset(test_set, range(200))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=args.test_batch_size)

    model = SmallConvNet().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train_one_epoch(model, device, train_loader, optimizer, epoch, args.log_every)
        evaluate(model, device, test_loader)
        scheduler.step()

    if args.save_model:
        torch.save(model.state_dict(), "fashion_convnet.pt")


if __name__ == "__main__":
    main()
