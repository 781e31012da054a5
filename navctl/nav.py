"""The Python API over a .nav package: `navctl.load("model.nav")`.

with navctl.load("quickstart.nav") as package:
    print(package.best("min-latency"))
    with package.runner() as runner:          # the max-throughput choice
        outputs = runner.infer({"input": batch})
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from navctl.contract.libraries import import_libraries
from navctl.contract.step import MODEL_IO_FILE, SPEC_FILE, ModelRef
from navctl.contract.tensors import ModelIO, load_samples
from navctl.errors import EnvironmentProblem, PackageError, UsageError
from navctl.package import extract_package
from navctl.plan import registry
from navctl.plan.environment import module_available
from navctl.status import Status, read_status


class NavPackage:
    """An unpacked package: its status, its model signature, and runners for its formats."""

    def __init__(self, path: str | Path, workdir: str | Path | None = None) -> None:
        self.path = Path(path)
        self._temporary = workdir is None
        self.root = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="navctl-"))
        try:
            extract_package(self.path, self.root)
            self.status: Status = read_status(self.root)
            io_file = self.root / MODEL_IO_FILE
            if not io_file.exists():
                raise PackageError(f"{self.path}: no model_io.json inside; the run never recorded its samples")
            self.io = ModelIO.read(io_file)
        except BaseException:
            self.close()
            raise

    # ----- what is inside -------------------------------------------------------------------------------
    @property
    def candidates(self) -> list[str]:
        """format@runner keys that passed correctness (and verification where the recipe verified)."""
        from navctl.profiling.selection import candidates

        verified = any(r.verify is not None for r in self.status.results.values())
        return sorted(candidates(self.status.results, verified))

    def best(self, strategy: str = "max-throughput") -> str:
        choice = self.status.selection.get(strategy)
        if strategy not in self.status.selection:
            known = ", ".join(self.status.selection) or "none"
            raise UsageError(f"{self.path}: no selection for strategy '{strategy}' (selected: {known})")
        if choice is None:
            raise UsageError(f"{self.path}: strategy '{strategy}' found no correct candidate")
        return choice

    def samples(self) -> tuple[list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
        """The recorded inputs and the source model's outputs."""
        return load_samples(self.root, self.io)

    def artifact(self, fmt: str) -> Path:
        if fmt not in registry.FORMATS:
            raise UsageError(f"'{fmt}' is not a format a package can hold")
        path = self.root / registry.FORMATS[fmt].artifact
        if not path.exists():
            held = sorted(name for name, f in registry.FORMATS.items() if (self.root / f.artifact).exists())
            raise UsageError(
                f"{self.path} holds no {fmt} model (a package written with package_formats: selected keeps only "
                f"the selected formats); it holds: {', '.join(held) or 'no format'}"
            )
        return path

    def _spec(self, key: str) -> dict:
        """The spec.json the run profiled (else checked) this format@runner with; {} when neither is held."""
        for kind in ("profile", "correctness"):
            spec = self.root / "steps" / kind / key / SPEC_FILE
            if spec.exists():
                return json.loads(spec.read_text())
        return {}

    def runner_options(self, key: str) -> dict:
        """The runner options the run profiled this format@runner with (from its spec.json)."""
        return self._spec(key).get("options", {}).get("runner", {})

    def libraries(self, key: str) -> list[str]:
        """The installed libraries the user's files import (`module` or `module:names`), as the run's step
        specs recorded them; [] for a runtime whose artifacts cannot name operators a library registers."""
        runtime, _ = registry.split_runner(registry.split_key(key)[1])
        if runtime not in registry.RUNTIMES or not registry.RUNTIMES[runtime].user_ops:
            return []
        return list(self._spec(key).get("libraries", []))

    def runner(
        self,
        key: str | None = None,
        *,
        strategy: str = "max-throughput",
        device: str | None = None,
        threads: int | None = None,
    ):
        """A runner for `key` (format@runner), else for the strategy's choice; use it as a context manager."""
        from navctl.runners import RunnerConfig, create_runner

        key = key or self.best(strategy)
        fmt, runner = registry.split_key(key)
        if fmt == registry.SOURCE:
            raise UsageError("the source model is code, not a file in the package; pick an exported format")
        runtime, run_device = registry.split_runner(runner)
        device = device or run_device
        name = registry.runner_name(runtime, device)
        artifact = self.artifact(fmt)
        missing = [p for p in registry.RUNTIMES[runtime].packages if not module_available(p)]
        if missing:
            raise EnvironmentProblem(f"running {key} {registry.install_hint(missing)}")
        # a TorchScript program or SavedModel may name operators a library registers when imported
        # (torchvision::nms): the step processes imported them, so the runner given here does too
        import_libraries(self.libraries(key), _warn)
        config = RunnerConfig(
            artifact=artifact,
            io=self.io,
            device=device,
            threads=threads or self.status.environment.threads,
            model=ModelRef(),
            recipe_dir=self.root,
            options=self.runner_options(key),
            format=fmt,
        )
        return create_runner(name, config)

    # ----- lifetime ------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._temporary:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> NavPackage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _warn(line: str) -> None:
    warnings.warn(line, RuntimeWarning, stacklevel=3)


def load(path: str | Path, workdir: str | Path | None = None) -> NavPackage:
    """Open a .nav package (unpacked safely into `workdir`, or a temporary folder removed on close)."""
    return NavPackage(path, workdir)
