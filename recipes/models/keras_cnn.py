"""A small Keras CNN with two inputs (an image and a vector of metadata)."""

import numpy as np


def build():
    import tensorflow as tf

    tf.random.set_seed(0)
    image = tf.keras.Input(shape=(16, 16, 3), name="image")
    meta = tf.keras.Input(shape=(4,), name="meta")
    x = tf.keras.layers.Conv2D(8, 3, activation="relu")(image)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    x = tf.keras.layers.Concatenate()([x, meta])
    out = tf.keras.layers.Dense(5, name="logits")(x)
    return tf.keras.Model(inputs={"image": image, "meta": meta}, outputs=out)


def samples(count: int = 4):
    rng = np.random.default_rng(3)
    return [
        {
            "image": rng.standard_normal((2, 16, 16, 3)).astype(np.float32),
            "meta": rng.standard_normal((2, 4)).astype(np.float32),
        }
        for _ in range(count)
    ]
