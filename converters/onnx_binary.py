"""Binarized networks in ONNX (PyTorch straight-through-estimator exports, XNOR-Net style).

Recognized pattern (see tests/data/bnn/PATTERNS.md for the fixture's exact node lists):

    x --Sign--> xb --Conv/Gemm/MatMul(W)--> d [--Mul(alpha per channel or scalar)--> y]

where W is a constant whose output-channel rows are each +-a_c (a ``Sign`` of a latent
initializer is folded to +-1 by the importer's constant folding; XNOR-Net exports that fold
alpha into W also match). This becomes one BINARY_CONV_2D / BINARY_FULLY_CONNECTED whose
weight is alpha[c] * sign(W) (the Mul is absorbed). ONNX Conv pads the Sign output with
zeros, so pad_mode is "zero". Bias (Conv B, Gemm C) is kept; the BatchNormalization that
usually follows is folded by the passes like any other.

Sign(0) is 0 in ONNX and +1 in tinycnn (docs/binary.md); trained exports practically never
produce exact zeros (the fixture script checks it). A Sign whose output feeds anything else
than the weighted op, or a weighted op with non-binary weights, is rejected with a clear error.
"""
from __future__ import annotations

import numpy as np

from tinycnn.ir import Op

WEIGHTED = ("Conv", "Gemm", "MatMul")


def _state(im):
    if not hasattr(im, "_binary"):
        im._binary = {"signed": set(), "absorbed": {}, "aliased": set()}
    return im._binary


def _consumers(im, name):
    return [n for n in im.model.graph.node if name in n.input]


def _sign(im):
    """All readers binary Conv/Gemm/MatMul: the binary ops sign their input themselves (alias).
    Any other reader (MaxPool, GlobalAveragePool, Flatten -> real-valued head, a graph output):
    a real-valued SIGN node (+-1); a binary layer may still read it (sign(sign(x)) = sign(x))."""
    n = im.node
    src, out = n.input[0], n.output[0]
    readers = _consumers(im, out)
    is_output = any(o.name == out for o in im.model.graph.output)
    if not is_output and readers and all(_binary_reader(im, u, out) for u in readers):
        im.values[out] = im.values[src]
        _state(im)["aliased"].add(out)
    else:
        layout = im.layout_of(src)
        im.emit(Op.SIGN, [im.get(src, layout)], layout=layout)
    _state(im)["signed"].add(out)


def _binary_reader(im, node, name, depth=0):
    """A binary Conv/Gemm/MatMul reading `name`, or a MaxPool whose readers all are."""
    if node.op_type in WEIGHTED:
        return node.input[0] == name and _binary_weights(im, node)
    if node.op_type == "MaxPool" and depth < 4 and not any(o.name == node.output[0] for o in im.model.graph.output):
        users = _consumers(im, node.output[0])
        return bool(users) and all(_binary_reader(im, u, node.output[0], depth + 1) for u in users)
    return False


def _binary_weights(im, node):
    """Weights +-alpha per output channel; weights not computed yet (a Sign of a latent
    initializer later in the node list) count as binary and are checked when the op is reached."""
    if not im.is_const(node.input[1]):
        return True
    w = np.asarray(im.const(node.input[1]), np.float64)
    w2d = w.reshape(w.shape[0], -1) if node.op_type == "Conv" else (
        w.T if node.op_type == "MatMul" or not _attr(node, "transB", 0) else w)
    mags = np.abs(w2d)
    return bool(np.allclose(mags, mags[:, :1], rtol=1e-6, atol=0))


def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return a.i
    return default


def _max_pool_of_signs(pool):
    """MaxPool of a signed tensor stays signed (max(sign(x)) = sign(max(x))): binary readers
    of its output are binary layers (the quantizer binarizes the pooled int8 values)."""
    def handler(im):
        pool(im)
        if im.node.input[0] in _state(im)["signed"]:
            _state(im)["signed"].add(im.node.output[0])
    return handler


def _check_binary(im, w2d):
    mags = np.abs(w2d.astype(np.float64))
    if not np.allclose(mags, mags[:, :1], rtol=1e-6, atol=0):
        im.fail("the input is binarized by Sign but the weights are not binary (+-alpha per "
                "output channel); binary activations x real weights are not supported")


def _absorb_scale(im, out_name, cout, rank):
    """alpha from a sole Mul-by-constant reader of the binary op's output (or ones)."""
    users = _consumers(im, out_name)
    if len(users) != 1 or users[0].op_type != "Mul" or any(o.name == out_name for o in im.model.graph.output):
        return np.ones(cout), None
    mul = users[0]
    other = mul.input[1] if mul.input[0] == out_name else mul.input[0]
    if not im.is_const(other):
        return np.ones(cout), None
    c = np.asarray(im.const(other), np.float64)
    per_channel_shapes = {(cout,), (1, cout)} if rank == 2 else {(1, cout, 1, 1), (cout, 1, 1)}
    if c.size == 1:
        return np.full(cout, float(c.reshape(-1)[0])), mul
    if c.shape in per_channel_shapes:
        return c.reshape(-1), mul
    return np.ones(cout), None


