"""End-to-end runs of `navctl optimize` with real torch, ONNX and ONNX Runtime on tiny models."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from tests.helpers import REPO, SEGFAULT, TINY_MODEL, load_status, run_cli

pytestmark = pytest.mark.slow

STATUS_SCHEMA = json.loads((REPO / "schemas" / "status.schema.json").read_text())


def _states(status: dict) -> dict[str, str]:
    return {k: v["state"] for k, v in status["steps"].items() if v["state"] != "unavailable"}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path, Path]:
    out = tmp_path_factory.mktemp("quickstart")
    ws, pkg = out / "ws", out / "quickstart.nav"
    result = run_cli(
        "optimize", str(REPO / "recipes" / "quickstart.yaml"), "--workspace", str(ws), "--package", str(pkg), "--json"
    )
    return result, ws, pkg


def test_quickstart_end_to_end(quickstart) -> None:
    result, ws, pkg = quickstart
    assert result.returncode == 0, result.stderr
    status = load_status(ws)
    jsonschema.validate(status, STATUS_SCHEMA)
    states = _states(status)
    assert set(states.values()) == {"ok"}, states
    expected = {
        "openvino@openvino-cpu",
        "torchscript-trace@torchscript-cpu",
        "torchscript-script@torchscript-cpu",
        "torch-export@torch-export-cpu",
        "onnx@onnxruntime-cpu",
    }
    for key in expected:
        entry = status["results"][key]
        assert entry["correctness"]["passed"] is True
        assert entry["correctness"]["outputs"]["output_0"]["max_abs"] < 1e-4
        assert entry["verify"]["passed"] is True
        assert entry["profile"] and all(r["throughput"] > 0 and r["requests"] >= 5 for r in entry["profile"])
        assert [r["batch_size"] for r in entry["profile"]][:2] == [1, 2]
    assert status["results"]["source@torch-cpu"]["profile"]
    assert status["selection"]["max-throughput"] in expected
    assert status["selection"]["min-latency"] in expected
    assert status["selection"]["max-throughput-within-latency-budget"] in expected
    batch = {"axis": 0, "symbol": "batch", "min": 1, "typical": 4, "max": 64, "samples_min": 4, "samples_max": 4}
    assert status["inputs"] == [{"name": "input", "dtype": "float32", "shape": [-1, 64], "axes": [batch]}]
    (output,) = status["outputs"]
    assert (output["name"], output["dtype"], output["shape"], output["per_sample"], output["axes"]) == (
        "output_0",
        "float32",
        [-1, 10],
        True,
        [batch],
    )
    assert output["probe"]["reason"] == "" and status["batching"]["batchable"] is True
    assert status["batching"]["probe"].startswith("samples 0 and 1 merged")
    assert status["environment"]["threads"] >= 1
    onnx_step = status["steps"]["export/onnx"]
    assert onnx_step["artifacts"][0]["path"] == "onnx/model.onnx"
    assert (ws / "onnx" / "model.onnx").exists()
    assert (ws / "steps" / "export" / "onnx" / "reproduce.sh").stat().st_mode & 0o111
    assert len(list((ws / "model_input").glob("*.npz"))) == 8
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 0 and doc["selection"] == status["selection"]
    assert "navctl results: quickstart" in result.stderr


def test_quickstart_package_status_and_inspect(quickstart) -> None:
    _, ws, pkg = quickstart
    import zipfile

    with zipfile.ZipFile(pkg) as archive:
        names = archive.namelist()
    assert names[0] == "status.yaml"
    assert "onnx/model.onnx" in names and "model_input/0.npz" in names and "navctl.log" in names
    assert not [n for n in names if n.endswith((".lock", ".pid", ".tmp"))]
    shown = run_cli("status", str(pkg))
    assert (
        shown.returncode == 0
        and "onnx@onnxruntime-cpu" in shown.stdout.replace(" ", "")
        or "onnxruntime-cpu" in shown.stdout
    )
    as_json = json.loads(run_cli("status", str(ws), "--json").stdout)
    assert as_json["selection"] == load_status(ws)["selection"]
    inspected = run_cli("inspect", str(pkg))
    assert inspected.returncode == 0 and "onnx/model.onnx" in inspected.stdout and "output_0" in inspected.stdout
    # a dynamic shape is shown, not taken for a style tag (Rich's markup dropped '[batch, 8]' before)
    assert "[batch, 64]" in inspected.stdout and "[batch, 10]" in inspected.stdout


def test_reproduce_script_reruns_one_step(quickstart) -> None:
    _, ws, _ = quickstart
    script = ws / "steps" / "correctness" / "onnx@onnxruntime-cpu" / "reproduce.sh"
    result = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((script.parent / "result.json").read_text())
    assert record["state"] == "ok" and record["metrics"]["correctness"]["passed"]


def test_rerun_is_cached_only_keeps_the_selection_and_tolerance_change_reruns_only_what_reads_it(project) -> None:
    recipe = project(targets=["torchscript-trace", "onnx"])
    ws = recipe.parent / "ws"
    first = run_cli("optimize", str(recipe))
    assert first.returncode == 0, first.stderr
    ran = load_status(ws)
    assert ran["run"]["exit_code"] == 0 and ran["selection"]["max-throughput"]
    # a run aimed at a sibling workspace writes its own package, never the recipe's (it did: ws_ci/../tiny.nav)
    own = (recipe.parent / "tiny.nav").read_bytes()
    elsewhere = run_cli("optimize", str(recipe), "--workspace", str(recipe.parent / "ws_ci"), "--only", "export/onnx")
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert (recipe.parent / "tiny.nav").read_bytes() == own
    assert f"package: {recipe.parent / 'ws_ci.nav'}" in elsewhere.stderr and "replaced" not in elsewhere.stderr
    second = run_cli("optimize", str(recipe), "--no-package")
    assert second.returncode == 0
    # nothing left behind warns at exit (multiprocessing's resource tracker did)
    assert "leaked semaphore" not in second.stderr
    states = _states(load_status(ws))
    assert {s for k, s in states.items() if k != "select"} == {"cached"}, states
    # --only reruns a subset; the selection is still made from every result in the workspace
    only = run_cli("optimize", str(recipe), "--only", "export/*")
    assert only.returncode == 0, only.stderr
    kept = load_status(ws)
    assert kept["selection"] == ran["selection"] and kept["best_by_batch_size"] == ran["best_by_batch_size"]
    assert set(kept["results"]) == set(ran["results"])
    listing = run_cli("triton", str(recipe.parent / "tiny.nav"), "--repo", str(recipe.parent / "repo"))
    assert listing.returncode == 0, listing.stderr
    text = recipe.read_text().replace("name: tiny", "name: tiny\ncorrectness: {atol: 0.001}")
    recipe.write_text(text)
    third = run_cli("optimize", str(recipe))
    assert third.returncode == 0, third.stderr
    states = _states(load_status(recipe.parent / "ws"))
    rerun = {k for k, s in states.items() if s == "ok" and k != "select"}
    # the batch probe judges merged answers by the recipe's tolerance too; its verdict is unchanged, so the
    # exports and profiles built on model_io.json stay cached
    assert rerun == {"samples", "correctness/torchscript-trace@torchscript-cpu", "correctness/onnx@onnxruntime-cpu"}, (
        states
    )
    forced = run_cli("optimize", str(recipe), "--force")
    assert "cached" not in _states(load_status(recipe.parent / "ws")).values()
    assert forced.returncode == 0
    # replacing the package another workspace wrote is said
    aimed = [
        "--workspace",
        str(recipe.parent / "ws_ci"),
        "--only",
        "export/onnx",
        "--package",
        str(recipe.parent / "tiny.nav"),
    ]
    replaced = run_cli("optimize", str(recipe), *aimed)
    assert replaced.returncode == 0, replaced.stderr
    assert f"replaced {recipe.parent / 'tiny.nav'}, the package of the workspace {ws}" in replaced.stderr


def test_two_inputs_dict_outputs(two_inputs_run: Path) -> None:
    ws = two_inputs_run / "ws"  # recipes/two_inputs.yaml, run once for this and the Triton tests (conftest)
    status = load_status(ws)
    assert [t["name"] for t in status["inputs"]] == ["text", "image"]
    assert [t["name"] for t in status["outputs"]] == ["score", "similarity"]
    assert status["outputs"][0]["shape"] == [-1]
    for key in ("torchscript-trace@torchscript-cpu", "torch-export@torch-export-cpu", "onnx@onnxruntime-cpu"):
        outputs = status["results"][key]["correctness"]["outputs"]
        assert set(outputs) == {"score", "similarity"} and all(o["passed"] for o in outputs.values())
        assert outputs["similarity"]["atol"] == 1e-4 and outputs["score"]["atol"] == 1e-5
    import onnx

    graph = onnx.load(ws / "onnx" / "model.onnx").graph
    assert [i.name for i in graph.input] == ["text", "image"]
    assert [o.name for o in graph.output] == ["score", "similarity"]


FAILING_SCRIPT = (
    TINY_MODEL
    + """

