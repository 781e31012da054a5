"""A member of a side-by-side profiling session (navctl.profiling.interleave): its runner in a forked
child process of the session, answering load, warm-up and measurement commands over a pipe."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Any

import numpy as np

from navctl.contract.feeds import feed_at
from navctl.contract.shapes import GridShape
from navctl.contract.tensors import ModelIO
from navctl.engine.signals import die_with_parent
from navctl.plan import registry
from navctl.profiling.interleave import MemberFailed
from navctl.profiling.measure import run_window
from navctl.steps.child import StepContext, peak_rss_mb, seed_everything, set_threads
from navctl.steps.common import runner_for


def feed_for(io: ModelIO, inputs: list[dict[str, np.ndarray]], shape: GridShape, size: int) -> dict[str, np.ndarray]:
    # samples whose other axes differ (e.g. sequence length) never share a batch: feed_at takes one shape
    return feed_at(inputs, io.inputs, shape, size if io.batching else None, io.batch_axis)


class RunnerProcess:
    """One member of an interleaved session: its runner lives in a forked child, so a runner that
    crashes ends its own measurements only, and runtimes never share a process's thread pools."""

    def __init__(
        self,
        ctx: StepContext,
        io: ModelIO,
        inputs: list[dict[str, np.ndarray]],
        shapes: list[GridShape],
        warm: tuple[int, float],
        timeout_s: float | None = None,
    ) -> None:
        """`timeout_s`: a call unanswered for this long (the recipe's step_timeout) ends this member only:
        a model that hangs at one batch size would otherwise hold the session until its own deadline,
        which takes every member's figures with it."""
        import multiprocessing

        self.key = registry.result_key(ctx.spec.format or "", ctx.spec.runner or "")
        self.conn, child = multiprocessing.Pipe()
        session = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # the child: load, then answer commands until told to stop
            # dies with the session even while stopped between turns (SIGKILL reaches stopped processes)
            die_with_parent()
            if os.getppid() != session:
                os._exit(1)
            self.conn.close()
            code = 0
            try:
                serve_runner(child, ctx, io, inputs, shapes)
            except BaseException:  # noqa: BLE001 - the parent sees the closed pipe
                code = 1
            finally:
                os._exit(code)
        child.close()
        self.timeout_s = timeout_s
        self.error = ""
        self.shape = 0
        self.peak_rss_mb: float | None = None
        # Loading and the first warm-up are not measured: every member loads and warms up at the first
        # batch size at once (overlapping on the cores), and `loaded()` collects the answers.
        self._warm_size: int | None = warm[0]
        try:
            self._send("load", *warm, 0)
        except MemberFailed as exc:
            self.error = str(exc)

    def use_shape(self, index: int) -> None:
        if index != self.shape:
            self.shape, self._warm_size = index, None

    def loaded(self, sharing: int = 1) -> None:
        """Collect the load's answer; `sharing` members load at once, sharing the cores, so each load may
        take that many step timeouts (a slow first load of a big model is no hang)."""
        if self.error:
            return
        try:
            self._receive("load", sharing)
        except MemberFailed as exc:
            self.error = str(exc)

    def _call(self, *message: Any) -> Any:
        self._send(*message)
        return self._receive(message[0])

    def _send(self, *message: Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)
        try:
            self.conn.send(message)
        except (EOFError, OSError):
            raise MemberFailed(f"the runner process died ({self._exit_reason()})") from None

    def _receive(self, command: str, sharing: int = 1) -> Any:
        # Between its turns a runner's process is stopped (SIGSTOP): runtimes keep worker threads
        # spinning after a call (Intel OpenMP for 200 ms), which would steal the cores from the runner
        # being measured. Stopped, they cost nothing; resumed, they behave as in any server.
        try:
            limit = self.timeout_s * sharing if self.timeout_s is not None else None
            if limit is not None and not self.conn.poll(limit):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                raise MemberFailed(f"no answer within {limit:g}s (step_timeout); the runner was stopped")
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            raise MemberFailed(f"the runner process died ({self._exit_reason()})") from None
        finally:
            if command != "stop":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGSTOP)
        if kind == "error":
            raise MemberFailed(value)
        return value

    def _exit_reason(self) -> str:
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            return "exit unknown"
        code = os.waitstatus_to_exitcode(status)
        return signal.Signals(-code).name if code < 0 else f"exit code {code}"

    def warmup(self, batch_size: int, seconds: float) -> None:
        if batch_size == self._warm_size:  # warmed up while loading: one call, as between sizes
            self._warm_size, seconds = None, 0.0
        self._call("warmup", batch_size, seconds, self.shape)

    def window(self, batch_size: int, seconds: float) -> list[float]:
        return self._call("window", batch_size, seconds, self.shape)

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError, MemberFailed):
            self.peak_rss_mb = self._call("stop")
        self.conn.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def serve_runner(
    conn, ctx: StepContext, io: ModelIO, inputs: list[dict[str, np.ndarray]], shapes: list[GridShape]
) -> None:
    runner = None
    feeds: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    while True:
        message = conn.recv()
        kind = message[0]
        if kind == "stop":
            conn.send(("ok", peak_rss_mb()))
            break
        try:
            if kind == "load":
                set_threads(ctx.spec.threads)
                seed_everything(ctx.spec.seed)
                runner = runner_for(ctx, ctx.spec.runner, io)
                runner.load()
                kind = "warmup"  # then warm up at the size and for the time the message gives
            size, seconds, shape = message[1], message[2], message[3]
            if (shape, size) not in feeds:
                feeds[(shape, size)] = feed_for(io, inputs, shapes[shape], size)
            feed = feeds[(shape, size)]
            clock = time.perf_counter
            if kind == "warmup":
                until = clock() + seconds
                runner.infer(feed)  # at least once: the first call at a new shape is slow
                while clock() < until:
                    runner.infer(feed)
                conn.send(("ok", None))
            else:
                conn.send(("ok", run_window(lambda r=runner, f=feed: r.infer(f), seconds)))
        except Exception as exc:  # noqa: BLE001 - reported to the coordinator, which records it
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    if runner is not None:
        runner.close()
