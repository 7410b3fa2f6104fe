"""GraphBuilder: what every importer uses to emit IR nodes.

Each emitted node is run once by the float reference on a batch-1 example so its output
shape is known exactly (no hand-written shape rules to drift from the op semantics).
"""
from __future__ import annotations

import numpy as np

from tinycnn.errors import UnsupportedModelError
from tinycnn.ir import Graph, Node, Op
from tinycnn.reference.float_ops import run_node_float


class GraphBuilder:
    def __init__(self, source_path, source_format: str, name: str = "model"):
        self.graph = Graph(name=name, meta={"source_path": str(source_path),
                                             "source_format": source_format,
                                             "input_layouts": [], "output_layouts": []})
        self.source_path = str(source_path)
        self._example = {}  # tensor name -> batch-1 example value (for shapes)

    # ---- inputs / constants ----
    def add_input(self, name, shape_nhwc, layout: str):
        shape = (-1,) + tuple(int(d) for d in shape_nhwc[1:])
        self.graph.add_tensor(name, shape)
        self.graph.inputs.append(name)
        self.graph.meta["input_layouts"].append(layout)
        self._example[name] = np.zeros((1,) + shape[1:], np.float32)
        return name

    def const(self, base_name, array) -> str:
        name = self.graph.unique_name(base_name)
        return self.graph.add_const(name, np.asarray(array, np.float32))

    def shape_of(self, name) -> tuple:
        return self.graph.tensors[name].shape

    # ---- nodes ----
    def emit(self, op: Op, inputs, attrs=None, name=None, source=None) -> str:
        """Append a node; returns the name of its output tensor."""
        base = name or op.value.lower()
        out = self.graph.unique_name(base)
        node_name = out
        attrs = dict(attrs or {})
        if source:
            attrs.setdefault("source_name", source[0])
            attrs.setdefault("source_op", source[1])
        node = Node(node_name, op, list(inputs), [out], attrs)
        values = {i: self._example[i] for i in node.inputs if i and i in self._example}
        try:
            (value,) = run_node_float(self.graph, node, values)
        except Exception as exc:  # a shape/attribute the op cannot take
            src = source or (node_name, op.value)
            raise UnsupportedModelError(self.source_path, src[0], src[1],
                                        f"cannot be represented as {op.value}: {exc}") from exc
        self._example[out] = value
        self.graph.nodes.append(node)
        self.graph.add_tensor(out, (-1,) + value.shape[1:])
        return out

    def mark_output(self, name, layout: str, source_name=None):
        self.graph.outputs.append(name)
        self.graph.meta["output_layouts"].append(layout)
        self.graph.meta.setdefault("output_names", []).append(source_name or name)

    def finish(self) -> Graph:
        self.graph.remove_unused_tensors()
        return self.graph


def same_padding(in_size, kernel, stride, dilation, upper=True):
    """TF/ONNX SAME padding (before, after) for one spatial dimension."""
    out = -(-in_size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - in_size, 0)
    small = total // 2
    return (small, total - small) if upper else (total - small, small)
