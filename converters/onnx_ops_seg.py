"""ONNX handlers for segmentation / detection ops: Resize (mode linear), ConvTranspose,
ReduceMean over non-spatial axes, ArgMax / ArgMin, DepthToSpace / SpaceToDepth, Slice.
Installed over converters/onnx_ops.HANDLERS by ``install_seg_handlers``; the existing handlers
keep nearest Resize and the spatial ReduceMean."""
from __future__ import annotations

import numpy as np

from tinycnn.ir import Op
from tinycnn.reference.movement import normalize_slice
from tinycnn.reference.transpose_conv import output_size

NCHW_AXIS_IN_NHWC = {0: 0, 1: 3, 2: 1, 3: 2}
INT_MAX = 2 ** 31 - 1


def _text(im, name, default):
    v = im.attr(name, default)
    return v.decode() if isinstance(v, bytes) else v


def _axis_map(im, name):
    """ONNX axis -> IR axis for the value's held layout."""
    if im.rank(name) == 4 and im.layout_of(name) == "nhwc":
        return lambda a: NCHW_AXIS_IN_NHWC[a % 4]
    rank = im.rank(name)
    return lambda a: a % rank


def _resize(nearest_handler):
    def handler(im):
        n = im.node
        if _text(im, "mode", "nearest") != "linear":
            return nearest_handler(im)
        if n.op_type == "Upsample":
            ctm, scales, sizes = "asymmetric", (im.const(n.input[1]) if len(n.input) > 1 else im.attr("scales")), None
        else:
            ctm = _text(im, "coordinate_transformation_mode", "half_pixel")
            scales = im.const(n.input[2]) if len(n.input) > 2 and n.input[2] else None
            sizes = im.const(n.input[3]) if len(n.input) > 3 and n.input[3] else None
            if im.attr("antialias", 0):
                im.fail("Resize linear with antialias=1 is not supported")
            axes = im.attr("axes")
            if axes is not None:  # opset 18: sizes / scales of the listed axes only
                if sorted(a % 4 for a in axes) != [2, 3]:
                    im.fail(f"Resize axes {list(axes)} must be the spatial axes (2, 3)")
                c = im.b.shape_of(im.get(n.input[0], "nhwc"))[3]
                scales = None if scales is None or not scales.size else np.concatenate([[1, 1], scales])
                sizes = None if sizes is None or not sizes.size else np.concatenate([[1, c], sizes])
        x = im.get(n.input[0], "nhwc")
        if len(im.b.shape_of(x)) != 4:
            im.fail("Resize linear is supported on 4-D NCHW tensors")
        _, h, w, _ = im.b.shape_of(x)
        if sizes is not None and np.asarray(sizes).size:
            if np.asarray(sizes).shape != (4,) or int(sizes[1]) != im.b.shape_of(x)[3]:
                im.fail(f"Resize sizes {np.asarray(sizes).tolist()} must resize only H and W")
            out = [int(sizes[2]), int(sizes[3])]
        else:
            scales = np.asarray(scales, np.float64).reshape(-1)
            if scales.shape != (4,) or scales[0] != 1 or scales[1] != 1:
                im.fail(f"Resize scales {scales.tolist()} must resize only H and W")
            out = [h * scales[2], w * scales[3]]
            if any(abs(o - round(o)) > 1e-6 for o in out):
                im.fail(f"Resize linear scales {scales.tolist()} do not give whole output sizes from {h}x{w}")
            out = [int(round(o)) for o in out]
        modes = {"half_pixel": (False, True), "asymmetric": (False, False), "align_corners": (True, False),
                 "pytorch_half_pixel": (False, True)}
        if ctm not in modes or (ctm == "pytorch_half_pixel" and min(out) <= 1):
            im.fail(f"Resize linear coordinate_transformation_mode '{ctm}' is not supported "
                    "(supported: half_pixel, pytorch_half_pixel with outputs > 1, align_corners, asymmetric)")
        align, half = modes[ctm]
        im.emit(Op.RESIZE_BILINEAR, [x], {"size": out, "align_corners": align, "half_pixel_centers": half})
    return handler


