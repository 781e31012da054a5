"""The runner protocol. Runners hold no timing code: the profiler owns the clock."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from navctl.contract.step import ModelRef
from navctl.contract.tensors import ModelIO
from navctl.plan import registry


@dataclass
class RunnerConfig:
    artifact: Path | None  # the format's file (None for the source model)
    io: ModelIO | None  # None only while the samples step is still learning it
    device: str
    threads: int
    model: ModelRef
    recipe_dir: Path
    options: dict[str, Any] = field(default_factory=dict)
    format: str | None = None  # the format the artifact holds (None for the source model)


class Runner:
    """Base class: `with runner:` loads and closes; `infer(feed)` maps input names to output arrays."""

    name = "runner"

    def __init__(self, config: RunnerConfig) -> None:
        self.config = config
        self.loaded = False

    @staticmethod
    def tuning_variants(threads: int) -> list[dict]:
        """Runner settings profiling.tune tries besides the recipe's (none unless a runtime has some)."""
        return []

    def load(self) -> None:
        if not self.loaded:
            self.load_impl()
            self.loaded = True

    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Host arrays in, host arrays out, outputs named as in model_io.json."""
        if not self.loaded:
            raise RuntimeError(f"{self.name}: infer() before load()")
        return self.infer_impl(feed)

    def close(self) -> None:
        if self.loaded:
            self.close_impl()
            self.loaded = False

    def __enter__(self) -> Runner:
        self.load()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load_impl(self) -> None:
        raise NotImplementedError

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def close_impl(self) -> None:
        """Release what load_impl took; most runners let garbage collection do it."""


def create_runner(runner: str, config: RunnerConfig) -> Runner:
    runtime, device = registry.split_runner(runner)
    module_name, class_name = registry.RUNTIMES[runtime].runner.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    instance: Runner = cls(config)
    instance.name = runner
    return instance
