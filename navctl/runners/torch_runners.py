"""PyTorch runners: eager (the source), TorchScript and ExportedProgram, on CPU or CUDA."""

from __future__ import annotations

import numpy as np
import torch

from navctl.contract.loading import load_callable
from navctl.contract.tensors import flatten_outputs, to_numpy
from navctl.runners.base import Runner


def build_torch_model(runner: Runner) -> torch.nn.Module:
    """Call the recipe's model entrypoint; the result goes to eval mode on the runner's device."""
    ref = runner.config.model
    factory = load_callable(ref.entrypoint, runner.config.recipe_dir)
    model = factory(**ref.kwargs)
    if not callable(model):
        raise TypeError(f"the model entrypoint returned a {type(model).__name__}, not a callable model")
    if isinstance(model, torch.nn.Module):
        model = model.eval().to(torch_device(runner.config.device))
    return model


def torch_device(device: str) -> torch.device:
    return torch.device("cuda" if device == "cuda" else "cpu")


class _TorchRunner(Runner):
    model: torch.nn.Module
    # the outputs the last call returned as None (left out of the flat outputs): the samples step notes them
    skipped_outputs: list[str] = []

    @property
    def positional(self) -> bool:
        """Exported formats take their inputs by position (see export_torch.FlatOutputs)."""
        return False

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        device = torch_device(self.config.device)
        tensors = {k: torch.from_numpy(np.asarray(v, order="C")).to(device) for k, v in feed.items()}
        with torch.inference_mode(), self._autocast():
            if self.config.io is None or self.positional or self.config.io.call == "positional":
                names = self.config.io.input_names if self.config.io else list(feed)
                out = self.model(*[tensors[n] for n in names])
            else:
                out = self.model(**tensors)
        return self.name_outputs(out)

    def _autocast(self):
        """fp16/bf16 autocast when the recipe's torch.autocast asks for it (outputs compared as float)."""
        import contextlib

        precision = self.config.options.get("autocast", "none")
        if precision == "none":
            return contextlib.nullcontext()
        dtype = torch.float16 if precision == "fp16" else torch.bfloat16
        return torch.autocast(device_type="cuda" if self.config.device == "cuda" else "cpu", dtype=dtype)

    def name_outputs(self, out: object) -> dict[str, np.ndarray]:
        self.skipped_outputs = []
        flat = flatten_outputs(out, skipped=self.skipped_outputs)
        io = self.config.io
        if io is not None and len(flat) == len(io.outputs):
            # the recipe may have renamed outputs; order is what ties them together
            return {meta.name: to_numpy(value) for meta, (_, value) in zip(io.outputs, flat, strict=True)}
        return {name: to_numpy(value) for name, value in flat}


class TorchEagerRunner(_TorchRunner):
    def load_impl(self) -> None:
        self.model = build_torch_model(self)


class TorchCompileRunner(_TorchRunner):
    """The source model under torch.compile (inductor); the first call at a new shape compiles."""

    def load_impl(self) -> None:
        mode = self.config.options.get("compile_mode", "default")
        self.model = torch.compile(build_torch_model(self), mode=None if mode == "default" else mode)


class AotiRunner(_TorchRunner):
    """An AOTInductor package: compiled ahead of time, loaded without Python model code."""

    positional = True  # type: ignore[assignment]

    def load_impl(self) -> None:
        self.model = torch._inductor.aoti_load_package(str(self.config.artifact))


class TorchScriptRunner(_TorchRunner):
    @property
    def positional(self) -> bool:
        return self.config.format == "torchscript-trace"  # traced through FlatOutputs; scripted as written

    def load_impl(self) -> None:
        self.model = torch.jit.load(str(self.config.artifact), map_location=torch_device(self.config.device))
        self.model.eval()


class TorchExportRunner(_TorchRunner):
    positional = True  # type: ignore[assignment]

    def load_impl(self) -> None:
        program = torch.export.load(str(self.config.artifact))
        self.model = program.module().to(torch_device(self.config.device))
