"""Triton model repositories from a real package; every config is parsed back into ModelConfig."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import navctl
import navctl.errors
from navctl.cli.main import main
from navctl.contract.records import TensorMeta
from navctl.contract.tensors import ModelIO
from navctl.triton.repository import _backend

pytestmark = pytest.mark.slow
mc = pytest.importorskip("tritonclient.grpc.model_config_pb2")


def _parse(path: Path):
    from google.protobuf import text_format

    return text_format.Parse(path.read_text(), mc.ModelConfig())


@pytest.mark.parametrize(
    ("key", "platform", "backend", "files", "in_name", "out_name"),
    [
        ("onnx@onnxruntime-cpu", "onnxruntime_onnx", "onnxruntime", ["model.onnx"], "x", "output_0"),
        ("torchscript-trace@torchscript-cpu", "pytorch_libtorch", "pytorch", ["model.pt"], "x__0", "output_0__0"),
        ("openvino@openvino-cpu", "", "openvino", ["model.bin", "model.xml"], "x", "output_0"),
        (
            "torch-export@torch-export-cpu",
            "",
            "python",
            ["model.pt2", "model.py", "model_io.json", "runner.json"],
            "x",
            "output_0",
        ),
    ],
)
def test_repository_per_backend(
    tiny_package: Path, tmp_path: Path, key, platform, backend, files, in_name, out_name
) -> None:
    repo = tmp_path / "repo"
    assert main(["triton", str(tiny_package), "--repo", str(repo), "--format", key, "--name", "tiny"]) == 0
    config = _parse(repo / "tiny" / "config.pbtxt")
    assert config.name == "tiny" and config.platform == platform and config.backend == backend
    # the batch axis's range (batching.max_batch_size), not the largest size this format profiled (4)
    assert config.max_batch_size == 64
    assert [(i.name, mc.DataType.Name(i.data_type), list(i.dims)) for i in config.input] == [
        (in_name, "TYPE_FP32", [8])
    ]
    assert [(o.name, list(o.dims)) for o in config.output] == [(out_name, [4])]
    assert list(config.dynamic_batching.preferred_batch_size) == [4]
    assert config.dynamic_batching.max_queue_delay_microseconds == 100
    assert [(g.count, mc.ModelInstanceGroup.Kind.Name(g.kind)) for g in config.instance_group] == [(1, "KIND_CPU")]
    assert sorted(p.name for p in (repo / "tiny" / "1").iterdir()) == files


def test_repository_options(tiny_package: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    args = [
        "triton",
        str(tiny_package),
        "--repo",
        str(repo),
        "--format",
        "onnx@onnxruntime-cpu",
        "--max-batch-size",
        "16",
        "--preferred-batch-size",
        "8",
        "--preferred-batch-size",
        "16",
        "--max-queue-delay-us",
        "500",
        "--instances",
        "3",
        "--kind",
        "gpu",
        "--accelerator",
        "tensorrt",
    ]
    assert main(args) == 0
    config = _parse(repo / "tiny" / "config.pbtxt")
    assert config.max_batch_size == 16
    assert list(config.dynamic_batching.preferred_batch_size) == [8, 16]
    assert config.dynamic_batching.max_queue_delay_microseconds == 500
    assert (
        config.instance_group[0].count == 3
        and mc.ModelInstanceGroup.Kind.Name(config.instance_group[0].kind) == "KIND_GPU"
    )
    assert [a.name for a in config.optimization.execution_accelerators.gpu_execution_accelerator] == ["tensorrt"]
    assert main(["triton", str(tiny_package), "--repo", str(repo), "--no-dynamic-batching", "--name", "plain"]) == 0
    assert not _parse(repo / "plain" / "config.pbtxt").HasField("dynamic_batching")


def test_repository_errors(tiny_package: Path, tmp_path: Path, capsys) -> None:
    repo = tmp_path / "repo"
    assert (
        main(
            [
                "triton",
                str(tiny_package),
                "--repo",
                str(repo),
                "--format",
                "torchscript-trace@torchscript-cpu",
                "--accelerator",
                "openvino",
            ]
        )
        == 2
    )
    assert main(["triton", str(tiny_package), "--repo", str(repo), "--format", "nope@nothing"]) == 2
    assert main(["triton", str(tiny_package), "--repo", str(repo), "--format", "trt-fp16@tensorrt-cuda"]) == 2
    assert main(["triton", str(tiny_package), "--repo", str(repo), "--name", "bad name!"]) == 2
    assert main(["triton", str(tiny_package), "--repo", str(repo), "--preferred-batch-size", "128"]) == 2
    err = capsys.readouterr().err
    assert "applies to ONNX formats" in err and "--format nope@nothing: unknown format 'nope'" in err
    assert "has no results for trt-fp16@tensorrt-cuda" in err and "--name bad name!: a Triton model name" in err
    # the package's own max batch size: the batch axis's range (Triton would refuse the config at load time)
    assert "--preferred-batch-size 128: above the max batch size 64" in err


def test_scripted_dict_outputs_and_keyword_models_use_the_python_backend() -> None:
    meta = TensorMeta(name="t", dtype="float32", shape=[-1, 3])
    keyword = ModelIO(
        inputs=[meta],
        outputs=[meta.model_copy(update={"name": "output_0"})],
        call="keyword",
        batching=True,
        batch_axis=0,
        samples=1,
    )
    assert _backend("torchscript-script", keyword).backend == "python"
    dict_out = keyword.model_copy(update={"call": "positional", "outputs": [meta.model_copy(update={"name": "score"})]})
    assert _backend("torchscript-script", dict_out).backend == "python"
    # traced models take positional inputs and return a flat tuple, whatever the source did
    assert _backend("torchscript-trace", keyword).backend == "pytorch"
    assert _backend("torchscript-trace", dict_out).backend == "pytorch"


def test_python_api_load_best_and_runner(tiny_package: Path) -> None:
    with navctl.load(tiny_package) as package:
        assert package.best("max-throughput") in package.candidates
        assert package.io.input_names == ["x"]
        inputs, reference = package.samples()
        for key in package.candidates:
            with package.runner(key) as runner:
                out = runner.infer(inputs[0])
            assert np.allclose(out["output_0"], reference[0]["output_0"], atol=1e-5), key
        root = package.root
        assert root.exists()
    assert not root.exists()
    with navctl.load(tiny_package) as package, pytest.raises(navctl.errors.UsageError):
        package.runner("source@torch-cpu")


class _Tensor:
    """triton_python_backend_utils.Tensor's part model.py uses."""

    def __init__(self, name: str, array: np.ndarray) -> None:
        self.name, self.array = name, array

    def as_numpy(self) -> np.ndarray:
        return self.array