def _dense_transpose_weights(im, w, cin, group, dilations):
    """ONNX weights [C_in, C_out / group, KH, KW] -> TRANSPOSE_CONV's [C_out, KH', KW', C_in].
    group > 1: block-diagonal (zeros between groups); dilation d: the kernel with d - 1 zero
    rows/columns between taps, KH' = (KH - 1) * d + 1. Both are exact (zero weights add nothing,
    per-channel weight scales are unchanged); the MACs on the zeros are the cost."""
    if group < 1 or w.shape[0] != cin or cin % group:
        im.fail(f"ConvTranspose group {group} does not divide the {cin} input channels "
                f"(weights {list(w.shape)})")
    if len(dilations) != 2 or min(dilations) < 1:
        im.fail(f"ConvTranspose dilations {dilations}: two values >= 1 are supported")
    cig, cog = cin // group, w.shape[1]
    (dh, dw), (kh, kw) = dilations, w.shape[2:]
    out = np.zeros((cog * group, (kh - 1) * dh + 1, (kw - 1) * dw + 1, cin), np.float32)
    for g in range(group):
        out[g * cog:(g + 1) * cog, ::dh, ::dw, g * cig:(g + 1) * cig] = \
            w[g * cig:(g + 1) * cig].transpose(1, 2, 3, 0)
    return out


def _conv_transpose(im):
    n = im.node
    x = im.get(n.input[0], "nhwc")
    w = im.const(n.input[1]).astype(np.float32)  # [C_in, C_out / group, KH, KW]
    if len(im.b.shape_of(x)) != 4 or w.ndim != 4:
        im.fail("only 2-D ConvTranspose (4-D NCHW input) is supported")
    _, h, wd, cin = im.b.shape_of(x)
    wt = _dense_transpose_weights(im, w, cin, int(im.attr("group", 1)), list(im.attr("dilations", [1, 1])))
    k = list(wt.shape[1:3])
    strides = list(im.attr("strides", [1, 1]))
    out_pad = list(im.attr("output_padding", [0, 0]))
    auto_pad = _text(im, "auto_pad", "NOTSET")
    out_shape = im.attr("output_shape")
    pads = list(im.attr("pads", [0, 0, 0, 0]))
    if out_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        target = list(out_shape)[-2:] if out_shape is not None else [h * strides[0], wd * strides[1]]
        pads = [0, 0, 0, 0]
        for i, size in enumerate((h, wd)):
            total = strides[i] * (size - 1) + out_pad[i] + k[i] - target[i]
            if total < 0:
                im.fail(f"ConvTranspose output_shape {target} is larger than the op can produce")
            small = total // 2
            pads[i], pads[i + 2] = (total - small, small) if auto_pad == "SAME_LOWER" else (small, total - small)
    size = [output_size(h, k[0], strides[0], pads[0], pads[2], out_pad[0]),
            output_size(wd, k[1], strides[1], pads[1], pads[3], out_pad[1])]
    if min(size) < 1 or min(pads) < 0 or any(p >= s for p, s in zip(out_pad, strides)):
        im.fail(f"ConvTranspose pads {pads} / output_padding {out_pad} do not give a valid output")
    cout = wt.shape[0]
    bias = im.const(n.input[2]).astype(np.float32) if len(n.input) > 2 and n.input[2] else np.zeros(cout, np.float32)
    im.emit(Op.TRANSPOSE_CONV, [x, im.const_from_array(wt, n.output[0] + "_w"),
                                im.const_from_array(bias, n.output[0] + "_bias")],
            {"stride": strides, "pad": pads, "output_size": size})


def _reduce_mean(spatial_handler):
    def handler(im):
        n = im.node
        axes = im.attr("axes")
        if axes is None and len(n.input) > 1 and n.input[1]:
            axes = im.const(n.input[1]).tolist()
        if axes is None:
            im.fail("ReduceMean over all axes would reduce the batch; give explicit axes")
        rank = im.rank(n.input[0])
        onnx_axes = sorted(a % rank for a in axes)
        if rank == 4 and onnx_axes == [2, 3]:
            return spatial_handler(im)
        if 0 in onnx_axes:
            im.fail("ReduceMean over the batch axis is not supported")
        amap = _axis_map(im, n.input[0])
        ir_axes = sorted(amap(a) for a in onnx_axes)
        keep = bool(im.attr("keepdims", 1))
        layout = im.layout_of(n.input[0])
        if ir_axes != list(range(ir_axes[0], ir_axes[-1] + 1)) or (not keep and layout == "nhwc" and ir_axes != [3]):
            layout = "plain"  # reduce in ONNX order instead
            ir_axes = onnx_axes
            if ir_axes != list(range(ir_axes[0], ir_axes[-1] + 1)):
                im.fail(f"ReduceMean over non-contiguous axes {axes} is not supported")
        x = im.get(n.input[0], layout)
        im.emit(Op.REDUCE_MEAN, [x], {"axes": ir_axes, "keep_dims": keep}, layout=layout if keep else "plain")
    return handler


