"""Give an exported ONNX graph navctl's input and output names (exporters invent their own)."""

from __future__ import annotations

import re

from navctl.contract.tensors import ModelIO
from navctl.steps.child import StepFailed
from navctl.steps.onnx_dims import name_dims


def _mapping(graph_names: list[str], wanted: list[str], what: str) -> dict[str, str]:
    if graph_names == wanted:
        return {}
    if len(graph_names) != len(wanted):
        raise StepFailed(
            f"the ONNX graph has {len(graph_names)} {what}s {graph_names}; the model has {len(wanted)}: {wanted}"
        )
    stripped = [re.sub(r":\d+$", "", n) for n in graph_names]
    if sorted(stripped) == sorted(wanted):  # same names up to TensorFlow's ':0' suffix, maybe reordered
        return {g: s for g, s in zip(graph_names, stripped, strict=True) if g != s}
    return {g: w for g, w in zip(graph_names, wanted, strict=True) if g != w}


def restore_names(path: str, io: ModelIO) -> bool:
    """Rename graph inputs/outputs to io's names (by name when they match up to ':0', else by position),
    and their dynamic dims to io's symbols (navctl.steps.onnx_dims); True when a tensor was renamed."""
    import onnx

    model = onnx.load(path, load_external_data=False)
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    inputs = [i.name for i in graph.input if i.name not in initializers]
    mapping = _mapping(inputs, io.input_names, "input")
    mapping.update(_mapping([o.name for o in graph.output], io.output_names, "output"))
    for node in graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        value.name = mapping.get(value.name, value.name)
    if name_dims(graph, io) or mapping:
        onnx.save(model, path)
    return bool(mapping)


def unused_inputs(path: str) -> list[str]:
    """Graph inputs whose values no node reads (only Shape or Size, if anything; subgraphs of If/Loop
    included) and no output passes on: DistilBERT takes `token_type_ids` into **kwargs and reads only its
    shape, yet every client must send it."""
    import onnx

    graph = onnx.load(path, load_external_data=False).graph
    initializers = {i.name for i in graph.initializer}
    read: set[str] = {o.name for o in graph.output}
    pending = [graph]
    while pending:
        current = pending.pop()
        for node in current.node:
            if node.op_type not in ("Shape", "Size"):
                read.update(node.input)
            pending += [a.g for a in node.attribute if a.HasField("g")] + [g for a in node.attribute for g in a.graphs]
    return [i.name for i in graph.input if i.name not in initializers and i.name not in read]
