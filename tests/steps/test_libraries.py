"""The user's libraries in runner processes: runners of artifacts that may name operators a library
registers at import (TorchScript, torch.export, SavedModel) import the spec's list first (that the
executor puts the annex's list in every spec: tests/engine/test_executor_fake.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from navctl.steps.child import StepContext
from navctl.steps.common import runner_for
from tests.helpers import step_spec

PROBE = "navctl_probe_ops"


def test_runners_of_artifacts_that_may_name_library_ops_import_the_libraries_first(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / f"{PROBE}.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, PROBE, raising=False)

    def runner(name: str, fmt: str) -> None:
        spec = step_spec(
            f"correctness/{fmt}@{name}",
            format=fmt,
            runner=name,
            recipe_dir=str(tmp_path),
            libraries=[PROBE, "not_installed_lib"],
        )
        runner_for(StepContext(spec=spec, workspace=tmp_path), name, None)

    runner("onnxruntime-cpu", "onnx")  # ONNX Runtime's custom ops come from elsewhere
    assert PROBE not in sys.modules
    runner("torchscript-cpu", "torchscript-trace")  # a missing library is logged, not fatal
    assert PROBE in sys.modules
    monkeypatch.delitem(sys.modules, PROBE)
