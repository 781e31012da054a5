"""How close a reduced-precision output stays to the source's, beyond elementwise error."""

from __future__ import annotations

import numpy as np


def looks_like_scores(array: np.ndarray) -> bool:
    """Class scores: one row per batch item, more than one class."""
    return array.ndim == 2 and array.shape[-1] > 1 and array.dtype.kind == "f"


def cosine(got: np.ndarray, want: np.ndarray) -> float:
    """Cosine similarity of the flattened outputs; 1.0 when both are all zeros."""
    a = np.asarray(got, dtype=np.float64).ravel()
    b = np.asarray(want, dtype=np.float64).ravel()
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms == 0.0:
        return 1.0 if not a.any() and not b.any() else 0.0
    return float(np.dot(a, b) / norms)


def top1_matches(got: np.ndarray, want: np.ndarray) -> tuple[int, int]:
    """(rows whose arg-max class agrees, rows) for class-score outputs."""
    same = np.argmax(got, axis=-1) == np.argmax(want, axis=-1)
    return int(same.sum()), int(same.size)


def agreement(got: np.ndarray, want: np.ndarray) -> float:
    """One figure per sample for accuracy control: top-1 agreement for class scores, else cosine."""
    if looks_like_scores(want) and got.shape == want.shape:
        matched, rows = top1_matches(got, want)
        return matched / rows if rows else 1.0
    return cosine(got, want)
