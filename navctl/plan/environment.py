"""What this machine can run, found without importing any framework (so the CLI stays fast)."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import platform
from pathlib import Path

from navctl import __version__
from navctl.plan.registry import TRACKED_DISTRIBUTIONS


def cuda_available() -> bool:
    """A CUDA device is visible: the NVIDIA driver lists a GPU and CUDA_VISIBLE_DEVICES does not hide it.

    NAVCTL_FAKE_CUDA=1/0 overrides the answer; tests use it to plan for a GPU machine on a CPU one.
    """
    fake = os.environ.get("NAVCTL_FAKE_CUDA")
    if fake is not None:
        return fake == "1"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1", "none", "NoDevFiles"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


@functools.cache
def module_available(name: str) -> bool:
    """True when `import name` would find the module; imports nothing."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@functools.cache
def distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_versions() -> dict[str, str]:
    """Installed versions of the tracked frameworks (absent ones left out)."""
    out = {"navctl": __version__}
    for dist in TRACKED_DISTRIBUTIONS:
        version = distribution_version(dist)
        if version:
            out[dist] = version
    return out


def default_threads() -> int:
    """CPU threads each runner gets by default: the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_names() -> list[str]:
    gpus = Path("/proc/driver/nvidia/gpus")
    names = []
    if gpus.is_dir():
        for info in sorted(gpus.glob("*/information")):
            for line in info.read_text(errors="replace").splitlines():
                if line.startswith("Model:"):
                    names.append(line.split(":", 1)[1].strip())
    return names
