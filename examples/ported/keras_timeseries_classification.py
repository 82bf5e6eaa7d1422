"""Classifying univariate time series with a 1-D convolutional network and the usual callbacks.

Kind of tutorial it stands for: keras-io's "timeseries classification from scratch"
(examples/timeseries/timeseries_classification_from_scratch.py, the FordA engine-noise data).
This is our own script; it exercises ``layers.Conv1D``, ``BatchNormalization``, ``ReLU``,
``GlobalAveragePooling1D``, ``keras.utils.plot_model`` and the callbacks ``ModelCheckpoint``,
``ReduceLROnPlateau`` and ``EarlyStopping``.

What a Keras user changes to run it on neurona:
  * ``import keras`` / ``from keras import layers`` -> ``import neurona as keras`` / ``from neurona import layers``
  * the series come from synthetic files in the UCR TSV layout (label first, then 500 values) written by
    ``standins.forda_tsv``: class 1 hides a faint oscillation in noise, class -1 is noise alone

``NEURONA_PORT_QUICK=1`` uses 64 training and 32 test series and two epochs (for the tests).
"""

import os

import numpy as np
from standins import forda_tsv

import neurona as keras
from neurona import layers

QUICK = os.environ.get("NEURONA_PORT_QUICK") == "1"


def load_series(path):
    """A UCR-style TSV file -> values (N, length, 1) float32 and labels in {0, 1}."""
    table = np.loadtxt(path, delimiter="\t", dtype="float32")
    labels = (table[:, 0] > 0).astype("int64")  # -1 -> 0, 1 -> 1
    return table[:, 1:, None], labels


x_train, y_train = load_series(forda_tsv("TRAIN", 64 if QUICK else 1200))
x_test, y_test = load_series(forda_tsv("TEST", 32 if QUICK else 400))
print(f"train {x_train.shape}, test {x_test.shape}, positives in train: {y_train.mean():.0%}")


def conv_block(filters):
    return [layers.Conv1D(filters, kernel_size=5, padding="same"), layers.BatchNormalization(), layers.ReLU()]


model = keras.Sequential(
    [keras.Input(shape=x_train.shape[1:])]
    + conv_block(16) + conv_block(32) + conv_block(32)
    + [layers.GlobalAveragePooling1D(), layers.Dense(2, activation="softmax")]
)
keras.utils.plot_model(model, to_file="series_model.png", show_shapes=True)

callbacks = [
    keras.callbacks.ModelCheckpoint("best_series_model.keras", monitor="val_loss", save_best_only=True),
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=5, min_lr=1e-4),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=12, verbose=1),
]
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
history = model.fit(x_train, y_train, batch_size=32, epochs=2 if QUICK else 60,
                    validation_split=0.25, callbacks=callbacks, verbose=1)

best = keras.models.load_model("best_series_model.keras")
test_loss, test_acc = best.evaluate(x_test, y_test, verbose=0)
print(f"best checkpoint on the test series: loss {test_loss:.4f}, accuracy {test_acc:.3f}")
y_pred = best.predict(x_test).argmax(axis=-1)
print("first predictions:", y_pred[:10], "labels:", y_test[:10])
