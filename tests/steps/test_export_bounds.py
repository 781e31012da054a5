"""torch.export's suggested fixes read back: bounds the model sets on an axis, or ties navctl cannot keep."""

from __future__ import annotations

from navctl.steps.export_torch import _bounds_text, _suggested_bounds

BOUNDED = """Constraints violated (input_ids_dim1)! For more information, run with TORCH_LOGS="+dynamic".
  - Not all values of input_ids_dim1 = L['args'][0].size()[1] in the specified range satisfy the generated guard \
2 <= L['args'][0].size()[1] and L['args'][0].size()[1] <= 64
Suggested fixes:
  input_ids_dim1 = Dim('input_ids_dim1', max=64)

The error above occurred when calling torch.export.export."""


def test_a_bound_the_model_sets_is_read_and_said() -> None:
    limits = _suggested_bounds(BOUNDED, {"input_ids_dim1", "batch"})
    assert limits == {"input_ids_dim1": (None, 64)}
    assert _bounds_text(limits) == "input_ids_dim1 at most 64"
    both = BOUNDED.replace("Dim('input_ids_dim1', max=64)", "Dim('input_ids_dim1', min=2, max=64)")
    assert _bounds_text(_suggested_bounds(both, {"input_ids_dim1"})) == "input_ids_dim1 2..64"


def test_ties_and_symbols_of_torchs_own_are_left_to_torchs_inference() -> None:
    tied = BOUNDED.replace("input_ids_dim1 = Dim('input_ids_dim1', max=64)", "mask_dim1 = input_ids_dim1")
    assert _suggested_bounds(tied, {"input_ids_dim1", "mask_dim1"}) is None
    assert _suggested_bounds(BOUNDED, {"batch"}) is None  # not one of navctl's symbols
    assert _suggested_bounds("Constraints violated (x)!", {"x"}) is None  # no fixes suggested


def test_torchs_bound_joins_the_declared_range_side_by_side() -> None:
    from navctl.contract.records import AxisRange, TensorMeta
    from navctl.contract.tensors import ModelIO
    from navctl.steps.export_torch import _dynamic_shapes

    # the recipe declared 4..128 around samples of 8..16; torch says the model stops at 64
    seq = AxisRange(axis=1, symbol="seq", min=4, typical=8, max=128, samples_min=8, samples_max=16)
    io = ModelIO(
        inputs=[TensorMeta(name="ids", dtype="int64", shape=[2, -1], axes=[seq])],
        outputs=[],
        call="positional",
        batching=False,
        batch_axis=0,
        samples=2,
    )
    ((dims,),) = _dynamic_shapes(io, limits={"seq": (None, 64)})
    assert (dims[1].min, dims[1].max) == (4, 64)
    ((dims,),) = _dynamic_shapes(io)
    assert (dims[1].min, dims[1].max) == (4, 128)
