"""navctl: find the fastest correct way to serve a deep-learning model.

The package import stays light: no deep-learning framework is imported here.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load", "optimize"]


def optimize(recipe: str, **overrides: object):
    """Run the recipe's plan, as `navctl optimize` does, and return the run's outcome.

    Keyword overrides replace top-level recipe fields (e.g. ``targets=["onnx"]``); ``workspace="ws"`` and
    ``package="x.nav"`` act as ``--workspace`` and ``--package`` (with a workspace alone the package is
    ``ws.nav`` beside it, never the recipe's own).
    """
    from navctl.engine.api import optimize as _optimize

    return _optimize(recipe, **overrides)


def load(path: str, workdir: str | None = None):
    """Open a .nav package: its status, `best(strategy)`, and `runner(...)` for in-process inference."""
    from navctl.nav import load as _load

    return _load(path, workdir)
