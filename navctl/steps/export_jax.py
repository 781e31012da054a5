"""JAX formats: ONNX through jax2onnx (symbolic batch), and a SavedModel through jax2tf (polymorphic batch).

jax2tf's SavedModel holds XlaCallModule ops that tf2onnx cannot convert, hence jax2onnx for ONNX.
"""

from __future__ import annotations

from typing import Any

from navctl.contract.tensors import ModelIO
from navctl.steps.child import StepContext, StepFailed
from navctl.steps.common import runner_for
from navctl.steps.shape_ranges import axis_symbols


def _jax_runner(ctx: StepContext):
    io = ctx.io()
    runner = runner_for(ctx, f"jax-{ctx.spec.device}", io)
    runner.load()
    return io, runner


def _positional(io: ModelIO, function):
    if io.call == "keyword":
        return lambda *args: function(**dict(zip(io.input_names, args, strict=True)))
    return function


def _import_needed_plugins(user_libraries: set[str]) -> None:
    """jax2onnx imports every plugin on its first conversion, its own examples included, some of which
    build and compile demo models at import: about 50 s on a 2-core machine for a 4-layer MLP. Import the
    plugins of JAX itself, and those of Flax or Equinox only when the user's code imported them, then
    tell jax2onnx they are in. Another jax2onnx version without this switch keeps its own behaviour."""
    import importlib
    import pkgutil
    from pathlib import Path

    from jax2onnx import plugin_system

    if not hasattr(plugin_system, "_already_imported_plugins") or plugin_system._already_imported_plugins:
        return
    folder = Path(plugin_system.__file__).with_name("plugins")
    for _, name, _ in pkgutil.walk_packages([str(folder)], prefix="jax2onnx.plugins."):
        family = name.split(".")[2]
        if family == "examples" or (family in ("flax", "equinox") and family not in user_libraries):
            continue
        importlib.import_module(name)
    plugin_system._already_imported_plugins = True


def jax2onnx(ctx: StepContext) -> dict[str, Any]:
    import sys

    io, runner = _jax_runner(ctx)  # the user's code first: which of Flax and Equinox it imports
    user_libraries = {name for name in ("flax", "equinox") if name in sys.modules}

    import jax
    import numpy as np
    import onnx
    from jax2onnx import to_onnx

    from navctl.steps.onnx_names import restore_names

    _import_needed_plugins(user_libraries)
    specs = []
    for t in io.inputs:
        if np.dtype(t.dtype) != np.float32:
            raise StepFailed(f"input '{t.name}' is {t.dtype}: this jax2onnx path takes float32 inputs only")
        symbols = axis_symbols(t)  # shared names: jax2onnx ties the axes that share one
        specs.append(tuple(symbols.get(i, d) for i, d in enumerate(t.shape)))
    model = to_onnx(_positional(io, runner.function), specs, opset=ctx.spec.options.setting("opset", 18))
    target = ctx.path(ctx.spec.artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))
    renamed = restore_names(str(target), io)
    ctx.add_artifact(ctx.spec.artifact)
    return {"exporter": "jax2onnx", "jax": jax.__version__, "renamed": renamed}


def jax2tf(ctx: StepContext) -> dict[str, Any]:
    import tensorflow as tf
    from jax.experimental import jax2tf as converter

    from navctl.steps.export_tf import save_serving

    io, runner = _jax_runner(ctx)
    shapes = []
    for t in io.inputs:
        symbols = axis_symbols(t)
        shapes.append("(" + ", ".join(symbols.get(i, "_") for i in range(len(t.shape))) + ")")
    converted = converter.convert(_positional(io, runner.function), polymorphic_shapes=shapes, with_gradient=False)
    save_serving(ctx, io, lambda feed: converted(*[feed[n] for n in io.input_names]), keep=tf.Module())
    return {"exporter": "jax2tf", "tensorflow": tf.__version__}