def test_the_python_backend_model_serves_the_key_it_was_written_for(
    tiny_package: Path, tmp_path: Path, monkeypatch
) -> None:
    """model.py, as Triton's Python backend runs it (its utils module stood in): it reads its key, builds
    the runner of the key's runtime on the instance's device, and answers like the package's runner."""
    import importlib.util
    import sys
    import types

    repo = tmp_path / "repo"
    key = "torch-export@torch-export-cpu"
    assert main(["triton", str(tiny_package), "--repo", str(repo), "--format", key, "--name", "tiny"]) == 0
    requests = {}
    utils = types.SimpleNamespace(
        Tensor=_Tensor,
        InferenceResponse=lambda tensors: {t.name: t.array for t in tensors},
        get_input_tensor_by_name=lambda request, name: _Tensor(name, requests[request][name]),
    )
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", utils)
    spec = importlib.util.spec_from_file_location("tiny_model", repo / "tiny" / "1" / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.TritonPythonModel()
    model.initialize({"model_instance_kind": "CPU"})
    assert model.runner.name == "torch-export-cpu"
    requests["r"] = {"x": np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)}
    [served] = model.execute(["r"])
    model.finalize()
    with navctl.load(tiny_package).runner(key) as runner:
        expected = runner.infer(requests["r"])
    assert list(served) == ["output_0"] and served["output_0"].shape == (3, 4)
    np.testing.assert_allclose(served["output_0"], expected["output_0"], rtol=1e-6, atol=1e-6)
