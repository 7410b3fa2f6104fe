"""ONNX → tinycnn IR (float, NHWC). The op handlers live in converters/onnx_ops.py.

Layout tracking: every ONNX value maps to an IR tensor plus a layout tag. A 4-D tensor from a
spatial op is held as NHWC ('nhwc'); anything reshaped by the graph is held exactly as ONNX
sees it ('plain'). Handlers ask for the layout they need; a TRANSPOSE is inserted only when
the two differ, and the layout passes later remove the ones that move only unit dimensions.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from converters.builder import GraphBuilder, same_padding
from converters.input_shapes import fix_input_shapes
from converters.onnx_ops import HANDLERS, NCHW_TO_NHWC, NHWC_TO_NCHW, _clean
from tinycnn.errors import TinyCNNError, UnsupportedModelError
from tinycnn.ir import Graph, Op


FOLD_MAX_BYTES = 256 << 20  # constant folding at import: per result / per planned allocation
FOLD_MAX_ITERATIONS = 100_000
# AttributeProto types of the attributes handlers read (a string 'strides', a float 'group' -> error)
_ATTR_TYPES = {**dict.fromkeys(("strides", "pads", "dilations", "kernel_shape", "axes", "perm",
                                "output_padding", "output_shape"), 7),
               **dict.fromkeys(("group", "axis", "keepdims", "ceil_mode", "count_include_pad",
                                "transA", "transB", "storage_order", "select_last_index"), 2),
               **dict.fromkeys(("auto_pad", "mode", "coordinate_transformation_mode",
                                "nearest_mode"), 3)}

class _Importer:
    def __init__(self, model, path, input_shapes=None):
        import onnx
        from onnx import numpy_helper
        self.path = str(path)
        self.onnx = onnx
        self.numpy_helper = numpy_helper
        self.model = model
        self.b = GraphBuilder(path, "onnx", name=Path(path).stem)
        self.consts = {}  # onnx name -> np.ndarray
        self.values = {}  # onnx name -> (ir name, layout)
        self.onnx_shapes = {}
        self.node = None
        self.input_shapes = input_shapes

    # ---------- helpers ----------
    def fail(self, reason, supported=None):
        n = self.node
        raise UnsupportedModelError(self.path, n.name or n.output[0], n.op_type, reason, supported)

    def attr(self, name, default=None):
        for a in self.node.attribute:
            if a.name == name:
                want = _ATTR_TYPES.get(name)
                if want is not None and a.type != want:
                    names = self.onnx.AttributeProto.AttributeType.Name
                    self.fail(f"attribute '{name}' must be of type {names(want)}, got "
                              f"{names(a.type)}")
                return self.onnx.helper.get_attribute_value(a)
        return default

    def is_const(self, name) -> bool:
        return name in self.consts

    def const(self, name) -> np.ndarray:
        if name not in self.consts:
            self.fail(f"input '{name}' must be a constant (initializer or Constant node)")
        return self.consts[name]

    def rank(self, onnx_name) -> int:
        ir, _ = self.values[onnx_name]
        return len(self.b.shape_of(ir))

    def get(self, onnx_name, layout="nhwc") -> str:
        """IR tensor for an ONNX value, in the requested layout (4-D only matters)."""
        if onnx_name in self.consts:
            self.fail(f"input '{onnx_name}' is a constant where an activation was expected")
        ir, have = self.values[onnx_name]
        if len(self.b.shape_of(ir)) != 4 or have == layout:
            return ir
        perm = NHWC_TO_NCHW if have == "nhwc" else NCHW_TO_NHWC
        converted = self.b.emit(Op.TRANSPOSE, [ir], {"perm": list(perm)}, name=ir + f"_{layout}")
        self.values[onnx_name] = (ir, have)  # keep the original too
        return converted

    def const_from_array(self, arr, base):
        return self.b.const(_clean(base), arr)

    def layout_of(self, onnx_name):
        return self.values[onnx_name][1]

    def set(self, onnx_name, ir, layout):
        self.values[onnx_name] = (ir, layout)

    def src(self):
        return (self.node.name or self.node.output[0], self.node.op_type)

    def emit(self, op, inputs, attrs=None, layout="nhwc", out_index=0):
        ir = self.b.emit(op, inputs, attrs, name=_clean(self.node.output[out_index]), source=self.src())
        self.set(self.node.output[out_index], ir, layout if len(self.b.shape_of(ir)) == 4 else "plain")
        return ir

    def spatial_params(self, kernel, x_ir):
        """strides, dilations, pads (t, l, b, r) from the ONNX attributes."""
        strides = list(self.attr("strides", [1, 1]))
        dilations = list(self.attr("dilations", [1, 1]))
        if len(kernel) != 2:
            self.fail(f"only 2-D spatial ops are supported (kernel_shape {kernel})")
        auto_pad = self.attr("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        _, h, w, _ = self.b.shape_of(x_ir)
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            upper = auto_pad == "SAME_UPPER"
            (pt, pb) = same_padding(h, kernel[0], strides[0], dilations[0], upper)
            (pl, pr) = same_padding(w, kernel[1], strides[1], dilations[1], upper)
            pads = [pt, pl, pb, pr]
        elif auto_pad == "VALID":
            pads = [0, 0, 0, 0]
        else:
            p = list(self.attr("pads", [0, 0, 0, 0]))
            pads = [p[0], p[1], p[2], p[3]]
        if self.attr("ceil_mode", 0):
            for axis, size in ((0, h), (1, w)):
                k, s, d = kernel[axis], strides[axis], dilations[axis]
                span = size + pads[axis] + pads[axis + 2] - d * (k - 1) - 1
                if span % s:
                    extra = s - span % s
                    # ceil_mode never starts a window in the right padding only
                    if (span + extra) // s * s < size + pads[axis]:
                        pads[axis + 2] += extra
        return {"stride": strides, "dilation": dilations, "pad": pads}

    def const_to_layout(self, arr, other_rank, other_layout):
        """A constant operand of a broadcasting op, converted to the other operand's layout."""
        arr = np.asarray(arr, np.float32)
        if other_rank == 4 and other_layout == "nhwc":
            arr = arr.reshape((1,) * (4 - arr.ndim) + arr.shape).transpose(NCHW_TO_NHWC)
        return arr

    def _check_fold_bounds(self, node):
        """Refuse constant folding that would run without limit or allocate gigabytes."""
        def const_int(i):
            return int(np.asarray(self.consts[node.input[i]]).reshape(-1)[0]) \
                if len(node.input) > i and node.input[i] else None
        if node.op_type in ("Loop", "Scan"):
            trips = const_int(0) if node.op_type == "Loop" else None
            if trips is None or trips > FOLD_MAX_ITERATIONS:
                self.fail(f"constant folding of {node.op_type} with trip count "
                          f"{trips if trips is not None else 'unbounded'} refused (limit "
                          f"{FOLD_MAX_ITERATIONS} iterations)")
        shape = None
        if node.op_type in ("ConstantOfShape", "Expand") and len(node.input) > (node.op_type == "Expand"):
            shape = np.asarray(self.consts[node.input[0 if node.op_type == "ConstantOfShape" else 1]])
        elif node.op_type == "Tile" and len(node.input) > 1:
            shape = np.asarray(self.consts[node.input[0]].shape) * np.asarray(self.consts[node.input[1]])
        elif node.op_type == "Range" and len(node.input) == 3:
            start, limit, delta = (float(np.asarray(self.consts[i]).reshape(-1)[0]) for i in node.input)
            shape = np.array([abs((limit - start) / delta) if delta else np.inf])
        if shape is not None:
            n = float(np.prod(np.maximum(shape.astype(np.float64), 0)))
            if not n * 8 <= FOLD_MAX_BYTES:
                self.fail(f"constant folding would create {n:.4g} elements (limit "
                          f"{FOLD_MAX_BYTES} bytes); refusing")

    def fold_constant_node(self, node):
        """Shape arithmetic and other all-constant subgraphs: evaluated once here with the
        ONNX reference evaluator, so any op is accepted on constants."""
        from onnx import helper
        from onnx.reference import ReferenceEvaluator
        ins = [i for i in node.input if i]
        graph = helper.make_graph(
            [node], "fold", [helper.make_tensor_value_info(i, helper.np_dtype_to_tensor_dtype(
                self.consts[i].dtype), self.consts[i].shape) for i in ins],
            [helper.make_tensor_value_info(o, 0, None) for o in node.output])
        opset = [o for o in self.model.opset_import if o.domain in ("", "ai.onnx")]
        model = helper.make_model(graph, opset_imports=opset)
        self._check_fold_bounds(node)
        try:
            outs = ReferenceEvaluator(model).run(None, {i: self.consts[i] for i in ins})
        except Exception as exc:
            self.fail(f"cannot evaluate this op on constant inputs ({exc})")
        for name, value in zip(node.output, outs):
            value = np.asarray(value)
            if value.nbytes > FOLD_MAX_BYTES:
                self.fail(f"constant folding produced {value.nbytes} bytes (limit {FOLD_MAX_BYTES})")
            self.consts[name] = value

    # ---------- driver ----------
    def run(self) -> Graph:
        g = self.model.graph
        for init in g.initializer:
            self.consts[init.name] = self.numpy_helper.to_array(init)
        init_names = set(self.consts)
        declared = []
        for inp in g.input:
            if inp.name in init_names:
                continue
            dims = [d.dim_value if d.HasField("dim_value") else -1
                    for d in inp.type.tensor_type.shape.dim]
            if len(dims) not in (2, 4):
                raise TinyCNNError(f"{self.path}: input '{inp.name}' has rank {len(dims)}; "
                                   "supported: rank 4 (NCHW images) and rank 2 (features)")
            declared.append((inp.name, dims, "NCHW" if len(dims) == 4 else "NC"))
        fixed = fix_input_shapes(self.path, declared, self.input_shapes, self.b.graph.meta)
        for (name, _, layout), dims in zip(declared, fixed):
            if layout == "NCHW":
                _, c, h, w = dims
                self.set(name, self.b.add_input(_clean(name), (-1, h, w, c), "NCHW"), "nhwc")
            else:
                self.set(name, self.b.add_input(_clean(name), (-1, dims[1]), "NC"), "plain")
        needed = {o.name for o in g.output}
        for node in reversed(g.node):  # nodes nothing depends on (e.g. unused constants) are skipped
            if any(o in needed for o in node.output):
                needed.update(node.input)
        for node in g.node:
            self.node = node
            if not any(o in needed for o in node.output):
                continue
            if node.input and all((not i) or self.is_const(i) for i in node.input) \
                    and node.op_type not in ("Constant", "DequantizeLinear"):
                self.fold_constant_node(node)
                continue
            handler = HANDLERS.get(node.op_type)
            if handler is None:
                self.fail("op not supported", supported=HANDLERS)
            if node.domain not in ("", "ai.onnx"):
                self.fail(f"custom domain '{node.domain}' not supported")
            handler(self)
        for out in g.output:
            if out.name not in self.values:
                raise TinyCNNError(f"{self.path}: output '{out.name}' is not computed by the graph")
            ir, layout = self.values[out.name]
            if len(self.b.shape_of(ir)) == 4:
                self.b.mark_output(ir, "NCHW" if layout == "nhwc" else "plain", out.name)
            else:
                self.b.mark_output(ir, "plain", out.name)
        return self.b.finish()


from converters.onnx_binary import install_binary_handlers  # noqa: E402  (Sign -> binary layers)

install_binary_handlers(HANDLERS)


def load_onnx(path, input_shapes=None) -> Graph:
    """Read an ONNX file into a float NHWC Graph (no passes applied)."""
    import onnx
    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as exc:
        raise TinyCNNError(f"{path}: not a readable ONNX file ({exc})") from exc
    from converters.onnx_names import check_names
    check_names(model.graph, path)
    return _Importer(model, path, input_shapes).run()
