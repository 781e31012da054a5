from __future__ import annotations

from collections import OrderedDict, namedtuple
from dataclasses import dataclass

import numpy as np
import pytest

from navctl.contract.tensors import concat_batch, flatten_outputs


def test_flatten_names() -> None:
    a, b = np.zeros(1), np.ones(1)
    assert [n for n, _ in flatten_outputs(a)] == ["output_0"]
    assert [n for n, _ in flatten_outputs((a, b))] == ["output_0", "output_1"]
    assert [n for n, _ in flatten_outputs({"logits": a, "aux": [a, b]})] == ["logits", "aux_0", "aux_1"]
    assert [n for n, _ in flatten_outputs(OrderedDict(h={"x": a}))] == ["h.x"]

    @dataclass
    class Out:
        loss: object
        logits: object

    assert [n for n, _ in flatten_outputs(Out(None, a))] == ["logits"]
    # a named tuple's fields name its leaves, as a dataclass's do; nested under a key they join with '.'
    Pair = namedtuple("Pair", ["label", "score"])
    assert [n for n, _ in flatten_outputs(Pair(a, b))] == ["label", "score"]
    assert [n for n, _ in flatten_outputs({"head": Pair(a, b)})] == ["head.label", "head.score"]
    assert [n for n, _ in flatten_outputs([Pair(a, b)])] == ["output_0.label", "output_0.score"]
    with pytest.raises(TypeError):
        flatten_outputs(object())


def test_concat_batch_builds_exact_sizes_from_real_samples() -> None:
    feeds = [{"x": np.full((2, 3), i, np.float32)} for i in range(3)]
    batch = concat_batch(feeds, axis=0, size=5)
    assert batch["x"].shape == (5, 3)
    assert batch["x"][:, 0].tolist() == [0, 0, 1, 1, 2]
    big = concat_batch(feeds, axis=0, size=9)
    assert big["x"].shape == (9, 3) and big["x"][6, 0] == 0  # wraps around to sample 0
    axis1 = concat_batch([{"x": np.zeros((3, 2))}], axis=1, size=5)
    assert axis1["x"].shape == (3, 5)


def test_scalar_arrays_keep_their_shape_through_npz(tmp_path) -> None:
    from navctl.contract.tensors import load_arrays, save_arrays

    save_arrays(tmp_path / "0.npz", [np.float32(3.5) * np.ones(()), np.zeros((2, 0))])
    back = load_arrays(tmp_path / "0.npz", ["scalar", "empty"])
    assert back["scalar"].shape == () and back["scalar"] == 3.5
    assert back["empty"].shape == (2, 0)


def test_torch_return_types_are_named_by_their_fields() -> None:
    import torch

    flat = flatten_outputs(torch.arange(6.0).reshape(2, 3).max(-1))
    assert [n for n, _ in flat] == ["values", "indices"]
    assert [v.tolist() for _, v in flat] == [[2.0, 5.0], [2, 2]]
