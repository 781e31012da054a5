"""What `navctl serve` binds in PyTriton: the infer function over a navctl runner, the tensor
declarations and the model config, from one `ServingLayout` (PyTriton is imported by each call)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from navctl.contract.records import TensorMeta
from navctl.contract.tensors import ModelIO
from navctl.records.loadtest import ServingConfig
from navctl.triton.layout import ServingLayout
from navctl.triton.merging import check_preferred


def infer_adapter(runner, io: ModelIO, layout: ServingLayout) -> Callable:
    """PyTriton's infer function for one runner: requests in Triton's layout, the runner's answer back in it."""
    from pytriton.decorators import batch, sample

    dtypes = {t.name: np.dtype(t.dtype) for t in io.outputs}

    def infer(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        outputs = runner.infer({n: layout.from_wire(n, x) for n, x in inputs.items()})
        return {n: layout.to_wire(n, np.asarray(outputs[n], dtype=dtypes[n])) for n in io.output_names}

    # without batching PyTriton passes the list of requests, one at a time: `sample` unpacks it
    return batch(infer) if layout.batching else sample(infer)


def tensors(metas: list[TensorMeta], layout: ServingLayout) -> list:
    from pytriton.model_config import Tensor

    return [Tensor(name=t.name, dtype=np.dtype(t.dtype), shape=layout.dims(t.name)) for t in metas]


def model_config(layout: ServingLayout, merge: bool, batching: ServingConfig):
    """PyTriton's ModelConfig: the layout's batching, and the dynamic batcher when requests are merged."""
    from pytriton.model_config import DynamicBatcher, ModelConfig

    batcher = None
    if merge:
        check_preferred(batching.preferred_batch_sizes, layout.max_batch)
        batcher = DynamicBatcher(
            max_queue_delay_microseconds=batching.max_queue_delay_us,
            preferred_batch_size=batching.preferred_batch_sizes or None,
        )
    return ModelConfig(batching=layout.batching, max_batch_size=layout.max_batch, batcher=batcher)


def bind_null_model(triton, name: str, inputs: list, layout: ServingLayout) -> None:
    """A model with the real one's inputs that computes nothing: what the server and client cost alone."""
    from pytriton.decorators import batch, sample
    from pytriton.model_config import ModelConfig, Tensor

    def nothing(**feed: np.ndarray) -> dict[str, np.ndarray]:
        first = next(iter(feed.values()))
        return {"nothing": np.zeros((first.shape[0], 1) if layout.batching else (1,), dtype=np.float32)}

    triton.bind(
        model_name=name,
        infer_func=batch(nothing) if layout.batching else sample(nothing),
        inputs=inputs,
        outputs=[Tensor(name="nothing", dtype=np.float32, shape=(1,))],
        config=ModelConfig(batching=layout.batching, max_batch_size=layout.max_batch),
        strict=True,
    )