class NotScriptable(Tiny):
    def forward(self, x):
        scale = lambda t: t * 2  # noqa: E731 - torch.jit.script refuses lambdas
        return scale(super().forward(x))


def build_bad():
    torch.manual_seed(0)
    return NotScriptable()
"""
)


def test_one_failing_export_leaves_the_others(project) -> None:
    recipe = project(
        FAILING_SCRIPT,
        model={"entrypoint": "model.py:build_bad"},
        targets=["torchscript-script", "torchscript-trace", "onnx"],
    )
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 1
    status = load_status(recipe.parent / "ws")
    script = status["steps"]["export/torchscript-script"]
    assert script["state"] == "failed"
    assert (
        "lambda" in script["reason"].lower() and "log: steps/export/torchscript-script/export.log" in script["reason"]
    )
    assert status["steps"]["correctness/torchscript-script@torchscript-cpu"]["state"] == "skipped"
    assert status["steps"]["export/onnx"]["state"] == "ok"
    assert status["results"]["onnx@onnxruntime-cpu"]["correctness"]["passed"]
    assert status["selection"]["max-throughput"] in ("onnx@onnxruntime-cpu", "torchscript-trace@torchscript-cpu")
    assert (recipe.parent / "tiny.nav").exists()


def test_segfault_in_export_is_contained(project) -> None:
    recipe = project(SEGFAULT, model={"entrypoint": "model.py:build_segv"}, targets=["torchscript-trace", "onnx"])
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 1, result.stderr
    status = load_status(recipe.parent / "ws")
    trace = status["steps"]["export/torchscript-trace"]
    assert trace["state"] == "crashed" and trace["reason"].startswith("SIGSEGV")
    assert "Segmentation fault" in (recipe.parent / "ws" / trace["log"]).read_text()
    assert status["steps"]["export/onnx"]["state"] == "ok"
    assert status["steps"]["profile/onnx@onnxruntime-cpu"]["state"] == "ok"


HANG = (
    TINY_MODEL
    + """

