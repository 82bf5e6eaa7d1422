"""A small convolutional classifier for Fashion-MNIST, written the way a Keras user writes one.

Kind of tutorial it stands for: keras-io's "simple MNIST convnet" (examples/vision/mnist_convnet.py).
This is our own script, not a copy; it uses the same Keras calls a user of that tutorial would.

What a Keras user changes to run it on neurona:
  * ``import keras`` / ``from keras import layers`` -> ``import neurona as keras`` / ``from neurona import layers``
  * the digits are swapped for Fashion-MNIST, read from the local IDX files by
    ``keras.datasets.fashion_mnist.load_data()``

``NEURONA_PORT_QUICK=1`` trains one epoch on 256 images and scores 200 (for the tests).
"""

import os

import numpy as np

import neurona as keras
from neurona import layers

QUICK = os.environ.get("NEURONA_PORT_QUICK") == "1"
N_CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)

(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
if QUICK:
    x_train, y_train, x_test, y_test = x_train[:256], y_train[:256], x_test[:200], y_test[:200]


def prepare(images, labels):
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]; labels -> one-hot rows."""
    x = np.expand_dims(images.astype("float32") / 255.0, -1)
    return x, keras.utils.to_categorical(labels, N_CLASSES)


x_train, y_train = prepare(x_train, y_train)
x_test, y_test = prepare(x_test, y_test)
print(f"train images {x_train.shape}, test images {x_test.shape}")

model = keras.Sequential(
    [
        keras.Input(shape=IMAGE_SHAPE),
        layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.4),
        layers.Dense(N_CLASSES, activation="softmax"),
    ]
)
model.summary()

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=64, epochs=1 if QUICK else 12, validation_split=0.1)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
