"""Binary classification of a rare class in a table, with class weights and counting metrics.

Kind of tutorial it stands for: keras-io's structured-data example on imbalanced classification
(examples/structured_data/imbalanced_classification.py, card-fraud detection). This is our own
script; it exercises the Keras calls such a task needs: ``class_weight`` in ``fit``, the metrics
``TruePositives``/``FalsePositives``/``TrueNegatives``/``FalseNegatives``/``Precision``/``Recall``,
``ModelCheckpoint`` and unpacking ``model.evaluate``.

What a Keras user changes to run it on neurona:
  * ``import keras`` -> ``import neurona as keras``
  * the table is a synthetic file in the card-fraud CSV layout written by ``standins.creditcard_csv``
    (the real data cannot be downloaded here), so the printed numbers say nothing about real fraud

``NEURONA_PORT_QUICK=1`` uses 2,000 rows and one epoch (for the tests).
"""

import csv
import os

import numpy as np
from standins import creditcard_csv

import neurona as keras

QUICK = os.environ.get("NEURONA_PORT_QUICK") == "1"

with open(creditcard_csv(2000 if QUICK else 20000), newline="") as f:
    rows = list(csv.reader(f))
header, table = rows[0], np.array(rows[1:], dtype="float32")
features, targets = table[:, :-1], table[:, -1:]  # the last column ("Class") is 1 for a fraud
print(f"{len(features)} rows, {features.shape[1]} features ({', '.join(header[:3])}, ...)")

# hold out the last fifth, in file order (the rows are sorted by time)
cut = int(0.8 * len(features))
train_features, val_features = features[:cut], features[cut:]
train_targets, val_targets = targets[:cut], targets[cut:]
n_fraud = int(train_targets.sum())
print(f"training frauds: {n_fraud} of {len(train_targets)}")

# standardise with the training statistics only
mean, std = train_features.mean(axis=0), train_features.std(axis=0) + 1e-6
train_features = (train_features - mean) / std
val_features = (val_features - mean) / std

# each class weighs as much in the loss as the other, whatever its count
class_weight = {0: len(train_targets) / (2.0 * (len(train_targets) - n_fraud)),
                1: len(train_targets) / (2.0 * max(n_fraud, 1))}

model = keras.Sequential([
    keras.Input(shape=(features.shape[1],)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss="binary_crossentropy",
    metrics=[
        keras.metrics.TruePositives(name="tp"),
        keras.metrics.FalsePositives(name="fp"),
        keras.metrics.TrueNegatives(name="tn"),
        keras.metrics.FalseNegatives(name="fn"),
        keras.metrics.Precision(name="precision"),
        keras.metrics.Recall(name="recall"),
    ],
)
checkpoint = keras.callbacks.ModelCheckpoint("fraud_detector_epoch{epoch}.keras")
model.fit(train_features, train_targets, batch_size=512, epochs=1 if QUICK else 20,
          validation_data=(val_features, val_targets), class_weight=class_weight,
          callbacks=[checkpoint], verbose=2)

loss, tp, fp, tn, fn, precision, recall = model.evaluate(val_features, val_targets, verbose=0)
print(f"validation loss {loss:.4f}")
print(f"frauds caught {tp:.0f} of {tp + fn:.0f}; legitimate rows flagged {fp:.0f} of {fp + tn:.0f}")
print(f"precision {precision:.3f}, recall {recall:.3f}")
