"""The live progress display on a terminal: it must not redraw while runners are measured."""

from __future__ import annotations

import io

from rich.console import Console

from navctl.plan.models import Plan, PlannedStep
from navctl.report.console import LiveProgress, progress_for
from navctl.status import StepRecord


def _step(step_id: str, **fields) -> PlannedStep:
    return PlannedStep(id=step_id, kind=step_id.split("/")[0], **fields)


def test_the_live_display_pauses_while_profiling_and_comes_back_after() -> None:
    steps = [_step("export/onnx"), _step("profile/onnx@onnxruntime-cpu", exclusive=True), _step("select")]
    plan = Plan.model_construct(steps=steps)
    out = io.StringIO()
    progress = progress_for(Console(file=out, force_terminal=True, color_system=None, width=100), plan)
    assert isinstance(progress, LiveProgress)
    try:
        progress.started(steps[0])
        assert progress.live.is_started
        progress.finished(steps[0], StepRecord(kind="export", state="ok", duration_s=0.1))
        progress.started(steps[1])
        # no refresh thread shares the cores with the measurement
        assert not progress.live.is_started and progress.live._refresh_thread is None
        progress.finished(steps[1], StepRecord(kind="profile", state="ok", duration_s=2.0))
        assert not progress.live.is_started
        progress.started(steps[2])
        assert progress.live.is_started
        progress.finished(steps[2], StepRecord(kind="select", state="ok", duration_s=0.0))
    finally:
        progress.stop()
    text = out.getvalue()
    assert "live display pauses" in text
    assert "ok       profile/onnx@onnxruntime-cpu 2.0s" in text
    assert "[  3/3] ok       select" in text
