"""ONNX op handlers: one small function per ONNX op, collected in HANDLERS.

Each handler receives the importer (converters/onnx.py) positioned at the current node and
emits IR nodes through it; see the importer's docstring for the layout-tracking contract."""
from __future__ import annotations

import numpy as np

from converters.onnx_quant import dequantize_linear, float_weight
from converters.onnx_resize import resize
from tinycnn.ir import Op

NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)


def _clean(name: str) -> str:
    return name.replace("/", "_").replace(":", "_").strip("_") or "t"


# ---------------- op handlers ----------------

def _constant(im):
    n = im.node
    for a in n.attribute:
        if a.name == "value":
            im.consts[n.output[0]] = im.numpy_helper.to_array(a.t)
        elif a.name in ("value_float", "value_int"):
            im.consts[n.output[0]] = np.array(im.onnx.helper.get_attribute_value(a))
        elif a.name in ("value_floats", "value_ints"):
            im.consts[n.output[0]] = np.array(im.onnx.helper.get_attribute_value(a))
        else:
            im.fail(f"Constant attribute '{a.name}' not supported")


def _identity(im):
    name = im.node.input[0]
    if im.is_const(name):
        im.consts[im.node.output[0]] = im.consts[name]
    else:
        im.values[im.node.output[0]] = im.values[name]


