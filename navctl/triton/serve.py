"""`navctl serve`: one format of a package behind a real Triton server, through PyTriton.

PyTriton runs a Triton server process and forwards requests to a Python function; that function
is a navctl runner, so the served model is exactly the one navctl checked and profiled.
"""

from __future__ import annotations

import os
import signal
import sys
import sysconfig
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from navctl.errors import EnvironmentProblem
from navctl.nav import load
from navctl.plan.environment import module_available
from navctl.triton.merging import batched, check_preferred, merging, note

# Triton waits this long for in-flight requests when stopping (its own default is 30 s).
EXIT_TIMEOUT_S = 5


@dataclass
class ServeOptions:
    key: str | None = None
    strategy: str = "max-throughput"
    name: str | None = None
    address: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    max_batch_size: int | None = None
    dynamic_batching: bool | None = None  # None: on when the model's outputs are per sample
    max_queue_delay_us: int = 100
    preferred_batch_sizes: list[int] = field(default_factory=list)
    instances: int = 1
    log_file: Path | None = None
    ready_timeout_s: float = 300.0
    # A second model beside the real one that answers at once: a load test's floor (its own overhead).
    null_model: str | None = None


def _python_library_path() -> None:
    """The Triton Python-backend stub links libpython; make it find this interpreter's, not the system's
    (a mismatched 3.11 build fails with '_thread.RLock' object has no attribute '_recursion_count')."""
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    current = os.environ.get("LD_LIBRARY_PATH", "")
    if libdir and libdir not in current.split(":"):
        os.environ["LD_LIBRARY_PATH"] = f"{libdir}:{current}" if current else libdir


def _wait_until_ready(options: ServeOptions, name: str) -> None:
    """Return once Triton says the model itself is ready (the server answers seconds before that)."""
    import time

    import tritonclient.http as http

    host = "127.0.0.1" if options.address in ("0.0.0.0", "") else options.address
    client = http.InferenceServerClient(f"{host}:{options.http_port}")
    deadline = time.monotonic() + options.ready_timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                if client.is_model_ready(name):
                    return
            except Exception:  # noqa: BLE001 - not answering yet
                pass
            time.sleep(0.2)
        raise EnvironmentProblem(f"Triton did not report model {name} ready within {options.ready_timeout_s:g}s")
    finally:
        client.close()


def _statistics_open() -> dict:
    """PyTriton guards Triton's statistics endpoint with a random token by default; a load test and
    monitoring read it, and its counters reveal nothing the server's other answers do not. The rest
    (model control, shared memory, tracing, logging) stays guarded."""
    try:
        from pytriton.triton import DEFAULT_PROTECTED_ENDPOINTS, TritonSecurityConfig
    except ImportError:  # an older PyTriton without access tokens: nothing is guarded
        return {}
    guarded = [e for e in DEFAULT_PROTECTED_ENDPOINTS if e != "statistics"]
    return {"security_config": TritonSecurityConfig(restricted_endpoints=guarded)}


def _bind_null_model(triton, name: str, inputs: list, batching: bool, max_batch: int) -> None:
    """A model with the real one's inputs that computes nothing: what the server and client cost alone."""
    from pytriton.decorators import batch, sample
    from pytriton.model_config import ModelConfig, Tensor

    def nothing(**feed: np.ndarray) -> dict[str, np.ndarray]:
        first = next(iter(feed.values()))
        return {"nothing": np.zeros((first.shape[0], 1) if batching else (1,), dtype=np.float32)}

    triton.bind(
        model_name=name,
        infer_func=batch(nothing) if batching else sample(nothing),
        inputs=inputs,
        outputs=[Tensor(name="nothing", dtype=np.float32, shape=(1,))],
        config=ModelConfig(batching=batching, max_batch_size=max_batch),
        strict=True,
    )