def _finish_scale(im, mul, conv_out):
    if mul is not None:
        _state(im)["absorbed"][mul.output[0]] = conv_out


def _real_weights_on_signs(im):
    """True if the op reads a materialized SIGN with real weights (an ordinary layer on +-1)."""
    n = im.node
    if n.input[0] not in _state(im)["signed"]:
        return True
    if im.is_const(n.input[1]) and not _binary_weights(im, n):
        if n.input[0] in _state(im)["aliased"]:
            im.fail("the input is binarized by Sign but the weights are not binary (+-alpha per "
                    "output channel); binary activations x real weights are not supported")
        return True
    return False


def _binary_conv(im):
    n = im.node
    if _real_weights_on_signs(im):
        return False  # real weights read the materialized SIGN (+-1) as an ordinary conv
    x = im.get(n.input[0], "nhwc")
    if int(im.attr("group", 1)) != 1:
        im.fail("grouped binary convolutions are not supported")
    w = im.const(n.input[1]).astype(np.float64)  # [O, I, KH, KW]
    cout = w.shape[0]
    _check_binary(im, w.reshape(cout, -1))
    bias = im.const(n.input[2]).astype(np.float64) if len(n.input) > 2 and n.input[2] else None
    alpha, mul = _absorb_scale(im, n.output[0], cout, 4)
    w = w * alpha.reshape(-1, 1, 1, 1)
    geom = im.spatial_params(list(w.shape[2:]), x)
    ins = [x, im.const_from_array(w.transpose(0, 2, 3, 1).astype(np.float32), n.output[0] + "_w")]
    if bias is not None:
        ins.append(im.const_from_array((bias * alpha).astype(np.float32), n.output[0] + "_bias"))
    im.emit(Op.BINARY_CONV_2D, ins, {**geom, "pad_mode": "zero",
                                      "source_op": "Sign+Conv" + ("+Mul" if mul is not None else "")})
    _finish_scale(im, mul, n.output[0])
    return True


def _binary_fc(im):
    n = im.node
    if _real_weights_on_signs(im):
        return False
    if im.rank(n.input[0]) != 2:
        im.fail("binary Gemm/MatMul input must be rank 2")
    if n.op_type == "Gemm":
        if im.attr("transA", 0):
            im.fail("Gemm with transA=1 is not supported")
        w = im.const(n.input[1]).astype(np.float64) * float(im.attr("alpha", 1.0))
        w = w if im.attr("transB", 0) else w.T
    else:
        w = im.const(n.input[1]).astype(np.float64).T
    cout = w.shape[0]
    _check_binary(im, w)
    bias = None
    if n.op_type == "Gemm" and len(n.input) > 2 and n.input[2]:
        bias = np.broadcast_to(im.const(n.input[2]).astype(np.float64).reshape(-1)
                               * float(im.attr("beta", 1.0)), (cout,))
    alpha, mul = _absorb_scale(im, n.output[0], cout, 2)
    ins = [im.get(n.input[0], "plain"), im.const_from_array((w * alpha[:, None]).astype(np.float32),
                                                            n.output[0] + "_w")]
    if bias is not None:
        ins.append(im.const_from_array((bias * alpha).astype(np.float32), n.output[0] + "_bias"))
    im.emit(Op.BINARY_FULLY_CONNECTED, ins, {"source_op": f"Sign+{n.op_type}" + ("+Mul" if mul is not None else "")},
            layout="plain")
    _finish_scale(im, mul, n.output[0])
    return True


def install_binary_handlers(handlers: dict):
    """Add Sign and wrap Conv/Gemm/MatMul/Mul in the ONNX importer's handler table."""
    conv, gemm, matmul, mul = handlers["Conv"], handlers["Gemm"], handlers["MatMul"], handlers["Mul"]
    handlers["MaxPool"] = _max_pool_of_signs(handlers["MaxPool"])

    def mul_or_absorbed(im):
        absorbed = _state(im)["absorbed"]
        if im.node.output[0] in absorbed:
            im.values[im.node.output[0]] = im.values[absorbed[im.node.output[0]]]
            return
        mul(im)

    handlers.update({
        "Sign": _sign,
        "Conv": lambda im: _binary_conv(im) or conv(im),
        "Gemm": lambda im: _binary_fc(im) or gemm(im),
        "MatMul": lambda im: _binary_fc(im) or matmul(im),
        "Mul": mul_or_absorbed,
    })