def _conv(im):
    n = im.node
    x = im.get(n.input[0], "nhwc")
    if len(im.b.shape_of(x)) != 4:
        im.fail("only 2-D convolutions (4-D NCHW input) are supported")
    w = float_weight(im, n.input[1])  # [O, I/g, KH, KW]
    bias = float_weight(im, n.input[2]) if len(n.input) > 2 and n.input[2] else None
    groups = int(im.attr("group", 1))
    cin = im.b.shape_of(x)[3]
    cout = w.shape[0]
    geom = im.spatial_params(list(w.shape[2:]), x)
    ins_b = [im.const_from_array(bias, n.output[0] + "_bias")] if bias is not None else []
    if groups == cin and w.shape[1] == 1 and groups > 1:
        wd = w[:, 0].transpose(1, 2, 0)  # [KH, KW, Cout]
        im.emit(Op.DEPTHWISE_CONV_2D, [x, im.const_from_array(wd, n.output[0] + "_w")] + ins_b,
                {**geom, "depth_multiplier": cout // cin})
    else:
        wc = w.transpose(0, 2, 3, 1)  # [O, KH, KW, I/g]
        im.emit(Op.CONV_2D, [x, im.const_from_array(wc, n.output[0] + "_w")] + ins_b,
                {**geom, "groups": groups})


def _batchnorm(im):
    n = im.node
    scale, bias, mean, var = (im.const(i).astype(np.float64) for i in n.input[1:5])
    eps = im.attr("epsilon", 1e-5)
    mul = scale / np.sqrt(var + eps)
    add = bias - mean * mul
    x = im.get(n.input[0], "nhwc")
    if len(im.b.shape_of(x)) not in (2, 4):
        im.fail("BatchNormalization on rank-2 or rank-4 tensors only")
    im.emit(Op.BATCH_NORM, [x, im.const_from_array(mul, n.output[0] + "_scale"),
                            im.const_from_array(add, n.output[0] + "_shift")])


def _unary(op, **fixed):
    def handler(im):
        x = im.get(im.node.input[0], im.layout_of(im.node.input[0]))
        attrs = dict(fixed)
        if op == Op.LEAKY_RELU:
            attrs["alpha"] = float(im.attr("alpha", 0.01))
        if op == Op.HARD_SIGMOID:
            attrs["alpha"] = float(im.attr("alpha", 0.2))
            attrs["beta"] = float(im.attr("beta", 0.5))
        im.emit(op, [x], attrs, layout=im.layout_of(im.node.input[0]))
    return handler


def _clip(im):
    n = im.node
    lo, hi = im.attr("min"), im.attr("max")
    if len(n.input) > 1 and n.input[1]:
        lo = float(im.const(n.input[1]))
    if len(n.input) > 2 and n.input[2]:
        hi = float(im.const(n.input[2]))
    x = im.get(n.input[0], im.layout_of(n.input[0]))
    im.emit(Op.CLAMP, [x], {"clamp": [None if lo is None else float(lo),
                                      None if hi is None else float(hi)]},
            layout=im.layout_of(n.input[0]))


def _relu(im):
    x = im.get(im.node.input[0], im.layout_of(im.node.input[0]))
    im.emit(Op.CLAMP, [x], {"clamp": [0.0, None]}, layout=im.layout_of(im.node.input[0]))


def _prelu(im):
    n = im.node
    slope = im.const(n.input[1]).astype(np.float32)
    layout = im.layout_of(n.input[0])
    x = im.get(n.input[0], layout)
    if slope.size == 1:
        im.emit(Op.LEAKY_RELU, [x], {"alpha": float(slope.reshape(-1)[0])}, layout=layout)
        return
    rank = len(im.b.shape_of(x))
    if rank == 4 and layout == "nhwc":
        slope = slope.reshape(-1)  # [C,1,1] -> [C] (channels last after conversion)
    elif rank != 2:
        im.fail("PRelu slope must be per-channel on NCHW or [N,C] inputs")
    im.emit(Op.PRELU, [x, im.const_from_array(slope.reshape(-1), n.output[0] + "_slope")],
            layout=layout)


def _elementwise(op):
    def handler(im):
        n = im.node
        a, b = n.input[0], n.input[1]
        if im.is_const(a) and im.is_const(b):
            fn = {Op.ADD: np.add, Op.SUB: np.subtract, Op.MUL: np.multiply, "DIV": np.divide}[op]
            im.consts[n.output[0]] = fn(im.consts[a], im.consts[b])
            return
        real_op = op
        if op == "DIV":
            if not im.is_const(b):
                im.fail("Div is supported only by a constant divisor")
            im.consts = {**im.consts, b + "__recip": 1.0 / im.const(b).astype(np.float64)}
            b, real_op = b + "__recip", Op.MUL
        if im.is_const(a) and not im.is_const(b):
            if real_op == Op.SUB:  # c - x  ->  x * -1 + c is two ops; keep as SUB with const first
                pass
            else:
                a, b = b, a
        act = b if im.is_const(a) else a
        layout = im.layout_of(act)
        ins = []
        other_rank = im.rank(act)
        if other_rank == 4 and layout == "plain":
            layout = "plain"
        for name in (a, b):
            if im.is_const(name):
                arr = im.const_to_layout(im.const(name), other_rank, layout)
                ins.append(im.const_from_array(arr, n.output[0] + "_const"))
            else:
                if im.rank(name) == 4 and other_rank == 4:
                    ins.append(im.get(name, layout))
                else:
                    ins.append(im.get(name, im.layout_of(name)))
        im.emit(real_op, ins, layout=layout)
    return handler


def _concat(im):
    n = im.node
    inputs = [i for i in n.input]
    if any(im.is_const(i) for i in inputs):
        im.fail("Concat of constants with activations is not supported")
    rank = im.rank(inputs[0])
    axis = int(im.attr("axis"))
    axis = axis + rank if axis < 0 else axis
    layout = "nhwc" if rank == 4 and all(im.layout_of(i) == "nhwc" for i in inputs) else "plain"
    if rank == 4 and layout == "nhwc":
        axis = {0: 0, 1: 3, 2: 1, 3: 2}[axis]
    ins = [im.get(i, layout) for i in inputs]
    im.emit(Op.CONCATENATION, ins, {"axis": axis}, layout=layout)


def _pool(op):
    def handler(im):
        n = im.node
        x = im.get(n.input[0], "nhwc")
        kernel = list(im.attr("kernel_shape"))
        geom = im.spatial_params(kernel, x)
        if geom["dilation"] != [1, 1]:
            im.fail("dilated pooling is not supported")
        attrs = {"kernel": kernel, "stride": geom["stride"], "pad": geom["pad"]}
        if op == Op.AVERAGE_POOL_2D and im.attr("count_include_pad", 0) and any(geom["pad"]):
            if im.attr("ceil_mode", 0):
                im.fail("AveragePool with count_include_pad=1 and ceil_mode=1 is not supported")
            pt, pl, pb, pr = geom["pad"]
            x = im.b.emit(Op.PAD, [x], {"pads": [[0, 0], [pt, pb], [pl, pr], [0, 0]], "value": 0.0},
                          name=_clean(n.output[0]) + "_pad", source=im.src())
            attrs["pad"] = [0, 0, 0, 0]
        im.emit(op, [x], attrs)
    return handler


def _global_avg(im):
    x = im.get(im.node.input[0], "nhwc")
    im.emit(Op.MEAN, [x], {"axes": [1, 2]})


def _global_max(im):
    x = im.get(im.node.input[0], "nhwc")
    _, h, w, _ = im.b.shape_of(x)
    im.emit(Op.MAX_POOL_2D, [x], {"kernel": [h, w], "stride": [1, 1], "pad": [0, 0, 0, 0]})


def _reduce_mean(im):
    n = im.node
    axes = im.attr("axes")
    if axes is None and len(n.input) > 1:
        axes = im.const(n.input[1]).tolist()
    keep = im.attr("keepdims", 1)
    if im.rank(n.input[0]) != 4 or sorted(a % 4 for a in axes) != [2, 3]:
        im.fail(f"ReduceMean is supported over the spatial axes (2, 3) of NCHW tensors, got {axes}")
    x = im.get(n.input[0], "nhwc")
    if keep:
        im.emit(Op.MEAN, [x], {"axes": [1, 2]})
    else:
        m = im.b.emit(Op.MEAN, [x], {"axes": [1, 2]}, name=_clean(n.output[0]) + "_mean",
                      source=im.src())
        c = im.b.shape_of(m)[3]
        im.emit(Op.RESHAPE, [m], {"shape": [-1, c]}, layout="plain")


def _gemm(im):
    n = im.node
    if im.attr("transA", 0):
        im.fail("Gemm with transA=1 is not supported")
    w = float_weight(im, n.input[1]) * float(im.attr("alpha", 1.0))
    if not im.attr("transB", 0):
        w = w.T
    ins = [im.get(n.input[0], "plain"), im.const_from_array(w, n.output[0] + "_w")]
    if len(n.input) > 2 and n.input[2]:
        c = float_weight(im, n.input[2]).reshape(-1) * float(im.attr("beta", 1.0))
        ins.append(im.const_from_array(np.broadcast_to(c, (w.shape[0],)), n.output[0] + "_bias"))
    if im.rank(n.input[0]) != 2:
        im.fail("Gemm input must be rank 2")
    im.emit(Op.FULLY_CONNECTED, ins, layout="plain")


def _matmul(im):
    n = im.node
    if not im.is_const(n.input[1]) or im.rank(n.input[0]) != 2:
        im.fail("MatMul is supported as [N,K] x constant [K,M] (a fully connected layer)")
    w = float_weight(im, n.input[1]).T
    im.emit(Op.FULLY_CONNECTED, [im.get(n.input[0], "plain"),
                                 im.const_from_array(w, n.output[0] + "_w")], layout="plain")


def _reshape_to(im, target):
    n = im.node
    x_onnx = n.input[0]
    src_shape = list(im.b.shape_of(im.values[x_onnx][0]))
    if im.rank(x_onnx) == 4 and im.layout_of(x_onnx) == "nhwc":
        src_onnx_shape = [src_shape[0], src_shape[3], src_shape[1], src_shape[2]]
    else:
        src_onnx_shape = src_shape
    target = [int(t) for t in target]
    # dim 0 is the batch: keep it dynamic; 0 copies the input dim
    target = [src_onnx_shape[i] if (t == 0 and i < len(src_onnx_shape)) else t
              for i, t in enumerate(target)]
    total = int(np.prod(src_onnx_shape[1:]))
    rest = target[1:]
    if rest.count(-1) > 1:
        im.fail(f"Reshape to {target} has more than one inferred dimension")
    if rest.count(-1) == 1:
        known = int(np.prod([r for r in rest if r != -1]))
        if known <= 0 or total % known:
            im.fail(f"Reshape of {src_onnx_shape} to {target} does not divide evenly")
        rest[rest.index(-1)] = total // known
    if int(np.prod(rest)) != total:
        # the batch would be folded into (or split out of) another dimension
        im.fail(f"Reshape of {src_onnx_shape} to {target} changes the batch dimension; the batch must "
                "stay the first dimension")
    shape = [-1] + rest
    x = im.get(x_onnx, "plain")
    im.emit(Op.RESHAPE, [x], {"shape": shape}, layout="plain")


def _reshape(im):
    n = im.node
    if im.is_const(n.input[0]):
        im.consts[n.output[0]] = im.consts[n.input[0]].reshape(im.const(n.input[1]))
        return
    _reshape_to(im, im.const(n.input[1]).tolist())


def _flatten(im):
    if int(im.attr("axis", 1)) != 1:
        im.fail("Flatten is supported with axis=1")
    _reshape_to(im, [-1, -1])


def _squeeze_unsqueeze(squeeze: bool):
    def handler(im):
        n = im.node
        axes = im.attr("axes")
        if axes is None and len(n.input) > 1:
            axes = im.const(n.input[1]).tolist()
        if im.is_const(n.input[0]):
            arr = im.consts[n.input[0]]
            im.consts[n.output[0]] = (np.squeeze(arr, tuple(axes)) if squeeze
                                      else np.expand_dims(arr, tuple(axes)))
            return
        ir, layout = im.values[n.input[0]]
        shape = list(im.b.shape_of(ir))
        onnx_shape = ([shape[0], shape[3], shape[1], shape[2]]
                      if len(shape) == 4 and layout == "nhwc" else shape)
        rank = len(onnx_shape)
        if squeeze:
            axes = [a % rank for a in (axes or [i for i, d in enumerate(onnx_shape) if d == 1])]
            new = [d for i, d in enumerate(onnx_shape) if i not in axes]
        else:
            new = list(onnx_shape)
            for a in sorted(a % (rank + len(axes)) for a in axes):
                new.insert(a, 1)
        if 0 in (axes or []) and squeeze:
            im.fail("squeezing the batch dimension is not supported")
        _reshape_to(im, new)
    return handler


def _transpose(im):
    n = im.node
    perm = list(im.attr("perm"))
    if im.is_const(n.input[0]):
        im.consts[n.output[0]] = np.transpose(im.consts[n.input[0]], perm)
        return
    if perm[0] != 0:
        im.fail("Transpose that moves the batch dimension is not supported")
    x = im.get(n.input[0], "plain")
    im.emit(Op.TRANSPOSE, [x], {"perm": perm}, layout="plain")


def _softmax(im):
    n = im.node
    rank = im.rank(n.input[0])
    axis = int(im.attr("axis", -1))
    axis = axis % rank
    layout = im.layout_of(n.input[0])
    if rank == 4 and layout == "nhwc" and axis == 1:
        im.emit(Op.SOFTMAX, [im.get(n.input[0], "nhwc")], {"beta": 1.0})
    elif axis == rank - 1:
        im.emit(Op.SOFTMAX, [im.get(n.input[0], "plain")], {"beta": 1.0}, layout="plain")
    else:
        im.fail(f"Softmax over axis {axis} of a rank-{rank} tensor is not supported "
                "(supported: the last axis, or the channel axis of NCHW)")


def _pad(im):
    n = im.node
    mode = im.attr("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode != "constant":
        im.fail(f"Pad mode '{mode}' is not supported (only 'constant')")
    pads = im.attr("pads")
    if pads is None:
        pads = im.const(n.input[1]).tolist()
    value = im.attr("value", 0.0)
    if len(n.input) > 2 and n.input[2]:
        value = float(im.const(n.input[2]))
    rank = im.rank(n.input[0])
    pairs = [[int(pads[i]), int(pads[i + rank])] for i in range(rank)]
    if pairs[0] != [0, 0]:
        im.fail("padding the batch dimension is not supported")
    layout = im.layout_of(n.input[0])
    if rank == 4 and layout == "nhwc":
        pairs = [pairs[i] for i in NCHW_TO_NHWC]
    im.emit(Op.PAD, [im.get(n.input[0], layout)], {"pads": pairs, "value": float(value)},
            layout=layout)


def _shape(im):
    n = im.node
    ir, layout = im.values[n.input[0]]
    shape = list(im.b.shape_of(ir))
    if len(shape) == 4 and layout == "nhwc":
        shape = [shape[0], shape[3], shape[1], shape[2]]
    shape[0] = 0  # batch: Reshape's 0 keeps the input's batch
    im.consts[n.output[0]] = np.array(shape, np.int64)


def _const_fold(fn):
    def handler(im):
        n = im.node
        if not all(im.is_const(i) for i in n.input if i):
            im.fail(f"{n.op_type} is supported only on constants (shape computations)")
        im.consts[n.output[0]] = fn(im, *[im.consts[i] for i in n.input if i])
    return handler


def _gather(im, data, idx):
    return np.take(data, idx, axis=int(im.attr("axis", 0)))


def _concat_const(im, *xs):
    return np.concatenate([np.atleast_1d(x) for x in xs], axis=int(im.attr("axis")))


def _cast(im, x):
    import onnx
    return x.astype(onnx.helper.tensor_dtype_to_np_dtype(im.attr("to")))


def _concat_dispatch(im):
    if all(im.is_const(i) for i in im.node.input):
        _const_fold(_concat_const)(im)
    else:
        _concat(im)


HANDLERS = {
    "Constant": _constant, "Identity": _identity, "Dropout": _identity,
    "Conv": _conv, "BatchNormalization": _batchnorm,
    "Relu": _relu, "Clip": _clip, "LeakyRelu": _unary(Op.LEAKY_RELU), "PRelu": _prelu,
    "Sigmoid": _unary(Op.SIGMOID), "Tanh": _unary(Op.TANH), "HardSigmoid": _unary(Op.HARD_SIGMOID),
    "HardSwish": _unary(Op.HARD_SWISH),
    "Add": _elementwise(Op.ADD), "Sub": _elementwise(Op.SUB), "Mul": _elementwise(Op.MUL),
    "Div": _elementwise("DIV"),
    "Concat": _concat_dispatch, "MaxPool": _pool(Op.MAX_POOL_2D), "AveragePool": _pool(Op.AVERAGE_POOL_2D),
    "GlobalAveragePool": _global_avg, "GlobalMaxPool": _global_max, "ReduceMean": _reduce_mean,
    "Gemm": _gemm, "MatMul": _matmul, "Flatten": _flatten, "Reshape": _reshape,
    "Squeeze": _squeeze_unsqueeze(True), "Unsqueeze": _squeeze_unsqueeze(False),
    "Transpose": _transpose, "Softmax": _softmax, "Pad": _pad,
    "Resize": resize, "Upsample": resize,
    "Shape": _shape, "Gather": _const_fold(_gather), "Cast": _const_fold(_cast),
    "DequantizeLinear": dequantize_linear,
}

from converters.onnx_ops_seg import install_seg_handlers  # noqa: E402  (segmentation/detection ops)

install_seg_handlers(HANDLERS)
