"""Training a small Xception-style image classifier from a folder of JPEG files, Keras style.

Kind of tutorial it stands for: keras-io's "image classification from scratch"
(examples/vision/image_classification_from_scratch.py: Kaggle's Cats vs Dogs JPEGs, a small
Xception network). This is our own script, not a copy; it exercises the same Keras calls:
a folder of images cleaned of damaged files, ``keras.utils.image_dataset_from_directory``
(``validation_split``, ``subset="both"``, ``seed``), ``dataset.take``/``map``/``prefetch``,
the augmentation layers ``RandomFlip``/``RandomRotation``, a functional model with ``Rescaling``,
``Conv2D``, ``SeparableConv2D``, ``BatchNormalization``, residual ``layers.add``,
``MaxPooling2D(3, strides=2, padding="same")``, ``GlobalAveragePooling2D`` and ``Dropout``,
``keras.utils.plot_model``, ``keras.losses.BinaryCrossentropy(from_logits=True)``,
``ModelCheckpoint("save_at_{epoch}.keras")``, ``fit(train_ds, validation_data=val_ds)``, and
``keras.utils.load_img``/``img_to_array`` for one prediction.

What a Keras user changes to run it on neurona:
  * ``import keras`` / ``from keras import layers`` -> ``import neurona as keras`` / ``from neurona import layers``;
    ``tf.data.AUTOTUNE`` -> ``None`` (``map``'s ``num_parallel_calls`` and ``prefetch``'s buffer are accepted
    and ignored: batches are made in the calling thread)
  * the pictures: no download of the 786 MB Cats vs Dogs archive; ``standins.fashion_image_folder`` writes
    Fashion-MNIST trousers and bags as JPEG files in the same layout, with a few damaged files to filter out
  * ``keras.ops.expand_dims`` / ``keras.ops.sigmoid`` -> NumPy's ``expand_dims`` and a sigmoid written out;
    ``keras.metrics.BinaryAccuracy(name="acc")`` -> ``metrics=["accuracy"]`` (the same threshold on logits)
  * smaller sizes for a CPU: 32x32 images and blocks of 32/64 filters instead of 180x180 and 128..728

``NEURONA_PORT_QUICK=1`` uses 64 images per class, batches of 16 and two epochs (for the tests).
"""

import os

import numpy as np
from standins import fashion_image_folder

import neurona as keras
from neurona import layers

QUICK = os.environ.get("NEURONA_PORT_QUICK") == "1"

# ---------------------------------------------------------------- the pictures, and the damaged ones out
data_dir = fashion_image_folder(per_class=64 if QUICK else 1000)

num_skipped = 0
for folder_name in ("Trouser", "Bag"):
    folder_path = os.path.join(data_dir, folder_name)
    for fname in sorted(os.listdir(folder_path)):
        fpath = os.path.join(folder_path, fname)
        with open(fpath, "rb") as fobj:
            is_jfif = b"JFIF" in fobj.peek(10)
        if not is_jfif:
            num_skipped += 1
            os.remove(fpath)  # a damaged file: image_dataset_from_directory would refuse the folder
print(f"Deleted {num_skipped} damaged images")

# ---------------------------------------------------------------- datasets
image_size = (32, 32)
batch_size = 16 if QUICK else 32

train_ds, val_ds = keras.utils.image_dataset_from_directory(
    data_dir,
    validation_split=0.2,
    subset="both",
    seed=1337,
    image_size=image_size,
    batch_size=batch_size,
)
print("classes:", train_ds.class_names)

for images, labels in train_ds.take(1):
    first = images[0].numpy().astype("uint8")
    print(f"a batch: images {images.shape} (values {first.min()}..{first.max()}), labels {labels.numpy()[:9]}")

# ---------------------------------------------------------------- augmentation, applied to the training batches
data_augmentation_layers = [
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.1),
]


def data_augmentation(images):
    for layer in data_augmentation_layers:
        images = layer(images)
    return images


train_ds = train_ds.map(lambda img, label: (data_augmentation(img), label), num_parallel_calls=None)
train_ds = train_ds.prefetch(None)
val_ds = val_ds.prefetch(None)


# ---------------------------------------------------------------- a small Xception
def make_model(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)

    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(32, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    previous_block_activation = x  # the residual branch starts here

    for size in [32, 64]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)

        residual = layers.Conv2D(size, 1, strides=2, padding="same")(previous_block_activation)
        x = layers.add([x, residual])
        previous_block_activation = x

    x = layers.SeparableConv2D(128, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    x = layers.GlobalAveragePooling2D()(x)
    units = 1 if num_classes == 2 else num_classes

    x = layers.Dropout(0.25)(x)
    outputs = layers.Dense(units, activation=None)(x)  # logits
    return keras.Model(inputs, outputs)


model = make_model(input_shape=image_size + (3,), num_classes=2)
keras.utils.plot_model(model, to_file="xception_model.png", show_shapes=True)

# ---------------------------------------------------------------- training
epochs = 2 if QUICK else 10
callbacks = [keras.callbacks.ModelCheckpoint("save_at_{epoch}.keras")]
model.compile(
    optimizer=keras.optimizers.Adam(3e-4),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history = model.fit(train_ds, epochs=epochs, callbacks=callbacks, validation_data=val_ds)

# ---------------------------------------------------------------- one new picture
path = os.path.join(data_dir, "Bag", sorted(os.listdir(os.path.join(data_dir, "Bag")))[0])
img = keras.utils.load_img(path, target_size=image_size)
img_array = keras.utils.img_to_array(img)
img_array = np.expand_dims(img_array, 0)  # a batch of one

predictions = model.predict(img_array)
score = float(1 / (1 + np.exp(-predictions[0][0])))
print(f"This image is {100 * (1 - score):.2f}% {train_ds.class_names[0]} and {100 * score:.2f}% "
      f"{train_ds.class_names[1]}.")
