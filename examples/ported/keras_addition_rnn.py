"""Learning to add: a sequence-to-sequence LSTM reads "123+45" one character at a time and writes "168".

Kind of tutorial it stands for: keras-io's addition RNN (examples/nlp/addition_rnn.py). This is our
own script; it exercises ``layers.LSTM``, ``layers.RepeatVector``, ``layers.TimeDistributed(Dense)``
and one-hot character sequences, trained with ``fit`` in rounds and checked with ``predict``.

What a Keras user changes to run it on neurona:
  * ``import keras`` / ``from keras import layers`` -> ``import neurona as keras`` / ``from neurona import layers``
  * nothing else: the sums are generated here

``NEURONA_PORT_QUICK=1`` trains one round of one epoch on 500 sums (for the tests).
"""

import os

import numpy as np

import neurona as keras
from neurona import layers

QUICK = os.environ.get("NEURONA_PORT_QUICK") == "1"
MAX_DIGITS = 3
QUESTION_LEN = 2 * MAX_DIGITS + 1  # "999+999"
ANSWER_LEN = MAX_DIGITS + 1  # "1998"
ALPHABET = "0123456789+ "
INDEX = {c: i for i, c in enumerate(ALPHABET)}


def one_hot(text, length):
    """Left-justify text to length with spaces, then one row per character."""
    rows = np.zeros((length, len(ALPHABET)), dtype="float32")
    rows[np.arange(length), [INDEX[c] for c in text.ljust(length)]] = 1.0
    return rows


def decode(rows):
    return "".join(ALPHABET[i] for i in rows.argmax(axis=-1))


def make_sums(count, rng):
    """count distinct questions "a+b" (a, b < 10**MAX_DIGITS) with their answers."""
    seen, questions, answers = set(), [], []
    while len(questions) < count:
        a, b = (int(rng.integers(0, 10 ** rng.integers(1, MAX_DIGITS + 1))) for _ in range(2))
        if (a, b) in seen:
            continue
        seen.add((a, b))
        questions.append(f"{a}+{b}")
        answers.append(str(a + b))
    x = np.stack([one_hot(q, QUESTION_LEN) for q in questions])
    y = np.stack([one_hot(s, ANSWER_LEN) for s in answers])
    return x, y


rng = np.random.default_rng(7)
x, y = make_sums(500 if QUICK else 50000, rng)
split = int(0.9 * len(x))
x_train, y_train, x_val, y_val = x[:split], y[:split], x[split:], y[split:]
print(f"training questions {x_train.shape}, answers {y_train.shape}")

model = keras.Sequential([
    keras.Input(shape=(QUESTION_LEN, len(ALPHABET))),
    layers.LSTM(128),  # encoder: the whole question in one vector
    layers.RepeatVector(ANSWER_LEN),  # one copy per answer character
    layers.LSTM(128, return_sequences=True),  # decoder
    layers.TimeDistributed(layers.Dense(len(ALPHABET), activation="softmax")),
])
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.summary()

rounds = 1 if QUICK else 25
for round_number in range(1, rounds + 1):
    print(f"\nround {round_number}/{rounds}")
    model.fit(x_train, y_train, batch_size=64, epochs=1, validation_data=(x_val, y_val))
    picks = rng.choice(len(x_val), size=8, replace=False)
    guesses = model.predict(x_val[picks])
    for question, answer, guess in zip(x_val[picks], y_val[picks], guesses):
        q, a, g = decode(question).strip(), decode(answer).strip(), decode(guess).strip()
        print(f"{q:>8} = {g:<5} {'right' if g == a else 'wrong, ' + a}")
