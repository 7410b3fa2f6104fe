"""Name checks on an ONNX graph before import (ONNX IR: every value is defined once, by a graph
input, an initializer or one node output, and nodes come in topological order). A file that
breaks them is refused with one line naming the node, its op and the value, instead of the
KeyError the importer's lookups would raise."""
from __future__ import annotations

from tinycnn.errors import TinyCNNError


def _node_label(node, index: int) -> str:
    return f"node '{node.name or node.output[0] if node.output else index}' (op {node.op_type})"


def _cycle(start: int, producer: dict, nodes) -> list[int] | None:
    """A path of node indices from `start` back to itself through input edges, if one exists."""
    stack, seen = [(start, [start])], set()
    while stack:
        i, path = stack.pop()
        for name in nodes[i].input:
            j = producer.get(name)
            if j is None:
                continue
            if j == start:
                return path + [start]
            if j not in seen:
                seen.add(j)
                stack.append((j, path + [j]))
    return None


def check_names(graph, path) -> None:
    inits = [t.name for t in graph.initializer]
    dup = {n for n in inits if inits.count(n) > 1}
    if dup:
        raise TinyCNNError(f"{path}: initializer '{sorted(dup)[0]}' is defined twice: the file is corrupt")
    init_set = set(inits)
    inputs = [i.name for i in graph.input]
    dup = {n for n in inputs if inputs.count(n) > 1}
    if dup:
        raise TinyCNNError(f"{path}: graph input '{sorted(dup)[0]}' is declared twice: the file is corrupt")
    defined = {n: "a graph input" for n in inputs}
    defined.update({n: "an initializer" for n in init_set})
    producer: dict[str, int] = {}
    nodes = list(graph.node)
    for k, node in enumerate(nodes):
        for name in node.output:
            if not name:
                continue
            if name in producer or name in defined:
                first = (_node_label(nodes[producer[name]], producer[name]) if name in producer
                         else defined[name])
                raise TinyCNNError(f"{path}: {_node_label(node, k)} writes '{name}', which is already "
                                   f"defined by {first}: every ONNX value must be defined once")
            producer[name] = k
    for k, node in enumerate(nodes):
        for name in node.input:
            if not name or name in defined:
                continue
            j = producer.get(name)
            if j is None:
                raise TinyCNNError(f"{path}: {_node_label(node, k)} reads '{name}', which no node, "
                                   "graph input or initializer defines")
            if j >= k:
                loop = _cycle(k, producer, nodes)
                if loop:
                    names = [nodes[i].name or nodes[i].op_type for i in loop]
                    if len(names) > 6:
                        names = names[:3] + [f"... {len(names) - 5} more ..."] + names[-2:]
                    names = " -> ".join(names)
                    raise TinyCNNError(f"{path}: {_node_label(node, k)} is part of a cycle ({names}); "
                                       "ONNX graphs must be acyclic")
                raise TinyCNNError(f"{path}: {_node_label(node, k)} reads '{name}' before "
                                   f"{_node_label(nodes[j], j)} writes it: the nodes are not in the "
                                   "topological order ONNX requires")
    for out in graph.output:
        if out.name not in producer and out.name not in defined:
            raise TinyCNNError(f"{path}: graph output '{out.name}' is not computed by the graph")
