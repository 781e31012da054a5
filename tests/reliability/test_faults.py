"""Faults inside steps: each ends in a clear state and reason, the other formats carry on, and no
process is left behind."""

from __future__ import annotations

import pytest

from tests.helpers import TINY_MODEL, load_status, run_cli, wait_no_leftovers

pytestmark = pytest.mark.slow

TRACE, SCRIPT = "export/torchscript-trace", "export/torchscript-script"


def _patch_trace(body: str) -> str:
    """A model whose TorchScript tracing misbehaves as `body` says (only in the process that traces)."""
    return (
        TINY_MODEL
        + f"""

def build_faulty():
    def faulty(*args, **kwargs):
{body}
    torch.jit.trace = faulty
    return build()
"""
    )


NAN_WHEN_SCRIPTED = (
    TINY_MODEL
    + """

class NanWhenScripted(Tiny):
    def forward(self, x):
        y = torch.relu(self.fc(x))
        if torch.jit.is_scripting():
            y = y * float("nan")
        return y


def build_faulty():
    torch.manual_seed(0)
    return NanWhenScripted()
"""
)

FAULTS = {
    # name: (model code, recipe overrides, step that must fail, its state, reason fragment, steps still ok)
    "entrypoint raises": (
        TINY_MODEL + "\n\ndef build_faulty():\n    raise RuntimeError('weights missing')\n",
        {},
        "samples",
        "failed",
        "RuntimeError: weights missing (model.py:",
        [],
    ),
    "entrypoint returns no model": (
        TINY_MODEL + "\n\ndef build_faulty():\n    return 42\n",
        {},
        "samples",
        "failed",
        "returned a int, not a callable model",
        [],
    ),
    "dataloader raises": (
        TINY_MODEL + "\n\ndef build_faulty():\n    return build()\n\ndef bad_data():\n    raise OSError('disk gone')\n",
        {"dataloader": {"factory": "model.py:bad_data"}},
        "samples",
        "failed",
        "OSError: disk gone",
        [],
    ),
    "samples disagree": (
        TINY_MODEL + "\n\ndef build_faulty():\n    return build()\n\ndef ragged():\n"
        "    return [torch.randn(2, 8), torch.randn(2, 8, 1)]\n",
        {"dataloader": {"factory": "model.py:ragged"}},
        "samples",
        "failed",
        "sample 1, input 'x': rank 3 (shape [2, 8, 1]) differs from sample 0's rank 2",
        [],
    ),
    "source outputs NaN": (
        TINY_MODEL + "\n\nclass Nan(Tiny):\n    def forward(self, x):\n        return self.fc(x) * float('nan')\n"
        "\n\ndef build_faulty():\n    return Nan()\n",
        {},
        "samples",
        "failed",
        "output 'output_0' holds NaN on sample 0",
        [],
    ),
    "converted format outputs NaN": (
        NAN_WHEN_SCRIPTED,
        {},
        "correctness/torchscript-script@torchscript-cpu",
        "failed",
        "output 'output_0': sample 0: output holds NaN",
        [TRACE, "correctness/torchscript-trace@torchscript-cpu"],
    ),
    "segfault": (
        _patch_trace("        import ctypes\n        ctypes.string_at(0)"),
        {},
        TRACE,
        "crashed",
        "SIGSEGV",
        [SCRIPT, "profile/torchscript-script@torchscript-cpu"],
    ),
    "hang past the timeout": (
        _patch_trace("        import time\n        time.sleep(600)"),
        {"step_timeout": "2s"},
        TRACE,
        "timeout",
        "no result after 2s (step_timeout)",
        [SCRIPT],
    ),
    "memory growth stopped by RLIMIT_AS": (
        _patch_trace(
            "        import numpy as np\n        hoard = []\n        while True:\n"
            "            hoard.append(np.empty(1 << 28, dtype=np.uint8))"
        ),
        {"step_memory_limit": "6GiB"},
        TRACE,
        "failed",
        "step_memory_limit of 6 GiB",
        [SCRIPT],
    ),
    "step killed with SIGKILL": (
        _patch_trace("        import os, signal\n        os.kill(os.getpid(), signal.SIGKILL)"),
        {},
        TRACE,
        "crashed",
        "SIGKILL",
        [SCRIPT, "correctness/torchscript-script@torchscript-cpu"],
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_is_contained(fault: str, project) -> None:
    code, overrides, step, state, fragment, still_ok = FAULTS[fault]
    recipe = project(
        code,
        model={"entrypoint": "model.py:build_faulty"},
        targets=["torchscript-trace", "torchscript-script"],
        **overrides,
    )
    result = run_cli("optimize", str(recipe), timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    ws = recipe.parent / "ws"
    status = load_status(ws)
    record = status["steps"][step]
    assert record["state"] == state, record
    assert fragment in record["reason"], record["reason"]
    assert record["log"] and (ws / record["log"]).exists()
    for other in still_ok:
        assert status["steps"][other]["state"] == "ok", (other, status["steps"][other])
    if step == "samples":
        assert all(
            s["state"] in ("skipped", "unavailable")
            for k, s in status["steps"].items()
            if k not in ("samples", "select")
        )
    assert status["run"]["state"] == "finished"
    # a package only when something succeeded (a failed source model leaves nothing worth packing)
    assert (recipe.parent / "tiny.nav").exists() == (step != "samples")
    assert wait_no_leftovers(ws) == []


HANGS_AT_EIGHT = (
    TINY_MODEL
    + """

class HangsAtEight(Tiny):
    def forward(self, x):
        if x.shape[0] >= 8 and not torch.jit.is_tracing():  # eager only; the batch probe merges 2 + 2
            import time
            time.sleep(600)
        return super().forward(x)


def build_hangs():
    torch.manual_seed(0)
    return HangsAtEight()
"""
)


def test_a_runner_that_hangs_in_the_side_by_side_session_ends_alone(project) -> None:
    # the source hangs at batch 8: the session stops it after step_timeout and the others go on
    recipe = project(
        HANGS_AT_EIGHT,
        model={"entrypoint": "model.py:build_hangs"},
        targets=["torchscript-trace"],
        profiling={"batch_sizes": [1, 2, 8], "window_ms": 5, "windows": 2},
        step_timeout="4s",
    )
    result = run_cli("optimize", str(recipe), timeout=120)
    assert result.returncode == 0, result.stderr
    status = load_status(recipe.parent / "ws")
    source, trace = status["results"]["source@torch-cpu"], status["results"]["torchscript-trace@torchscript-cpu"]
    assert source["profile_stopped"] == (
        "stopped by an error at batch size 8: no answer within 4s (step_timeout); the runner was stopped"
    )
    assert [r["batch_size"] for r in source["profile"]] == [1, 2]
    assert [r["batch_size"] for r in trace["profile"]] == [1, 2, 8]
    assert status["selection"]["max-throughput"] == "torchscript-trace@torchscript-cpu"
    said = " ".join(result.stderr.split())
    assert "source@torch-cpu: profiling stopped by an error at batch size 8: no answer within 4s" in said
    assert wait_no_leftovers(recipe.parent / "ws") == []