def build_hang():
    import subprocess, time
    def hang(*args, **kwargs):
        child = subprocess.Popen(["sleep", "600"])
        open("grandchild.pid", "w").write(str(child.pid))
        time.sleep(600)
    torch.jit.trace = hang
    return build()
"""
)


def test_hanging_step_times_out_and_leaves_no_process(project) -> None:
    recipe = project(
        HANG,
        model={"entrypoint": "model.py:build_hang"},
        targets=["torchscript-trace", "torchscript-script"],
        step_timeout="3s",
    )
    started = time.monotonic()
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 1, result.stderr
    ws = recipe.parent / "ws"
    status = load_status(ws)
    trace = status["steps"]["export/torchscript-trace"]
    assert trace["state"] == "timeout" and "step_timeout" in trace["reason"]
    assert 3 <= trace["duration_s"] < 9
    step_pid = int(re.search(r"\(pid (\d+)\)", (ws / trace["log"]).read_text()).group(1))
    grandchild = int((ws / "grandchild.pid").read_text())
    assert not _alive(step_pid) and not _alive(grandchild)
    assert status["steps"]["export/torchscript-script"]["state"] == "ok"
    assert time.monotonic() - started < 90


def test_dataloader_that_raises_names_the_user_line(project) -> None:
    code = TINY_MODEL + "\n\ndef broken():\n    raise ValueError('no data today')\n"
    recipe = project(code, dataloader={"factory": "model.py:broken"})
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 1
    status = load_status(recipe.parent / "ws")
    samples = status["steps"]["samples"]
    assert samples["state"] == "failed"
    assert "ValueError: no data today" in samples["reason"] and "model.py:" in samples["reason"]
    assert status["steps"]["export/onnx"]["state"] == "skipped"
    assert status["steps"]["export/onnx"]["reason"] == "samples failed"


def test_inconsistent_samples_are_named(project) -> None:
    code = TINY_MODEL + "\n\ndef mixed():\n    return [torch.randn(2, 8), torch.randn(2, 8, dtype=torch.float64)]\n"
    recipe = project(code, dataloader={"factory": "model.py:mixed"})
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 1
    reason = load_status(recipe.parent / "ws")["steps"]["samples"]["reason"]
    assert "sample 1, input 'x': dtype float64 differs from sample 0's float32" in reason


def test_ctrl_c_stops_writes_status_and_resumes(project) -> None:
    slow = TINY_MODEL + "\n\ndef slow_build():\n    import time\n    time.sleep(1.5)\n    return build()\n"
    recipe = project(slow, model={"entrypoint": "model.py:slow_build"}, targets=["torchscript-trace", "onnx"])
    ws = recipe.parent / "ws"
    run = subprocess.Popen(
        [sys.executable, "-m", "navctl", "optimize", str(recipe)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if "running" in _states(load_status(ws)).values() and load_status(ws)["steps"]["samples"]["state"] == "ok":
                break
        except (FileNotFoundError, TypeError, KeyError):
            pass
        time.sleep(0.02)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "resume with: navctl optimize" in err
    status = load_status(ws)
    assert status["run"]["state"] == "interrupted"
    assert "pending" in _states(status).values()
    assert not (ws / ".navctl.pid").exists()
    again = run_cli("optimize", str(recipe))
    assert again.returncode == 0, again.stderr
    assert set(_states(load_status(ws)).values()) <= {"ok", "cached"}


def test_only_runs_a_subset_and_what_it_needs(project) -> None:
    recipe = project(targets=["torchscript-trace", "onnx"])
    result = run_cli("optimize", str(recipe), "--only", "export/onnx", "--no-package")
    assert result.returncode == 0, result.stderr
    states = _states(load_status(recipe.parent / "ws"))
    assert states["samples"] == "ok" and states["export/onnx"] == "ok"
    assert states["export/torchscript-trace"] == "pending"
    assert not (recipe.parent / "tiny.nav").exists()
    nothing = run_cli("optimize", str(recipe), "--only", "nope/*")
    assert nothing.returncode == 2 and "matches no step" in nothing.stderr


OOM = (
    TINY_MODEL
    + """

