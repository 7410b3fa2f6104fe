"""Quantize a float graph with binary layers into a mixed int8 / 1-bit graph.

The float graph holds BINARY_CONV_2D / BINARY_FULLY_CONNECTED nodes (from the ONNX/Larq
importers, or made from ordinary layers by ``binarize_layers`` for ``--scheme binary``)
whose semantics are in tinycnn/reference/binary_float.py. Everything else is quantized to
int8 by tinycnn.quant.int8; then this module rewrites the binary parts:

- a binary layer's input must be packed sign bits. If the producer is int8, a BINARIZE node
  (bit = q < zero_point, i.e. real value < 0) is inserted;
- a tensor whose every reader only needs its sign (binary layers, possibly through max pools
  and a flatten) is stored packed: the producing binary layer writes bits directly with an
  integer per-channel threshold (its scale, bias, clamp and the next layer's sign fused:
  bit = dot < threshold), max pools become BINARY_MAX_POOL_2D (a bitwise AND) and the
  flatten a reshape of words. sign(max(x)) = max(sign(x)), so this is exact;
- otherwise the binary layer writes int8 (output transform in binary_int.binary_output).
- an int8 conv whose only reader is a BINARIZE becomes a CONV_2D with output_mode "packed"
  (bit = accumulator < 0) with int16 per-channel weights, int64 bias and, if it reads a graph
  input read only by such convs, an int16 input (``_widen_sign_conv``, docs/binary.md).

Fields of a quantized binary layer (attrs): in_channels (logical C per pixel), in_pixels (FC
over a flattened packed [H, W, C] input), out_channels, pad_mode, output_mode
("packed" | "int8"), output_zero_point, act_min, act_max, dot_shift (int8 mode), macs (XNOR-popcount
bit operations), params (logical parameter count), weight_bits_label "1-bit".
params: threshold int16/int32 [Cout] (packed) or the integer output affine (int8):
bias_q, output_multiplier, output_shift int32 [Cout] (``int8_output_affine``).
Weights: uint32 [Cout, KH, KW, words(Cin)] (conv) or [Cout, in_pixels * words(C)] (FC).
"""
from __future__ import annotations

import numpy as np

from tinycnn.costs import node_macs
from tinycnn.bitpack import pack_bits, sign_bits, words_for
from tinycnn.errors import TinyCNNError
from tinycnn.ir import Graph, Node, Op, QuantParams, Tensor
from tinycnn.quant.int8 import QuantConfig, quantize_int8
from tinycnn.quant.int16x8 import symmetric_int16_qparams
from tinycnn.reference.binary_float import channel_alpha, real_output

BINARY_OPS = (Op.BINARY_CONV_2D, Op.BINARY_FULLY_CONNECTED)


def sign_thresholds(attrs, alpha, bias, k_max: int) -> np.ndarray:
    """Per channel, the integer t with sign(real_output(dot)) = -1 iff dot < t, found by
    evaluating the exact output transform on every possible dot in [-K, K] (the transform
    is non-decreasing in dot because alpha >= 0, so the negative outputs form a prefix)."""
    d = np.arange(-k_max, k_max + 1, dtype=np.int64)[:, None]
    neg = real_output(attrs, d, alpha, bias) < 0  # [2K+1, C]
    if np.any(neg[1:] & ~neg[:-1]):
        raise TinyCNNError("binary output transform is not monotone (negative alpha?)")
    thr = -k_max + neg.sum(axis=0)
    return thr.astype(np.int16 if k_max < 32767 else np.int32)


def _binary_input(node) -> bool:
    return node.op in BINARY_OPS and node.attrs.get("binary_input", True)


def _flatten_shape(graph, node):
    """[N,H,W,C] -> [N,H*W*C] reshape? Returns (H*W, C) or None."""
    src, dst = graph.tensors[node.inputs[0]].shape, graph.tensors[node.outputs[0]].shape
    if len(src) == 4 and len(dst) == 2:
        return src[1] * src[2], src[3]
    return None


def _sign_only(graph, name, memo) -> bool:
    """True if every reader of `name` only needs its sign."""
    if name in memo:
        return memo[name]
    memo[name] = False
    users = graph.consumers(name)
    ok = bool(users) and name not in graph.outputs
    for u in users:
        if _binary_input(u) and u.inputs[0] == name:
            continue
        if u.op == Op.MAX_POOL_2D and not u.attrs.get("clamp") and _sign_only(graph, u.outputs[0], memo):
            continue
        if (u.op == Op.RESHAPE and _flatten_shape(graph, u)
                and all(c.op == Op.BINARY_FULLY_CONNECTED for c in graph.consumers(u.outputs[0]))
                and _sign_only(graph, u.outputs[0], memo)):
            continue
        ok = False
    memo[name] = ok
    return ok


