"""TensorFlow runners: the source model eagerly (Keras model, tf.Module or tf.function) and a
loaded SavedModel's serving signature."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from navctl.contract.loading import load_callable  # noqa: E402
from navctl.contract.tensors import flatten_outputs, to_numpy  # noqa: E402
from navctl.runners.base import Runner  # noqa: E402

SIGNATURE = "serving_default"


def tf_device(device: str) -> str:
    return "/GPU:0" if device == "cuda" else "/CPU:0"


def set_tf_threads(threads: int) -> None:
    """The run's thread budget; TensorFlow refuses the change once its runtime has started."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass


def call_tf_model(model, feed: dict[str, tf.Tensor], call: str, input_names: list[str]):
    """Call a Keras model / tf.Module / tf.function the way the samples fed it."""
    is_keras = isinstance(model, tf.keras.Model)
    if call == "keyword":
        return model(feed, training=False) if is_keras else model(**feed)
    args = [feed[n] for n in input_names]
    if is_keras:
        return model(args[0] if len(args) == 1 else args, training=False)
    return model(*args)


class TfEagerRunner(Runner):
    def load_impl(self) -> None:
        set_tf_threads(self.config.threads)
        ref = self.config.model
        factory = load_callable(ref.entrypoint, self.config.recipe_dir)
        self.model = factory(**ref.kwargs)
        if not callable(self.model):
            raise TypeError(f"the model entrypoint returned a {type(self.model).__name__}, not a callable model")
        # a functional Keras model names its inputs; other callables name them by their signature
        inputs = getattr(self.model, "inputs", None) if isinstance(self.model, tf.keras.Model) else None
        self.signature_names = [t.name for t in inputs] if inputs else None

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        io = self.config.io
        with tf.device(tf_device(self.config.device)):
            tensors = {k: tf.constant(v) for k, v in feed.items()}
            out = call_tf_model(
                self.model, tensors, io.call if io else "positional", io.input_names if io else list(feed)
            )
        flat = flatten_outputs(out)
        if io is not None and len(flat) == len(io.outputs):
            return {meta.name: to_numpy(value) for meta, (_, value) in zip(io.outputs, flat, strict=True)}
        return {name: to_numpy(value) for name, value in flat}


class SavedModelRunner(Runner):
    def load_impl(self) -> None:
        set_tf_threads(self.config.threads)
        with tf.device(tf_device(self.config.device)):
            # kept on the runner: the signature alone does not keep the model's variables alive
            self.saved_model = tf.saved_model.load(str(self.config.artifact))
        if SIGNATURE not in self.saved_model.signatures:
            raise RuntimeError(f"the SavedModel has no '{SIGNATURE}' signature: {list(self.saved_model.signatures)}")
        self.signature = self.saved_model.signatures[SIGNATURE]

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with tf.device(tf_device(self.config.device)):
            out = self.signature(**{k: tf.constant(v) for k, v in feed.items()})
        io = self.config.io
        names = io.output_names if io else sorted(out)
        return {name: out[name].numpy() for name in names}
