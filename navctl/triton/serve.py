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
from dataclasses import dataclass
from pathlib import Path

from navctl.errors import EnvironmentProblem
from navctl.nav import load
from navctl.plan.environment import module_available
from navctl.plan.keys import device_of
from navctl.triton.binding import bind_null_model, infer_adapter, model_config, tensors
from navctl.triton.layout import serving_layout
from navctl.triton.merging import Serving, note

# Triton waits this long for in-flight requests when stopping (its own default is 30 s).
EXIT_TIMEOUT_S = 5


@dataclass
class ServeOptions(Serving):
    address: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
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


def triton_config(options: ServeOptions, key: str):
    """The server's settings: where it listens, its log, how long it waits for requests when stopping."""
    from pytriton.triton import TritonConfig

    return TritonConfig(
        http_address=options.address,
        http_port=options.http_port,
        grpc_address=options.address,
        grpc_port=options.grpc_port,
        metrics_address=options.address,
        metrics_port=options.metrics_port,
        exit_timeout_secs=EXIT_TIMEOUT_S,
        # Triton's own log (on a CPU machine, mostly CUDA and NVML warnings) goes to a file.
        log_file=options.log_file,
        allow_gpu_metrics=device_of(key) == "cuda",
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
    from pytriton.triton import Triton

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with load(package_path) as package, ExitStack() as stack:
            from navctl.generation.served import is_decoder, serve_decoder

            if is_decoder(package):  # a generate endpoint, the decode loop in the server
                return serve_decoder(package, options, ready, say, stop)
            key = options.key or package.best(options.strategy)
            io = package.io
            name = options.name or package.status.recipe.name
            merge = options.merges(io, "navctl serve")
            if note(io):
                say(note(io))
            result = package.status.results.get(key)
            profiled = [r.batch_size for r in result.profile] if result else []
            layout = serving_layout(io, profiled, options.batching.max_batch_size, key)
            config = model_config(layout, merge, options.batching)
            # one runner per instance: Triton calls instances concurrently, and runners are not shared
            runners = [stack.enter_context(package.runner(key)) for _ in range(max(1, options.batching.instances))]
            infer_funcs = [infer_adapter(runner, io, layout) for runner in runners]
            triton = stack.enter_context(Triton(config=triton_config(options, key), **_statistics_open()))
            triton.bind(
                model_name=name,
                infer_func=infer_funcs if len(infer_funcs) > 1 else infer_funcs[0],
                inputs=tensors(io.inputs, layout),
                outputs=tensors(io.outputs, layout),
                config=config,
                strict=True,
            )
            if options.null_model:
                bind_null_model(triton, options.null_model, tensors(io.inputs, layout), layout)
            triton.run()
            for model in filter(None, (name, options.null_model)):
                _wait_until_ready(options, model)
            ready(
                f"serving {name} ({key}) on http://{options.address}:{options.http_port} and "
                f"grpc {options.address}:{options.grpc_port}; Ctrl-C stops"
            )
            sys.stdout.flush()
            stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