def _arg(op):
    def handler(im):
        n = im.node
        if im.attr("select_last_index", 0):
            im.fail(f"{n.op_type} with select_last_index=1 is not supported")
        axis = int(im.attr("axis", 0)) % im.rank(n.input[0])
        if axis == 0:
            im.fail(f"{n.op_type} over the batch axis is not supported")
        keep = bool(im.attr("keepdims", 1))
        layout = im.layout_of(n.input[0])
        ir_axis = _axis_map(im, n.input[0])(axis)
        if not keep and layout == "nhwc" and ir_axis != 3:
            layout, ir_axis = "plain", axis
        im.emit(op, [im.get(n.input[0], layout)], {"axis": ir_axis, "keep_dims": keep},
                layout=layout if keep else "plain")
    return handler


def _depth_space(op):
    def handler(im):
        n = im.node
        x = im.get(n.input[0], "nhwc")
        if len(im.b.shape_of(x)) != 4:
            im.fail(f"{n.op_type} needs a 4-D NCHW input")
        mode = _text(im, "mode", "DCR") if op == Op.DEPTH_TO_SPACE else "DCR"
        if mode not in ("DCR", "CRD"):
            im.fail(f"DepthToSpace mode '{mode}' is not supported (DCR, CRD)")
        im.emit(op, [x], {"block": int(im.attr("blocksize")), "mode": mode})
    return handler


def _slice(im):
    n = im.node
    if len(n.input) > 1:
        starts, ends = im.const(n.input[1]), im.const(n.input[2])
        axes = im.const(n.input[3]) if len(n.input) > 3 and n.input[3] else None
        steps = im.const(n.input[4]) if len(n.input) > 4 and n.input[4] else None
    else:
        starts, ends, axes, steps = im.attr("starts"), im.attr("ends"), im.attr("axes"), None
    rank = im.rank(n.input[0])
    starts, ends = np.asarray(starts).reshape(-1), np.asarray(ends).reshape(-1)
    axes = np.arange(len(starts)) if axes is None else np.asarray(axes).reshape(-1) % rank
    steps = np.ones(len(starts), np.int64) if steps is None else np.asarray(steps).reshape(-1)
    layout = im.layout_of(n.input[0])
    x = im.get(n.input[0], layout)
    shape = list(im.b.shape_of(x))
    amap = _axis_map(im, n.input[0])
    begin, stride, size = [0] * rank, [1] * rank, [-1] + shape[1:]
    for s, e, a, st in zip(starts, ends, axes, steps):
        if a == 0:
            im.fail("Slice of the batch axis is not supported")
        d = amap(int(a))
        try:
            begin[d], stride[d], size[d] = normalize_slice(shape[d], max(min(int(s), INT_MAX), -INT_MAX),
                                                           max(min(int(e), INT_MAX), -INT_MAX), int(st))
        except ValueError as exc:
            im.fail(str(exc))
    im.emit(Op.STRIDED_SLICE, [x], {"begin": begin, "stride": stride, "size": size}, layout=layout)


def install_seg_handlers(handlers):
    handlers.update({
        "Resize": _resize(handlers["Resize"]), "Upsample": _resize(handlers["Upsample"]),
        "ConvTranspose": _conv_transpose, "ReduceMean": _reduce_mean(handlers["ReduceMean"]),
        "ArgMax": _arg(Op.ARG_MAX), "ArgMin": _arg(Op.ARG_MIN),
        "DepthToSpace": _depth_space(Op.DEPTH_TO_SPACE), "SpaceToDepth": _depth_space(Op.SPACE_TO_DEPTH),
        "Slice": _slice,
    })
