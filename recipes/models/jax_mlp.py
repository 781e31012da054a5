"""A JAX MLP given as (apply_fn, params)."""

import numpy as np


def build(features: int = 32, hidden: int = 64, classes: int = 4):
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    params = {
        "w1": jnp.asarray(rng.standard_normal((features, hidden)).astype(np.float32) * 0.1),
        "w2": jnp.asarray(rng.standard_normal((hidden, classes)).astype(np.float32) * 0.1),
    }

    def apply(params, x):
        return jnp.tanh(x @ params["w1"]) @ params["w2"]

    return apply, params


def samples(count: int = 4, batch: int = 8, features: int = 32):
    rng = np.random.default_rng(4)
    return [rng.standard_normal((batch, features)).astype(np.float32) for _ in range(count)]
