"""JAX runner: the model function under jax.jit; results are made host arrays (so ready) before return."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from navctl.contract.loading import load_callable
from navctl.contract.tensors import flatten_outputs
from navctl.runners.base import Runner


def build_jax_function(runner: Runner) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(the inputs-only function, the user's own function for signature names).

    The entrypoint returns `(apply_fn, params)` or a function of the inputs alone.
    """
    ref = runner.config.model
    built = load_callable(ref.entrypoint, runner.config.recipe_dir)(**ref.kwargs)
    if isinstance(built, tuple) and len(built) == 2 and callable(built[0]):
        apply_fn, params = built

        def function(*args: Any, **kwargs: Any) -> Any:
            return apply_fn(params, *args, **kwargs)

        return function, apply_fn
    if callable(built):
        return built, built
    raise TypeError(f"the model entrypoint returned a {type(built).__name__}; return (apply_fn, params) or a function")


def input_names_of(function: Callable[..., Any], skip_params: bool) -> list[str]:
    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in params if p.kind in kinds]
    return names[1:] if skip_params else names


class JaxRunner(Runner):
    def load_impl(self) -> None:
        import jax

        self.function, user_fn = build_jax_function(self)
        self.signature_names = input_names_of(user_fn, skip_params=user_fn is not self.function)
        platform = "gpu" if self.config.device == "cuda" else "cpu"
        self.device = jax.devices(platform)[0]
        self.compiled = jax.jit(self.function)

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import jax

        io = self.config.io
        arrays = {k: jax.device_put(v, self.device) for k, v in feed.items()}
        if io is not None and io.call == "keyword":
            out = self.compiled(**arrays)
        else:
            names = io.input_names if io else list(feed)
            out = self.compiled(*[arrays[n] for n in names])
        flat = flatten_outputs(out)
        # np.asarray waits for the device: the profiler's clock sees finished work
        if io is not None and len(flat) == len(io.outputs):
            return {meta.name: np.asarray(value) for meta, (_, value) in zip(io.outputs, flat, strict=True)}
        return {name: np.asarray(value) for name, value in flat}
