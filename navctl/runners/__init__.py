"""Runners execute one format on one device behind one small protocol (load, infer, close)."""

from navctl.runners.base import Runner, RunnerConfig, create_runner

__all__ = ["Runner", "RunnerConfig", "create_runner"]
