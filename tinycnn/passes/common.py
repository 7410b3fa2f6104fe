"""Small queries shared by the passes."""
from __future__ import annotations


def sole_consumer(graph, tensor_name):
    """The only node reading tensor_name, or None (graph outputs count as readers)."""
    if tensor_name in graph.outputs:
        return None
    users = graph.consumers(tensor_name)
    return users[0] if len(users) == 1 else None


def bypass(graph, node):
    """Remove a single-input/single-output node, wiring its input to its readers."""
    graph.replace_tensor_uses(node.outputs[0], node.inputs[0])
    graph.nodes.remove(node)