def serve(
    package_path: Path,
    options: ServeOptions,
    ready: Callable[[str], None] = print,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> None:
    """Serve until SIGINT or SIGTERM, then stop the server and return."""
    if not (module_available("pytriton") and module_available("tritonclient")):
        raise EnvironmentProblem("navctl serve needs PyTriton", hint="pip install 'navctl[triton]' (numpy < 2)")
    _python_library_path()
    from pytriton.decorators import batch, sample
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.triton import Triton, TritonConfig

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with load(package_path) as package:
            from navctl.generation.served import is_decoder, serve_decoder

            if is_decoder(package):  # a generate endpoint, the decode loop in the server
                return serve_decoder(package, options, ready, say, stop)
            key = options.key or package.best(options.strategy)
            io = package.io
            name = options.name or package.status.recipe.name
            merge = merging(
                io, options.dynamic_batching, options.max_batch_size, options.preferred_batch_sizes, "navctl serve"
            )
            if note(io):
                say(note(io))
            batching = batched(io)
            profiled = (
                [r.batch_size for r in package.status.results[key].profile] if key in package.status.results else []
            )
            max_batch = (options.max_batch_size or max(profiled, default=1)) if batching else 0
            dtypes = {t.name: np.dtype(t.dtype) for t in io.outputs}
            sample_shapes = {t.name: tuple(t.shape[1:] if batching else t.shape) for t in [*io.inputs, *io.outputs]}
            # Triton refuses tensors without dims: one value per sample travels as [1] and is
            # reshaped back before the runner sees it (the same rule as `navctl triton`'s reshape).
            scalar = {name for name, shape in sample_shapes.items() if not shape}
            with ExitStack() as stack:
                # one runner per instance: Triton calls instances concurrently, and runners are not shared
                runners = [stack.enter_context(package.runner(key)) for _ in range(max(1, options.instances))]

                def infer_with(runner):
                    def infer(**inputs: np.ndarray) -> dict[str, np.ndarray]:
                        feed = {n: (x.reshape(x.shape[:-1]) if n in scalar else x) for n, x in inputs.items()}
                        outputs = runner.infer(feed)
                        result = {n: np.asarray(outputs[n], dtype=dtypes[n]) for n in io.output_names}
                        return {n: (x.reshape(*x.shape, 1) if n in scalar else x) for n, x in result.items()}

                    # without batching PyTriton passes the list of requests, one at a time: `sample` unpacks it
                    return batch(infer) if batching else sample(infer)

                def tensors(metas) -> list:
                    return [
                        Tensor(name=t.name, dtype=np.dtype(t.dtype), shape=sample_shapes[t.name] or (1,)) for t in metas
                    ]

                batcher = None
                if merge:
                    check_preferred(options.preferred_batch_sizes, max_batch)
                    batcher = DynamicBatcher(
                        max_queue_delay_microseconds=options.max_queue_delay_us,
                        preferred_batch_size=options.preferred_batch_sizes or None,
                    )
                config = TritonConfig(
                    http_address=options.address,
                    http_port=options.http_port,
                    grpc_address=options.address,
                    grpc_port=options.grpc_port,
                    metrics_address=options.address,
                    metrics_port=options.metrics_port,
                    exit_timeout_secs=EXIT_TIMEOUT_S,
                    # Triton's own log (on a CPU machine, mostly CUDA and NVML warnings) goes to a file.
                    log_file=options.log_file,
                    allow_gpu_metrics=key.endswith("-cuda"),
                )
                with Triton(config=config, **_statistics_open()) as triton:
                    infer_funcs = [infer_with(r) for r in runners]
                    triton.bind(
                        model_name=name,
                        infer_func=infer_funcs if len(infer_funcs) > 1 else infer_funcs[0],
                        inputs=tensors(io.inputs),
                        outputs=tensors(io.outputs),
                        config=ModelConfig(batching=batching, max_batch_size=max_batch, batcher=batcher),
                        strict=True,
                    )
                    if options.null_model:
                        _bind_null_model(triton, options.null_model, tensors(io.inputs), batching, max_batch)
                    triton.run()
                    _wait_until_ready(options, name)
                    if options.null_model:
                        _wait_until_ready(options, options.null_model)
                    ready(
                        f"serving {name} ({key}) on http://{options.address}:{options.http_port} and "
                        f"grpc {options.address}:{options.grpc_port}; Ctrl-C stops"
                    )
                    sys.stdout.flush()
                    stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
