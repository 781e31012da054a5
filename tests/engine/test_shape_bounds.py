"""Correctness at the bounds of the shape ranges, end to end: a trace that only holds at the samples'
batch size passed when every sample had that size; the batch-1 sample navctl makes catches it."""

from __future__ import annotations

import pytest

from tests.helpers import load_status, run_cli

pytestmark = pytest.mark.slow

BATCH_BAKED_IN = """
import torch


class Scale(torch.nn.Module):
    def forward(self, x):
        # int() of a size: the trace keeps 2 as a constant, so at batch 1 it answers two rows
        return x * torch.ones(int(x.shape[0]), 1)


def build():
    return Scale()


def samples():
    return [torch.randn(2, 8, generator=torch.Generator().manual_seed(i)) for i in range(2)]
"""


def test_a_trace_specialised_to_the_samples_batch_fails_at_the_min_bound(project) -> None:
    recipe = project(BATCH_BAKED_IN, targets=["torchscript-trace"], profiling={"enabled": False})
    result = run_cli("optimize", str(recipe), "--no-package")
    assert result.returncode == 1, result.stderr
    status = load_status(recipe.parent / "ws")
    check = status["results"]["torchscript-trace@torchscript-cpu"]["correctness"]
    assert not check["passed"]
    assert check["outputs"]["output_0"]["passed"]  # the recorded samples alone would have passed it
    (bound,) = check["bounds"]
    assert (bound["name"], bound["shapes"], bound["passed"]) == ("min", {"x": [1, 8]}, False)
    assert check["shapes"] == [{"x": [2, 8]}, {"x": [1, 8]}]
    reason = status["steps"]["correctness/torchscript-trace@torchscript-cpu"]["reason"]
    assert "at the min bound {'x': [1, 8]}: output 'output_0': sample 0: shape [2, 8], source gives [1, 8]" in reason
