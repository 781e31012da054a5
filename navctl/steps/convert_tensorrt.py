"""TensorRT engines from the ONNX format, built through Polygraphy's loaders.

Optimization profiles come from the recipe (tensorrt.shape_profiles) or from the shape ranges: batch axis
1 .. max_batch_size (opt = the largest sample batch), other dynamic axes over their range (inputs[].axes
widen it beyond the samples), opt at their typical size. int8 calibrates on the calibration samples (see
`calibration`) and keeps its cache beside the engine; a timing cache in the workspace speeds up later
builds. A failed build can retry at half the batch.

Needs `tensorrt` and a CUDA device; without them the plan marks these steps unavailable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from navctl.contract.tensors import ModelIO, load_samples
from navctl.steps.calibration import calibration_feeds
from navctl.steps.child import StepContext, StepFailed, StepUnavailable

TIMING_CACHE = "trt-timing.cache"


def derive_profile(io: ModelIO, samples: list[dict], max_batch: int) -> dict[str, tuple[list, list, list]]:
    """(min, opt, max) shape per input from the samples' shapes and max_batch_size."""
    out = {}
    for meta in io.inputs:
        shapes = [s[meta.name].shape for s in samples]
        low, opt, high = [], [], []
        ranges = {a.axis: a for a in meta.axes}
        for axis, dim in enumerate(meta.shape):
            sizes = [shape[axis] for shape in shapes]
            if io.batching and axis == io.batch_axis:
                low.append(1)
                opt.append(min(max(sizes), max_batch))
                high.append(max_batch)
            elif axis in ranges:
                low.append(ranges[axis].min)
                opt.append(ranges[axis].typical)
                high.append(ranges[axis].max)
            elif dim == -1:  # a model_io.json from before ranges were recorded
                low.append(min(sizes))
                opt.append(max(sizes))
                high.append(max(sizes))
            else:
                low.append(dim)
                opt.append(dim)
                high.append(dim)
        out[meta.name] = (low, opt, high)
    return out


def build_engine(ctx: StepContext) -> dict[str, Any]:
    try:
        import tensorrt as trt
        from polygraphy.backend.trt import (
            Calibrator,
            CreateConfig,
            EngineFromNetwork,
            NetworkFromOnnxPath,
            Profile,
            SaveEngine,
        )
    except ImportError as exc:
        raise StepUnavailable(f"TensorRT is not installed ({exc}); pip install 'navctl[gpu]'") from None
    opts = ctx.spec.options
    io = ctx.io()
    inputs, _ = load_samples(ctx.workspace, io)
    precision = opts.precision
    target = ctx.path(ctx.spec.artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    timing_cache = ctx.path(TIMING_CACHE) if opts.setting("timing_cache", True) else None
    max_batch = int(opts.max_batch_size)
    tries: list[dict] = []
    while True:
        given = opts.setting("shape_profiles")
        shapes = (
            {n: (p["min"], p["opt"], p["max"]) for n, p in given.items()}
            if given
            else derive_profile(io, inputs, max_batch)
        )
        profile = Profile()
        for name, (low, opt, high) in shapes.items():
            profile.add(name, min=low, opt=opt, max=high)
        calibrator = None
        if precision == "int8":
            # the same calibration samples as every INT8 format: never the ones its check reads
            feeds, _ = calibration_feeds(ctx, io)
            cache = Path(target.parent) / "calibration.cache"
            calibrator = Calibrator(data_loader=feeds, cache=str(cache))
        config = CreateConfig(
            tf32=precision == "tf32",
            fp16=precision == "fp16",
            bf16=precision == "bf16",
            int8=precision == "int8",
            calibrator=calibrator,
            profiles=[profile],
            memory_pool_limits={trt.MemoryPoolType.WORKSPACE: int(opts.setting("workspace_mb", 4096)) << 20},
            load_timing_cache=str(timing_cache) if timing_cache and timing_cache.exists() else None,
        )
        try:
            engine = EngineFromNetwork(
                NetworkFromOnnxPath(str(ctx.path(ctx.spec.source_artifact))),
                config=config,
                save_timing_cache=str(timing_cache) if timing_cache else None,
            )()
            SaveEngine(engine, str(target))()
            tries.append({"max_batch_size": max_batch, "ok": True})
            break
        except Exception as exc:  # noqa: BLE001 - TensorRT reports build failures in many types
            tries.append({"max_batch_size": max_batch, "error": str(exc)[:300]})
            if not opts.setting("retry_smaller_batch", True) or max_batch <= 1 or given:
                raise StepFailed(
                    f"TensorRT build failed at max batch {max_batch}: {str(exc)[:300]}", {"tries": tries}
                ) from exc
            max_batch //= 2
            ctx.log(f"build failed; retrying with max batch {max_batch}")
    ctx.add_artifact(ctx.spec.artifact)
    if precision == "int8":
        ctx.add_artifact(str(Path(ctx.spec.artifact).parent / "calibration.cache"))
    return {
        "precision": precision,
        "profiles": {k: list(v) for k, v in shapes.items()},
        "tries": tries,
        "tensorrt": trt.__version__,
    }