def packed_tensors(fg: Graph) -> dict:
    """Tensors stored as packed bits -> their logical (pixels, channels)."""
    memo, packed = {}, {}
    for node in fg.nodes:
        out = node.outputs[0]
        if node.op in BINARY_OPS and _sign_only(fg, out, memo):
            packed[out] = (1, fg.tensors[out].shape[-1])
        elif node.op == Op.MAX_POOL_2D and node.inputs[0] in packed:
            packed[out] = packed[node.inputs[0]]
        elif node.op == Op.RESHAPE and node.inputs[0] in packed:
            packed[out] = _flatten_shape(fg, node)
    return packed


def _packed_tensor(name, shape, pixels, channels):
    if len(shape) == 2 and pixels > 1:
        return Tensor(name, (shape[0], pixels * words_for(channels)), "uint32")
    return Tensor(name, tuple(shape[:-1]) + (words_for(channels),), "uint32")


def _rewrite_binary(qg, fg, node, in_layout, out_packed):
    fnode = next(n for n in fg.nodes if n.name == node.name)
    w = fg.tensors[fnode.inputs[1]].data
    b = (fg.tensors[fnode.inputs[2]].data if len(fnode.inputs) > 2 and fnode.inputs[2]
         else np.zeros(w.shape[0], np.float32))
    alpha = channel_alpha(w)
    pixels, cin = in_layout
    a = node.attrs
    cout = w.shape[0]
    if node.op == Op.BINARY_CONV_2D:
        if a.get("groups", 1) != 1:
            raise TinyCNNError(f"binary layer '{node.name}': grouped binary convs are not supported")
        wp = pack_bits(sign_bits(w))
        k_max = int(np.prod(w.shape[1:]))
        out_hw = np.prod(fg.tensors[node.outputs[0]].shape[1:3])
        a["macs"] = int(out_hw * cout * k_max)
    else:
        wp = pack_bits(sign_bits(w.reshape(cout, pixels, cin))).reshape(cout, -1)
        k_max = int(pixels * cin)
        a["macs"] = int(cout * k_max)
    wname = qg.unique_name(fnode.inputs[1] + "_bits")
    qg.tensors[wname] = Tensor(wname, wp.shape, "uint32", np.ascontiguousarray(wp))
    node.inputs = [node.inputs[0], wname]
    a.update(in_channels=int(cin), in_pixels=int(pixels), out_channels=int(cout),
             pad_mode=a.get("pad_mode", "zero"), params=int(w.size + 2 * cout),
             weight_bits_label="1-bit")
    node.params = {}
    if out_packed:
        a["output_mode"] = "packed"
        node.params["threshold"] = sign_thresholds(a, alpha, b, k_max)
    else:
        q = qg.tensors[node.outputs[0]].quant
        a["output_mode"] = "int8"
        fields, node.params = int8_output_affine(alpha, b, float(q.scale[0]), int(q.zero_point[0]),
                                                 a.get("clamp"), k_max)
        a.update(fields)


def int8_output_affine(alpha, bias, scale, zero_point, clamp, k_max):
    """Integer output transform of a binary layer with int8 output (no float at run time):
    q = clamp(zero_point + MBQM(dot * 2^dot_shift + bias_q[c], output_multiplier[c],
    output_shift[c]), act_min, act_max) with the TFLite fixed-point multiply (MBQM), the
    integer form of q = round(clamp(alpha[c] * dot + bias[c]) / scale) + zero_point.
    dot_shift keeps the bias' fraction (|dot| <= k_max; the accumulator stays in int32).
    Returns (attrs, params)."""
    from tinycnn.fixedpoint import quantize_multiplier
    alpha = np.abs(np.asarray(alpha, np.float64))
    bias = np.zeros(len(alpha)) if bias is None else np.asarray(bias, np.float64)
    dot_shift = int(max(0, min(16, 29 - int(np.ceil(np.log2(k_max + 1))))))
    limit = float(1 << 30)
    safe = np.where(alpha > 0, alpha, 1.0)
    bias_q = np.where(alpha > 0, np.clip(np.round(bias * (1 << dot_shift) / safe), -limit, limit), 0)
    pairs = [quantize_multiplier(float(al) / (scale * (1 << dot_shift))) if al > 0 else (0, 0) for al in alpha]
    lo, hi = clamp or (None, None)
    bound = lambda v, d: d if v is None else int(np.clip(zero_point + _round_away(v / scale), -128, 127))  # noqa: E731
    attrs = dict(output_zero_point=int(zero_point), act_min=bound(lo, -128), act_max=bound(hi, 127),
                 dot_shift=dot_shift)
    params = {"bias_q": bias_q.astype(np.int32), "output_multiplier": np.array([m for m, _ in pairs], np.int32),
              "output_shift": np.array([s for _, s in pairs], np.int8)}  # |shift| <= 31
    return attrs, params