class Greedy(Tiny):
    def forward(self, x):
        if x.shape[0] > 4:
            raise MemoryError("out of memory: pretend the device is full")
        return torch.relu(self.fc(x))


def build_greedy():
    torch.manual_seed(0)
    return Greedy()
"""
)


def test_out_of_memory_ends_the_sweep_not_the_step(project) -> None:
    profiling = {
        "batch_sizes": [1, 2, 4, 8, 16],
        "warmup_s": 0.01,
        "window_ms": 10,
        "windows": 2,
        "stability_pct": 50,
        "max_trials": 3,
    }
    recipe = project(
        OOM, model={"entrypoint": "model.py:build_greedy"}, targets=["torchscript-script"], profiling=profiling
    )
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    status = load_status(recipe.parent / "ws")
    for key in ("source@torch-cpu", "torchscript-script@torchscript-cpu"):
        entry = status["results"][key]
        assert [r["batch_size"] for r in entry["profile"]] == [1, 2, 4]
        assert entry["profile_stopped"].startswith("out of memory at batch size 8")


def test_onnx_file_recipe_with_synthetic_samples(tmp_path: Path) -> None:
    from recipes.models.make_onnx_model import main as make_model

    make_model()
    ws = tmp_path / "ws"
    result = run_cli(
        "optimize",
        str(REPO / "recipes" / "onnx_file.yaml"),
        "--workspace",
        str(ws),
        "--package",
        str(tmp_path / "o.nav"),
    )
    assert result.returncode == 0, result.stderr
    status = load_status(ws)
    assert [(t["name"], t["dtype"], t["shape"]) for t in status["inputs"]] == [("features", "float32", [-1, 16])]
    assert [(a["symbol"], a["min"], a["max"]) for a in status["inputs"][0]["axes"]] == [("batch", 1, 64)]
    assert status["results"]["onnx@onnxruntime-cpu"]["correctness"]["outputs"]["scores"]["max_abs"] == 0.0
    assert [r["batch_size"] for r in status["results"]["onnx@onnxruntime-cpu"]["profile"]] == [1, 16]


def test_an_onnx_files_own_dynamic_axis_stays_dynamic_with_random_samples(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    # y = mean over T of x [B, T, 5]: random samples hold T = 1, which the run fixed the axis at before
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0)],
        "seq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 5])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "seq.onnx"))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: seq\nframework: onnx\nmodel: {path: seq.onnx}\ntargets: [onnx]\nworkspace: ws\n")
    result = run_cli("optimize", str(recipe), "--no-package")
    assert result.returncode == 0, result.stderr
    status = load_status(tmp_path / "ws")
    assert status["inputs"][0]["shape"] == [-1, -1, 5]
    assert [(a["axis"], a["min"], a["max"]) for a in status["inputs"][0]["axes"]][1] == (1, 1, 1)
    log = (tmp_path / "ws" / "steps" / "samples" / "samples.log").read_text()
    assert "random samples: 'x' axis 1 dynamic in the model, checked at size 1 only" in log


def test_python_api_runs_the_same_engine(project) -> None:
    recipe = project()
    code = (
        "import navctl, sys\n"
        f"out = navctl.optimize({str(recipe)!r}, workspace={str(recipe.parent / 'api_ws')!r}, "
        "targets=['torchscript-trace'])\n"
        "print(out.exit_code, out.status.steps['export/torchscript-trace'].state, out.package.name)\n"
    )
    (recipe.parent / "tiny.nav").write_bytes(b"the recipe's own package")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env={**os.environ}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "ok", "api_ws.nav"]  # named after the workspace, beside it
    assert (recipe.parent / "tiny.nav").read_bytes() == b"the recipe's own package"


STRUCTURED = (
    TINY_MODEL
    + """
