"""Framework-neutral handling of samples and outputs: naming, flattening, numpy conversion, npz files."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from navctl.contract.decoder import DecoderInfo
from navctl.contract.records import TensorMeta

INPUT_DIR = "model_input"
OUTPUT_DIR = "model_output"
BOUNDS_DIR = "bounds"  # under INPUT_DIR and OUTPUT_DIR: the samples made at the shape ranges' bounds


class ModelIO(BaseModel):
    """What the samples step learned about the model's inputs and outputs."""

    inputs: list[TensorMeta]
    outputs: list[TensorMeta]
    call: Literal["positional", "keyword"]
    batching: bool  # a batch axis in effect: the recipe's batching.enabled, unless the model is not batchable
    batch_axis: int
    samples: int
    batchable: bool | None = None  # every output per sample (navctl/steps/batch_probe.py); None: not probed
    batch_probe: str = ""  # what the probe ran
    batch_reason: str = ""  # why the model is not batchable, naming its outputs
    bounds: list[str] = Field(
        default_factory=list, description="samples made at the shape ranges' bounds (model_input/bounds/<name>.npz)"
    )
    decoder: DecoderInfo | None = None  # a causal LM with a cache (navctl/contract/decoder.py)

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs]

    @classmethod
    def read(cls, path: Path) -> ModelIO:
        return cls.model_validate_json(path.read_text())

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.model_dump(mode="json"), indent=2))


def is_leaf(obj: Any) -> bool:
    return hasattr(obj, "shape") and hasattr(obj, "dtype") or isinstance(obj, (int, float, bool, np.number))


def to_numpy(obj: Any) -> np.ndarray:
    """A host numpy array from a torch/tf/jax tensor, numpy array or Python scalar."""
    if hasattr(obj, "detach"):  # torch: leave autograd and the device first
        obj = obj.detach().cpu()
        if str(obj.dtype) == "torch.bfloat16":
            obj = obj.float()
        return obj.numpy()
    if hasattr(obj, "numpy") and not isinstance(obj, np.ndarray):
        return np.asarray(obj.numpy())
    return np.asarray(obj)


def flatten_outputs(obj: Any, prefix: str | None = None, skipped: list[str] | None = None) -> list[tuple[str, Any]]:
    """(name, leaf) pairs of a model's output: a tensor, tuple/list, dict, ModelOutput or dataclass.

    Names: `output_0` for a lone tensor, `output_<i>` for sequences, keys for mappings and the fields
    of dataclasses and named tuples (`torch.return_types` too), joined
    with '.' (mappings) or '_' (sequences) when nested. `None` leaves are left out; their names go to
    `skipped` when given.
    """
    if obj is None:
        if skipped is not None:
            skipped.append(prefix or "output_0")
        return []
    if is_leaf(obj):
        return [(prefix or "output_0", obj)]
    if isinstance(obj, Mapping) or (hasattr(obj, "items") and hasattr(obj, "keys")):
        out: list[tuple[str, Any]] = []
        for key, value in obj.items():
            out += flatten_outputs(value, f"{prefix}.{key}" if prefix else str(key), skipped)
        return out
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return flatten_outputs({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, prefix, skipped)
    fields = getattr(type(obj), "__match_args__", None) if isinstance(obj, tuple) else None
    if fields and len(fields) == len(obj):  # a namedtuple or torch.return_types: its fields name its leaves
        return flatten_outputs(dict(zip(fields, obj, strict=True)), prefix, skipped)
    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        out = []
        for i, value in enumerate(obj):
            out += flatten_outputs(value, f"{prefix}_{i}" if prefix else f"output_{i}", skipped)
        return out
    children = _pytree_children(obj)
    if children is None and hasattr(obj, "__iter__") and hasattr(obj, "__len__"):
        children = list(obj)  # a sized container of its own kind, e.g. Hugging Face's DynamicCache (layers)
    if children is not None:  # flattened the way torch.export flattens registered containers
        out = []
        for i, value in enumerate(children):
            out += flatten_outputs(value, f"{prefix}_{i}" if prefix else f"output_{i}", skipped)
        return out
    where = f"output '{prefix}'" if prefix else "the model's output"
    raise TypeError(
        f"{where} is a {type(obj).__module__}.{type(obj).__name__}, which navctl cannot flatten into tensors; "
        "return tensors, tuples/lists or dicts of them (for a Hugging Face decoder, a cache object that is "
        "not a registered pytree: set use_cache=False in its config)"
    )


def _pytree_children(obj: Any) -> list[Any] | None:
    """The children of a container registered with torch's pytree (torch.export's own flattening)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        from torch.utils import _pytree

        node = _pytree.SUPPORTED_NODES.get(type(obj))
        if node is None:
            return None
        children, _ = node.flatten_fn(obj)
        return list(children)
    except Exception:  # noqa: BLE001 - an unflattenable container is reported by the caller
        return None


def save_arrays(path: Path, arrays: Sequence[np.ndarray]) -> None:
    """Arrays in order under keys a0, a1, ... (names live in model_io.json, so any name is safe)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez(handle, **{f"a{i}": np.asarray(a, order="C") for i, a in enumerate(arrays)})


def load_arrays(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[f"a{i}"] for i, name in enumerate(names)}


def sample_files(workspace: Path, folder: str) -> list[Path]:
    return sorted((workspace / folder).glob("*.npz"), key=lambda p: int(p.stem))


def load_samples(workspace: Path, io: ModelIO) -> tuple[list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """The recorded inputs and the source model's outputs, sample by sample."""
    inputs = [load_arrays(p, io.input_names) for p in sample_files(workspace, INPUT_DIR)]
    outputs = [load_arrays(p, io.output_names) for p in sample_files(workspace, OUTPUT_DIR)]
    return inputs, outputs


def concat_batch(feeds: list[dict[str, np.ndarray]], axis: int, size: int) -> dict[str, np.ndarray]:
    """A feed of exactly `size` along the batch axis, built from real samples (repeated when too few)."""
    names = list(feeds[0])
    pieces: dict[str, list[np.ndarray]] = {n: [] for n in names}
    have = 0
    i = 0
    while have < size:
        feed = feeds[i % len(feeds)]
        for n in names:
            pieces[n].append(feed[n])
        have += feed[names[0]].shape[axis]
        i += 1
    return {n: np.take(np.concatenate(pieces[n], axis=axis), range(size), axis=axis) for n in names}