def _round_away(v: float) -> int:
    return int(np.sign(v) * np.floor(abs(v) + 0.5))


def quantize_binary(fg: Graph, obs, cfg: QuantConfig | None = None, sign_conv_input: str = "int16") -> Graph:
    """Float graph with binary layers -> quantized mixed int8 / 1-bit graph.

    ``sign_conv_input``: "int16" (default) makes a graph input whose only readers are
    sign-producing convs (output_mode "packed", see ``_fuse_sign_into_int8_conv``) int16
    symmetric; "int8" keeps it int8 (those convs' weights are int16 either way)."""
    for node in fg.nodes:
        if node.op in BINARY_OPS and not node.attrs.get("binary_input", True):
            raise TinyCNNError(f"binary layer '{node.name}': 1-bit weights with int8 activations "
                               "are not supported; binarize the input too")
    qg = quantize_int8(fg, obs, cfg)
    qg.meta["scheme"] = "binary"
    packed = packed_tensors(fg)
    for name, (pixels, channels) in packed.items():
        qg.tensors[name] = _packed_tensor(name, qg.tensors[name].shape, pixels, channels)
    binarized = {}
    for node in list(qg.nodes):
        if node.op in BINARY_OPS:
            x = node.inputs[0]
            if x in packed:
                layout = packed[x]
            else:  # int8 producer: insert a BINARIZE
                if x not in binarized:
                    t = qg.tensors[x]
                    bits = qg.unique_name(x + "_bits")
                    qg.tensors[bits] = _packed_tensor(bits, t.shape, 1, t.shape[-1])
                    qg.nodes.append(Node(qg.unique_name(x + "_binarize"), Op.BINARIZE, [x], [bits], {
                        "input_zero_point": int(t.quant.zero_point[0]), "channels": int(t.shape[-1]),
                        "source_name": x + " (sign)", "macs": int(np.prod(t.shape[1:]))}))
                    binarized[x] = bits
                node.inputs[0] = binarized[x]
                shape = fg.tensors[x].shape
                layout = (int(np.prod(shape[1:-1])), shape[-1]) if node.op == Op.BINARY_FULLY_CONNECTED \
                    and len(shape) == 4 else (1, shape[-1])
            _rewrite_binary(qg, fg, node, layout, node.outputs[0] in packed)
        elif node.op == Op.MAX_POOL_2D and node.inputs[0] in packed:
            node.op = Op.BINARY_MAX_POOL_2D
            node.attrs["channels"] = int(packed[node.inputs[0]][1])
        elif node.op == Op.RESHAPE and node.inputs[0] in packed:
            node.attrs["shape"] = [-1] + list(qg.tensors[node.outputs[0]].shape[1:])
    _fuse_sign_into_int8_conv(qg, fg, obs, sign_conv_input)
    qg.toposort()
    qg.remove_unused_tensors()
    return qg


def _fuse_sign_into_int8_conv(qg: Graph, fg: Graph, obs, sign_conv_input: str = "int16"):
    """int8 CONV_2D -> BINARIZE (sole reader, no fused clamp) becomes one CONV_2D with
    output_mode "packed": bit = accumulator < 0, the exact sign of the conv's real output,
    instead of the sign of its int8 rounding (which flips values within half an output step
    below 0). Only that sign is ever read, so the layer is made precise (``_widen_sign_conv``)."""
    fused = []
    for bz in [n for n in qg.nodes if n.op == Op.BINARIZE]:
        conv = qg.producer(bz.inputs[0])
        if (conv is None or conv.op != Op.CONV_2D or conv.attrs.get("groups", 1) != 1
                or conv.attrs.get("clamp") or len(qg.consumers(bz.inputs[0])) != 1
                or bz.inputs[0] in qg.outputs):
            continue
        conv.attrs["macs"] = node_macs(qg, conv)  # before the output becomes packed words
        conv.attrs["output_mode"] = "packed"
        conv.outputs = [bz.outputs[0]]
        qg.nodes.remove(bz)
        fused.append(conv)
    if sign_conv_input not in ("int8", "int16"):
        raise TinyCNNError(f"sign_conv_input must be 'int8' or 'int16', not {sign_conv_input!r}")
    fnodes = {n.name: n for n in fg.nodes}
    for name in {c.inputs[0] for c in fused}:
        readers = qg.consumers(name)
        if (sign_conv_input == "int16" and name in qg.inputs and qg.tensors[name].dtype == "int8"
                and all(r.op == Op.CONV_2D and r.attrs.get("output_mode") == "packed" for r in readers)):
            qg.tensors[name].dtype = "int16"  # TFLite 16x8 activations: symmetric, zero point 0
            qg.tensors[name].quant = symmetric_int16_qparams(*obs.range(name, "minmax"))
    for conv in fused:
        _widen_sign_conv(qg, conv, fnodes[conv.name], fg)


