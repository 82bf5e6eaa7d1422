"""A custom Keras callback that scores the validation set with scikit-learn after every epoch.

Kind of tutorial it stands for: keras-io's recipe on scikit-learn metrics in callbacks
(examples/keras_recipes/sklearn_metric_callbacks.py). This is our own script; it exercises a
``keras.callbacks.Callback`` subclass (``self.model``, ``on_epoch_end``, ``on_train_end``, adding a
value to ``logs``), ``model.predict`` inside a callback, and ``keras.callbacks.TensorBoard``.

What a Keras user changes to run it on neurona:
  * ``import keras`` -> ``import neurona as keras``
  * ``tf.summary`` -> tensorboardX's ``SummaryWriter`` (neurona has no TensorFlow; its TensorBoard
    callback writes with tensorboardX too): ``pip install neurona[tensorboard] scikit-learn``
  * Fashion-MNIST from the local IDX files instead of the digits

View the logs with ``tensorboard --logdir logs``.
``NEURONA_PORT_QUICK=1`` trains one epoch on 512 images (for the tests).
"""

import os

import numpy as np
from sklearn.metrics import cohen_kappa_score, f1_score
from tensorboardX import SummaryWriter

import neurona as keras
from neurona import layers

QUICK = os.environ.get("NEURONA_PORT_QUICK") == "1"


class SklearnScores(keras.callbacks.Callback):
    """After each epoch: macro F1 and Cohen's kappa of the model's classes on (x, labels)."""

    def __init__(self, x, labels, log_dir):
        super().__init__()
        self.x, self.labels = x, labels
        self.writer = SummaryWriter(log_dir)
        self.scores = []

    def on_epoch_end(self, epoch, logs=None):
        predicted = self.model.predict(self.x, verbose=0).argmax(axis=-1)
        f1 = f1_score(self.labels, predicted, average="macro")
        kappa = cohen_kappa_score(self.labels, predicted)
        self.scores.append((f1, kappa))
        self.writer.add_scalar("sklearn/macro_f1", f1, epoch + 1)
        self.writer.add_scalar("sklearn/cohen_kappa", kappa, epoch + 1)
        if logs is not None:
            logs["val_macro_f1"] = f1  # callbacks after this one see it (TensorBoard: validation epoch_macro_f1)
        print(f"epoch {epoch + 1}: macro F1 {f1:.4f}, Cohen's kappa {kappa:.4f}")

    def on_train_end(self, logs=None):
        self.writer.close()


(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
n_train, n_test = (512, 200) if QUICK else (20000, 5000)
x_train = x_train[:n_train].reshape(n_train, -1).astype("float32") / 255.0
x_test = x_test[:n_test].reshape(n_test, -1).astype("float32") / 255.0
y_train, y_test = y_train[:n_train], y_test[:n_test]

model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(128, activation="relu"),
    layers.Dropout(0.2),
    layers.Dense(10, activation="softmax"),
], name="fashion_dense")
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

log_dir = os.path.join("logs", model.name)
scores = SklearnScores(x_test, y_test, os.path.join(log_dir, "sklearn"))
tensorboard = keras.callbacks.TensorBoard(log_dir=log_dir)
history = model.fit(x_train, y_train, batch_size=64, epochs=1 if QUICK else 8,
                    validation_data=(x_test, y_test), callbacks=[scores, tensorboard], verbose=2)
print("macro F1 per epoch:", np.round([f1 for f1, _ in scores.scores], 4))
