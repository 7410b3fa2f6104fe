"""Walking a Keras model config (Sequential / Functional, nested models flattened) into IR.

Every Keras layer call goes through ``LayerContext`` — the one object a layer handler sees:

    handler(cx: LayerContext, inputs: list[str]) -> str | list[str]

``inputs`` are IR tensor names (NHWC or [N, C]); the handler emits IR nodes through
``cx.emit`` / ``cx.const`` and returns the IR tensor name(s) of the layer's output(s).

1-D tensors: a Keras (N, L, C) tensor is held in the IR as NHWC (N, 1, L, C) and marked so
(``cx.is_1d``); emit() propagates the mark to rank-4 outputs of ops with a marked input.
"""
from __future__ import annotations

import re
import warnings

import numpy as np

from converters.builder import GraphBuilder
from converters.input_shapes import fix_input_shapes
from tinycnn.errors import TinyCNNError, UnsupportedModelError
from tinycnn.ir import Graph, Op

MODEL_CLASSES = {"Sequential", "Functional", "Model"}


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", name).strip("_") or "t"


def entry_name(entry) -> str:
    return entry.get("name") or entry.get("config", {}).get("name", "")


class LayerContext:
    """What a layer handler may use: the layer's config and weights, and the IR builder."""

    def __init__(self, importer, entry, scope_names, weight_scope):
        self.im = importer
        self.entry = entry
        self.class_name = entry.get("class_name", "?")
        self.config = entry.get("config") or {}
        self.name = "/".join(scope_names)  # Keras layer name ('outer/inner' inside nested models)
        self.keras_major = importer.kf.keras_major
        self._weight_scope = weight_scope
        self._scope_names = tuple(scope_names)

    # ---- config / errors ----
    def cfg(self, key, default=None):
        value = self.config.get(key, default)
        return default if value is None else value

    def fail(self, reason, supported=None):
        raise UnsupportedModelError(self.im.path, self.name, self.class_name, reason, supported)

    # ---- weights ----
    def weights(self, names, shapes=None) -> dict:
        """The layer's weight arrays as {name: float32 array}, in the order Keras creates them.

        names: list of names; an entry may be a tuple of accepted aliases (first = key in the
        result). shapes: optional {name: expected shape} checked against the file."""
        found = self.im.kf.weights.read(self._weight_scope, self._scope_names)
        if found is None:
            found = []
        keys = [n[0] if isinstance(n, tuple) else n for n in names]
        out = {}
        if found and all(name is None for name, _ in found):  # positional (.keras)
            if len(found) != len(names):
                self.fail(f"the weight file holds {len(found)} arrays for this layer, its config "
                          f"implies {len(names)} ({', '.join(keys)})")
            out = {k: arr for k, (_, arr) in zip(keys, found)}
        else:
            by_name = {name: arr for name, arr in found}
            for n, key in zip(names, keys):
                for alias in (n if isinstance(n, tuple) else (n,)):
                    if alias in by_name:
                        out[key] = by_name[alias]
                        break
                else:
                    self.fail(f"weight '{key}' not found in the file (found: "
                              f"{', '.join(by_name) or 'none'})")
        for key, expected in (shapes or {}).items():
            if key in out and tuple(out[key].shape) != tuple(expected):
                self.fail(f"weight '{key}' has shape {tuple(out[key].shape)} but the layer config "
                          f"and input imply {tuple(expected)}")
        for key, arr in out.items():  # quantized (integer) weights are never used as reals
            if ("kernel" in key or key in ("bias", "alpha", "gamma", "beta")) and \
                    not np.issubdtype(np.asarray(arr).dtype, np.floating):
                self.fail(f"weight '{key}' is {np.asarray(arr).dtype.name}: integer (quantized) "
                          "Keras weights are not supported; save the float model")
        return {k: np.asarray(v, np.float32) for k, v in out.items()}

    # ---- IR emission ----
    def shape(self, tensor) -> tuple:
        return self.im.b.shape_of(tensor)

    def is_1d(self, tensor) -> bool:
        return tensor in self.im.one_d

    def mark_1d(self, tensor):
        self.im.one_d.add(tensor)
        return tensor

    def const(self, suffix, array) -> str:
        return self.im.b.const(_clean(self.name) + "_" + suffix, array)

    def emit(self, op: Op, inputs, attrs=None, suffix=None) -> str:
        base = _clean(self.name) + (f"_{suffix}" if suffix else "")
        out = self.im.b.emit(op, inputs, attrs, name=base, source=(self.name, self.class_name))
        if len(self.shape(out)) == 4 and any(self.is_1d(i) for i in inputs if i):
            self.mark_1d(out)
        return out

    def pool_backend(self) -> str:
        """The Keras backend whose 'same'-pooling padding to reproduce ('torch' or other)."""
        return self.im.pool_backend(self)

    def activation(self, x, act, suffix="act"):
        from converters.keras_layers import apply_activation
        return apply_activation(self, x, act, suffix)