SIGN_CONV_WEIGHT_MAX = 32767


def _widen_sign_conv(qg: Graph, conv: Node, fnode: Node, fg: Graph):
    """Requantize a sign-producing conv from the float graph: int16 symmetric per-channel
    weights in [-32767, 32767], int64 bias at input_scale * weight_scale[c] (rounded in
    float64), int64 accumulation (exact: |x| <= 32768, |w| <= 32767, K < 2^33). The output is
    bit = (acc < 0): the tie acc == 0 gives +1 (sign(0) = +1, docs/binary.md). The batch
    norm is already folded into w and b; a negative BN scale negated the channel's weights
    and bias, so the comparison direction is always "< 0"."""
    w = np.asarray(fg.tensors[fnode.inputs[1]].data, np.float64)
    x = qg.tensors[conv.inputs[0]]
    if w.shape != qg.tensors[conv.inputs[1]].shape:
        raise TinyCNNError(f"'{conv.name}': float weight {w.shape} vs quantized "
                           f"{qg.tensors[conv.inputs[1]].shape}")
    cout = w.shape[0]
    amax = np.abs(w.reshape(cout, -1)).max(axis=1)
    w_scale = np.where(amax > 0, amax / SIGN_CONV_WEIGHT_MAX, 1.0).astype(np.float32)
    wq = np.clip(np.round(w / w_scale.astype(np.float64)[:, None, None, None]),
                 -SIGN_CONV_WEIGHT_MAX, SIGN_CONV_WEIGHT_MAX).astype(np.int16)
    b = np.zeros(cout)
    if len(fnode.inputs) > 2 and fnode.inputs[2]:
        b = np.asarray(fg.tensors[fnode.inputs[2]].data, np.float64)
    bias_scale = np.float64(x.quant.scale[0]) * w_scale.astype(np.float64)
    bq = np.clip(np.round(b / bias_scale), -2**62, 2**62).astype(np.int64)
    wname = qg.unique_name(conv.inputs[1] + "/int16")
    qg.add_tensor(wname, wq.shape, "int16", np.ascontiguousarray(wq),
                  QuantParams(w_scale, np.zeros(cout, np.int32), 0))
    bname = qg.unique_name((conv.inputs[2] if len(conv.inputs) > 2 and conv.inputs[2] else conv.name) + "/int64")
    qg.add_tensor(bname, (cout,), "int64", bq,
                  QuantParams(bias_scale.astype(np.float32), np.zeros(cout, np.int32), 0))
    conv.inputs = [conv.inputs[0], wname, bname]
    for k in ("output_offset", "act_min", "act_max"):
        conv.attrs.pop(k, None)
    conv.attrs.update(input_offset=int(-x.quant.zero_point[0]), input_dtype=x.dtype,
                      weight_bits_label="int16")  # `tinycnn info`: int16/ch
    conv.params = {}


# ---------------- post-training binarization (--scheme binary) ----------------

def default_binary_layers(graph: Graph) -> list:
    """Every conv / fully connected layer except the first and the last weighted one."""
    weighted = [n for n in graph.nodes if n.op in (Op.CONV_2D, Op.FULLY_CONNECTED, Op.DEPTHWISE_CONV_2D)]
    return [n.name for n in weighted[1:-1] if n.op != Op.DEPTHWISE_CONV_2D
            and n.attrs.get("groups", 1) == 1]


def binarize_layers(graph: Graph, names=None) -> Graph:
    """Turn the named CONV_2D / FULLY_CONNECTED layers of a float graph into binary layers
    (XNOR-Net: sign of the input, sign of the weights, per-channel alpha = mean |w|).
    Names may be node names or source layer names. Returns a new graph."""
    g = graph.copy()
    names = list(default_binary_layers(g) if names is None else names)
    by_name = {}
    for n in g.nodes:
        by_name.setdefault(n.name, n)
        by_name.setdefault(n.attrs.get("source_name", n.name), n)
    for name in names:
        node = by_name.get(name)
        if node is None or node.op not in (Op.CONV_2D, Op.FULLY_CONNECTED) or node.attrs.get("groups", 1) != 1:
            choices = ", ".join(default_binary_layers(graph)) or "(none)"
            raise TinyCNNError(f"--binary-layers: '{name}' is not a conv (groups=1) or fully connected "
                               f"layer of {graph.meta.get('source_path', 'the model')}; candidates: {choices}")
        node.op = Op.BINARY_CONV_2D if node.op == Op.CONV_2D else Op.BINARY_FULLY_CONNECTED
        node.attrs["pad_mode"] = "zero"
        node.attrs.pop("groups", None)
    g.meta["binary_layers"] = names
    return g
