"""GPU formats on a CPU machine: honestly unavailable, never a crash. The code paths that also run on a
CPU (torch.compile, AOTInductor, autocast, profile derivation) are exercised here on the CPU as a
stand-in for CUDA; TensorRT itself cannot run here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from navctl.contract.records import TensorMeta
from navctl.contract.step import ModelRef
from navctl.contract.tensors import ModelIO
from navctl.plan.expand import Machine, expand
from navctl.recipe.models import Recipe
from navctl.runners.base import RunnerConfig
from tests.helpers import REPO, load_status, run_cli, step_spec

RECIPES = REPO / "recipes"
MLP_IO = ModelIO(
    inputs=[TensorMeta(name="input", dtype="float32", shape=[-1, 64])],
    outputs=[TensorMeta(name="output_0", dtype="float32", shape=[-1, 10])],
    call="positional",
    batching=True,
    batch_axis=0,
    samples=1,
)


def _recipe(**fields) -> Recipe:
    data = {
        "name": "g",
        "framework": "torch",
        "model": {"entrypoint": "m.py:build"},
        "dataloader": {"factory": "m.py:samples"},
        "targets": ["onnx", "tensorrt", "torch-aoti"],
    }
    data.update(fields)
    return Recipe.model_validate(data)


def test_plan_with_fake_cuda_names_the_missing_tensorrt() -> None:
    machine = Machine(
        cuda=True,
        modules={"torch": True, "onnx": True, "onnxruntime": True, "polygraphy": True, "tensorrt": False},
        distributions={"onnxruntime-gpu": False},
    )
    plan = expand(_recipe(), machine)
    assert plan.device == "cuda"
    assert "needs tensorrt (pip install 'navctl[gpu]')" in plan.step("convert/trt-fp16").reason
    assert "needs onnxruntime-gpu" in plan.step("correctness/onnx@onnxruntime-cuda").reason
    assert plan.step("convert/torch-aoti").available
    assert plan.step("profile/source@torch-compile-cuda").available


@pytest.mark.slow
def test_gpu_steps_are_unavailable_on_cpu_and_the_run_still_passes(project) -> None:
    recipe = project(
        targets=["onnx", "tensorrt", "torch-aoti"], device="auto", tensorrt={"precisions": ["fp16", "int8"]}
    )
    result = run_cli("optimize", str(recipe), env={"NAVCTL_FAKE_CUDA": "0"})
    assert result.returncode == 0, result.stderr
    steps = load_status(recipe.parent / "ws")["steps"]
    assert steps["convert/trt-fp16"]["state"] == "unavailable"
    assert steps["convert/trt-fp16"]["reason"] == "needs a CUDA device"
    assert steps["convert/trt-int8"]["state"] == "unavailable"
    assert steps["convert/torch-aoti"]["reason"] == "needs a CUDA device"
    assert steps["profile/source@torch-compile-cuda"]["reason"] == "cuda runner: no CUDA device is visible"
    assert steps["correctness/onnx@onnxruntime-cpu"]["state"] == "ok"


def test_trt_profile_from_samples() -> None:
    from navctl.steps.convert_tensorrt import derive_profile

    io = ModelIO(
        inputs=[
            TensorMeta(name="tokens", dtype="int64", shape=[-1, -1]),
            TensorMeta(name="image", dtype="float32", shape=[-1, 3, 8]),
        ],
        outputs=[],
        call="keyword",
        batching=True,
        batch_axis=0,
        samples=2,
    )
    samples = [
        {"tokens": np.zeros((2, 5)), "image": np.zeros((2, 3, 8))},
        {"tokens": np.zeros((4, 9)), "image": np.zeros((4, 3, 8))},
    ]
    assert derive_profile(io, samples, max_batch=16) == {
        "tokens": ([1, 5], [4, 9], [16, 9]),
        "image": ([1, 3, 8], [4, 3, 8], [16, 3, 8]),
    }


def _mlp_config(tmp_path: Path, **options) -> RunnerConfig:
    return RunnerConfig(
        artifact=None,
        io=MLP_IO,
        device="cpu",
        threads=2,
        model=ModelRef(entrypoint="models/mlp.py:build"),
        recipe_dir=RECIPES,
        options=options,
    )


def _reference(tmp_path: Path, feed) -> np.ndarray:
    from navctl.runners.torch_runners import TorchEagerRunner

    with TorchEagerRunner(_mlp_config(tmp_path)) as eager:
        return eager.infer(feed)["output_0"]


def test_autocast_bf16_on_cpu_stand_in(tmp_path: Path) -> None:
    from navctl.runners.torch_runners import TorchEagerRunner

    feed = {"input": np.random.default_rng(0).standard_normal((4, 64)).astype(np.float32)}
    with TorchEagerRunner(_mlp_config(tmp_path, autocast="bf16")) as runner:
        out = runner.infer(feed)["output_0"]
    reference = _reference(tmp_path, feed)
    assert out.dtype == np.float32 and out.shape == (4, 10)
    assert 0 < np.abs(out - reference).max() < 0.1  # reduced precision: close, not identical


@pytest.mark.slow
def test_torch_compile_runner_on_cpu_stand_in(tmp_path: Path) -> None:
    from navctl.runners.torch_runners import TorchCompileRunner

    rng = np.random.default_rng(1)
    with TorchCompileRunner(_mlp_config(tmp_path)) as runner:
        for batch in (4, 9):
            feed = {"input": rng.standard_normal((batch, 64)).astype(np.float32)}
            assert np.allclose(runner.infer(feed)["output_0"], _reference(tmp_path, feed), atol=1e-5)


@pytest.mark.slow
def test_aoti_package_on_cpu_stand_in(tmp_path: Path) -> None:
    import torch

    from navctl.runners.torch_runners import AotiRunner, build_torch_model
    from navctl.steps.child import StepContext
    from navctl.steps.export_torch import aoti_package

    model = build_torch_model(type("R", (), {"config": _mlp_config(tmp_path)})())
    program = torch.export.export(model, (torch.ones(2, 64),), dynamic_shapes=({0: torch.export.Dim.DYNAMIC},))
    (tmp_path / "torch-export").mkdir()
    torch.export.save(program, tmp_path / "torch-export" / "model.pt2")
    spec = step_spec(
        "convert/torch-aoti",
        recipe_dir=str(RECIPES),
        artifact="torch-aoti/model.pt2",
        source_artifact="torch-export/model.pt2",
    )
    ctx = StepContext(spec=spec, workspace=tmp_path)
    aoti_package(ctx)
    assert ctx.artifacts == ["torch-aoti/model.pt2"]
    config = _mlp_config(tmp_path)
    config.artifact = tmp_path / "torch-aoti" / "model.pt2"
    rng = np.random.default_rng(2)
    with AotiRunner(config) as runner:
        for batch in (1, 7):
            feed = {"input": rng.standard_normal((batch, 64)).astype(np.float32)}
            assert np.allclose(runner.infer(feed)["output_0"], _reference(tmp_path, feed), atol=1e-5)
