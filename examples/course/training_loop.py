"""The course's training loop, as the slides write it (PyTorch style), with checkpoints and resume.

    model.to(device)
    start = load_checkpoint(model, optimizer, checkpoint_dir) + 1      # when a checkpoint exists
    for epoch in range(start, epochs):
        model.train()
        for inputs, labels in train_loader:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
        save_checkpoint(checkpoint_dir, model, optimizer, epoch, val_accuracy=...)

An MLP with dropout on the embedded digits (8x8), split into train / validation / test; the
test set is evaluated once, at the end, and never used to choose anything. Kill the script at
any moment and run it again: it resumes from the last finished epoch and ends with the same
weights, bit for bit, as a run that was never interrupted (the random state is in the checkpoint).

Run: .venv/bin/python examples/course/training_loop.py [--quick] [--checkpoint-dir DIR]
     (--kill-at EPOCH:BATCH kills the process with SIGKILL there, to try the resume)
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile

import numpy as np

import neurona as nr
from neurona import nn, optim
from neurona.data import DataLoader, train_val_test_split


def make_model() -> nn.Module:
    return nn.Sequential([nn.Dense(64, activation="relu"), nn.Dropout(0.2), nn.Dense(10)])


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, device: str) -> float:
    model.eval()
    with nr.no_grad():
        logits = model(nr.tensor(x).to(device)).numpy()
    return float((logits.argmax(axis=1) == y).mean())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 epochs instead of 15")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--checkpoint-dir", default=None, help="where the checkpoint lives (default: a temp dir)")
    parser.add_argument("--weights-out", default=None, help="write the final weights here (npz)")
    parser.add_argument("--kill-at", default=None, metavar="EPOCH:BATCH",
                        help="kill this process with SIGKILL at that batch (a simulated crash)")
    args = parser.parse_args(argv)
    epochs = args.epochs or (3 if args.quick else 15)
    kill_at = tuple(int(v) for v in args.kill_at.split(":")) if args.kill_at else None
    checkpoint_dir = args.checkpoint_dir or tempfile.mkdtemp(prefix="neurona-loop-")
    os.makedirs(checkpoint_dir, exist_ok=True)

    nr.manual_seed(0)
    (x_a, y_a), (x_b, y_b) = nr.data.load_digits()  # 1797 images in all, split anew 70/15/15
    x = np.concatenate([x_a, x_b]).reshape(-1, 64).astype(np.float32) / 255.0
    y = np.concatenate([y_a, y_b])
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = train_val_test_split(
        x, y, val=0.15, test=0.15, stratify=True, seed=0)
    train_loader = DataLoader(x_train, y_train, batch_size=32, shuffle=True, tensors=True)

    device = nr.device("cuda" if nr.cuda.is_available() else "cpu")
    model = make_model()
    model.build((None, x.shape[1]))
    model.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    start = 0
    if os.path.exists(os.path.join(checkpoint_dir, "checkpoint.neurona")):
        last, extra = nr.load_checkpoint(model, optimizer, checkpoint_dir)
        start = last + 1
        print(f"resumed after epoch {last} (validation accuracy then {extra['val_accuracy']:.3f})", flush=True)

    for epoch in range(start, epochs):
        model.train()
        total = 0.0
        for batch, (inputs, labels) in enumerate(train_loader):
            if kill_at == (epoch, batch):
                print(f"killed at epoch {epoch}, batch {batch}", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            total += loss.item()
        val_acc = accuracy(model, x_val, y_val, device)
        nr.save_checkpoint(checkpoint_dir, model, optimizer, epoch, val_accuracy=val_acc)
        print(f"epoch {epoch}: loss {total / len(train_loader):.4f}, validation accuracy {val_acc:.3f}", flush=True)

    test_acc = accuracy(model, x_test, y_test, device)
    print(f"test accuracy {test_acc:.3f} (measured once, after training)")
    if args.weights_out:
        nr.training.save_weights(model, args.weights_out)
    return {"test_accuracy": test_acc, "epochs": epochs, "checkpoint_dir": checkpoint_dir}


if __name__ == "__main__":
    main()