class KerasImporter:
    def __init__(self, kf, handlers, pool_backend=None, input_shapes=None):
        self.input_shapes = input_shapes
        self.kf = kf
        self.path = kf.path
        self.handlers = handlers
        self.b = GraphBuilder(kf.path, "keras", name=_clean(_model_name(kf.model_config)))
        self.b.graph.meta["keras_version"] = kf.keras_version
        self.one_d = set()
        self._pool_backend = pool_backend
        self._warned = False

    def pool_backend(self, cx) -> str:
        backend = self._pool_backend or self.kf.backend
        if backend:
            return backend
        if not self._warned:
            warnings.warn(f"{self.path}: layer '{cx.name}': asymmetric 'same' average pooling "
                          "differs between Keras 3 backends (torch replicates the edge, TF/JAX "
                          "exclude the padding) and a .keras file does not record its backend; "
                          "assuming torch (pass pool_backend='tensorflow' to load_keras to change)")
            self._warned = True
        return "torch"

    def run(self) -> Graph:
        cfg = self.kf.model_config
        if cfg.get("class_name") not in MODEL_CLASSES:
            raise TinyCNNError(f"{self.path}: top-level class '{cfg.get('class_name')}' is not a "
                               "Keras Sequential or Functional model")
        outputs = self.build_model(cfg, (), (), None)
        for out in outputs:
            rank = len(self.b.shape_of(out))
            if out in self.one_d:  # back to Keras' (N, L, C)
                _, _, length, c = self.b.shape_of(out)
                out = self.b.emit(Op.RESHAPE, [out], {"shape": [-1, length, c]}, name=out + "_nlc")
                rank = 3
            self.b.mark_output(out, "NHWC" if rank == 4 else "plain")
        return self.b.finish()

    # ---- models ----
    def build_model(self, entry, names, keys, inputs) -> list:
        cls = entry.get("class_name")
        config = entry.get("config")
        if cls == "Sequential":
            layers = config if isinstance(config, list) else config.get("layers", [])
            return self._sequential(layers, names, keys, inputs)
        return self._functional(config, names, keys, inputs)

    def _sequential(self, layers, names, keys, inputs):
        if not layers:
            raise TinyCNNError(f"{self.path}: Sequential model '{'/'.join(names)}' has no layers")
        wkeys = self.kf.weights.container_keys(layers, sequential=True)
        if inputs is None:
            first = layers[0]
            x = self._graph_input(first, entry_name(first))
        else:
            x = inputs[0]
        for entry, wkey in zip(layers, wkeys):
            if entry.get("class_name") == "InputLayer":
                continue
            outs = self.call_layer(entry, names, keys, wkey, [x])
            if len(outs) != 1:
                raise TinyCNNError(f"{self.path}: layer '{entry_name(entry)}' in a Sequential "
                                   "model has several outputs")
            x = outs[0]
        return [x]

    def _functional(self, config, names, keys, inputs):
        layers = config.get("layers", [])
        by_name = {entry_name(e): e for e in layers}
        wkeys = dict(zip([entry_name(e) for e in layers],
                         self.kf.weights.container_keys(layers, sequential=False)))
        nodes = {entry_name(e): [_node_refs(n) for n in e.get("inbound_nodes", [])] for e in layers}
        in_refs, out_refs = _ref_list(config.get("input_layers")), _ref_list(config.get("output_layers"))
        offset = self._node_offsets(by_name, nodes, out_refs)
        tensors = {}
        for pos, (lname, _, _) in enumerate(in_refs):
            if inputs is None:
                tensors[(lname, 0, 0)] = self._graph_input(by_name[lname], lname)
            else:
                tensors[(lname, 0, 0)] = inputs[pos]
        pending = [(e, k, refs) for e in layers if e.get("class_name") != "InputLayer"
                   for k, refs in enumerate(nodes[entry_name(e)])]
        while pending:
            progressed = False
            for item in list(pending):
                entry, k, refs = item
                keys_in = [(n, i - offset.get(n, 0), t) for n, i, t in refs]
                if not all(r in tensors for r in keys_in):
                    continue
                outs = self.call_layer(entry, names, keys, wkeys[entry_name(entry)],
                                       [tensors[r] for r in keys_in])
                for t, out in enumerate(outs):
                    tensors[(entry_name(entry), k, t)] = out
                pending.remove(item)
                progressed = True
            if not progressed:
                missing = ", ".join(entry_name(e) for e, _, _ in pending[:5])
                raise TinyCNNError(f"{self.path}: cannot resolve the inputs of layer(s) {missing} "
                                   "(unknown inbound layer in the model config)")
        try:
            return [tensors[(n, i - offset.get(n, 0), t)] for n, i, t in out_refs]
        except KeyError as exc:
            raise TinyCNNError(f"{self.path}: model output {exc} is not computed by any layer") from exc

    def _node_offsets(self, by_name, nodes, out_refs) -> dict:
        """Keras 2 numbers the calls of a nested model from 1 (call 0 is the nested model's own
        construction, which its config does not list)."""
        max_ref = {}
        for refs in [r for lst in nodes.values() for r in lst] + [out_refs]:
            for n, i, _ in refs:
                max_ref[n] = max(max_ref.get(n, -1), i)
        offset = {}
        for name, entry in by_name.items():
            if entry.get("class_name") in MODEL_CLASSES and self.kf.keras_major < 3:
                inner = entry.get("config")
                inner = inner if isinstance(inner, list) else (inner or {}).get("layers", [])
                offset[name] = int(any(e.get("class_name") == "InputLayer" for e in inner))
            elif max_ref.get(name, -1) >= len(nodes[name]) > 0:
                offset[name] = max_ref[name] - len(nodes[name]) + 1
        return offset

    def _graph_input(self, entry, name):
        cfg = entry.get("config", {})
        shape = (cfg.get("batch_shape") or cfg.get("batch_input_shape")
                 or (entry.get("build_config") or {}).get("input_shape"))
        if shape is None:
            raise TinyCNNError(f"{self.path}: the model's input shape is unknown (no InputLayer or "
                               f"input_shape on layer '{name}'); build the model before saving")
        layout = {3: "NHWC", 1: "NC", 2: "NLC"}.get(len(shape) - 1, f"rank {len(shape)}")
        declared = [-1 if d is None else int(d) for d in shape]
        dims = list(fix_input_shapes(self.path, [(name, declared, layout)], self.input_shapes,
                                     self.b.graph.meta, position=len(self.b.graph.inputs))[0][1:])
        ir_name = _clean(name or "input")
        if len(dims) == 3:
            return self.b.add_input(ir_name, [-1] + dims, "NHWC")
        if len(dims) == 1:
            return self.b.add_input(ir_name, [-1] + dims, "NC")
        if len(dims) == 2:  # (N, L, C) -> NHWC (N, 1, L, C)
            x = self.b.add_input(ir_name, [-1] + dims, "NLC")
            out = self.b.emit(Op.RESHAPE, [x], {"shape": [-1, 1] + dims}, name=ir_name + "_nhwc",
                              source=(name, "InputLayer"))
            self.one_d.add(out)
            return out
        raise TinyCNNError(f"{self.path}: input '{name}' has shape {shape}; supported: "
                           "(N, H, W, C) images, (N, L, C) sequences, (N, C) features")

    # ---- layers ----
    def call_layer(self, entry, names, keys, wkey, inputs) -> list:
        name = entry_name(entry)
        cls = entry.get("class_name")
        scope_names, scope_keys = names + (name,), keys + (wkey,)
        if cls in MODEL_CLASSES:
            return self.build_model(entry, scope_names, scope_keys, inputs)
        cx = LayerContext(self, entry, scope_names, scope_keys)
        if cls == "InputLayer":
            return list(inputs)
        handler = self.handlers.get(cls)
        if handler is None:
            hint = " (Lambda layers hold Python code, which cannot be converted)" if cls == "Lambda" else ""
            cx.fail(f"layer class not supported{hint}; supported layers are listed in docs/keras.md")
        if cx.config.get("data_format") == "channels_first":
            cx.fail("data_format='channels_first' is not supported; rebuild the model with the "
                    "default channels_last layout")
        out = handler(cx, list(inputs))
        return list(out) if isinstance(out, (list, tuple)) else [out]


def _model_name(cfg) -> str:
    c = cfg.get("config")
    return (c.get("name") if isinstance(c, dict) else None) or "keras_model"


def _ref_list(refs) -> list:
    """input_layers / output_layers: [name, node, tensor] or a list of those."""
    if not refs:
        return []
    if isinstance(refs[0], str):
        refs = [refs]
    return [(r[0], int(r[1]), int(r[2])) for r in refs]


def _node_refs(node) -> list:
    """The (layer, node_index, tensor_index) inputs of one inbound node (Keras 2 or 3 format)."""
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        found = []
        _collect_keras_tensors(node.get("args", []), found)
        return found
    return [(r[0], int(r[1]), int(r[2])) for r in node]  # Keras 2: [[name, node, tensor, kwargs]]


def _collect_keras_tensors(obj, found):
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            n, i, t = obj["config"]["keras_history"]
            found.append((n, int(i), int(t)))
        else:
            for v in obj.values():
                _collect_keras_tensors(v, found)
    elif isinstance(obj, list):
        for v in obj:
            _collect_keras_tensors(v, found)