from dataclasses import dataclass


@dataclass
class Output:  # like a Hugging Face ModelOutput: not a pytree torch.export can save as such
    logits: torch.Tensor
    extras: dict


class Structured(Tiny):
    def forward(self, x, scale):
        y = torch.relu(self.fc(x)) * scale
        return Output(logits=y, extras={"sum": y.sum(-1), "inner": {"max": y.max(-1).values}})


def build_structured():
    torch.manual_seed(0)
    return Structured()


def structured_samples():
    g = torch.Generator().manual_seed(0)
    return [{"x": torch.randn(b, 8, generator=g), "scale": torch.full((b, 1), 2.0)} for b in (2, 3)]
"""
)


def test_structured_outputs_and_keyword_inputs_in_every_format(project) -> None:
    recipe = project(
        STRUCTURED,
        model={"entrypoint": "model.py:build_structured"},
        dataloader={"factory": "model.py:structured_samples"},
        targets=["torchscript-trace", "torch-export", "onnx"],
    )
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    status = load_status(recipe.parent / "ws")
    assert [t["name"] for t in status["outputs"]] == ["logits", "extras.sum", "extras.inner.max"]
    for key in ("torchscript-trace@torchscript-cpu", "torch-export@torch-export-cpu", "onnx@onnxruntime-cpu"):
        outputs = status["results"][key]["correctness"]["outputs"]
        assert set(outputs) == {"logits", "extras.sum", "extras.inner.max"} and all(
            o["passed"] for o in outputs.values()
        )
    # the ExportedProgram loads in a process that never imported the model's code
    code = (
        "import torch, sys; m = torch.export.load(sys.argv[1]).module(); "
        "print(len(m(torch.ones(4, 8), torch.ones(4, 1))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code, str(recipe.parent / "ws" / "torch-export" / "model.pt2")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0 and loaded.stdout.strip() == "3", loaded.stderr
