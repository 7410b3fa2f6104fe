"""ONNX Resize / Upsample (nearest) -> RESIZE_NEAREST. Accepted only when the ONNX coordinate
mapping really repeats each pixel (output i reads input i // scale); every other combination of
coordinate_transformation_mode and nearest_mode is refused by name."""
from __future__ import annotations

import numpy as np

from tinycnn.ir import Op


def resize(im):
    n = im.node
    mode = im.attr("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode != "nearest":
        im.fail(f"{n.op_type} mode '{mode}' is not supported (only 'nearest' with integer scales)")
    scales = None
    if n.op_type == "Upsample":
        scales = im.const(n.input[1]) if len(n.input) > 1 else im.attr("scales")
    else:
        if len(n.input) > 2 and n.input[2] and im.const(n.input[2]).size:
            scales = im.const(n.input[2])
        elif len(n.input) > 3 and n.input[3]:
            x_ir = im.get(n.input[0], "nhwc")
            _, h, w, c = im.b.shape_of(x_ir)
            sizes = im.const(n.input[3])
            scales = np.array([1, 1, sizes[2] / h, sizes[3] / w])
    scales = np.asarray(scales, np.float64)
    if scales.shape != (4,) or scales[0] != 1 or scales[1] != 1 or np.any(scales % 1):
        im.fail(f"only integer spatial scales are supported, got {scales.tolist()}")
    x = im.get(n.input[0], "nhwc")
    if n.op_type == "Resize":
        _, h, w, _ = im.b.shape_of(x)
        for size, scale in ((h, int(scales[2])), (w, int(scales[3]))):
            if not np.array_equal(_resize_source_index(im, size, scale), np.arange(size * scale) // scale):
                ctm, nm = im.attr("coordinate_transformation_mode", b"half_pixel"), im.attr("nearest_mode", b"round_prefer_floor")
                im.fail(f"Resize with coordinate_transformation_mode={ctm!r} and nearest_mode={nm!r} does not "
                        "repeat each pixel; supported: modes that map output i to input i // scale "
                        "(e.g. asymmetric + floor, half_pixel + round_prefer_floor)")
    im.emit(Op.RESIZE_NEAREST, [x], {"scale": [int(scales[2]), int(scales[3])]})


def _resize_source_index(im, size, scale):
    """Input index each output index reads, by the ONNX Resize definition (nearest mode)."""
    def text(name, default):
        v = im.attr(name, default)
        return v.decode() if isinstance(v, bytes) else v
    ctm = text("coordinate_transformation_mode", "half_pixel")
    nearest = text("nearest_mode", "round_prefer_floor")
    i = np.arange(size * scale, dtype=np.float64)
    out_size = size * scale
    if ctm in ("half_pixel", "pytorch_half_pixel"):
        x = (i + 0.5) / scale - 0.5 if (ctm == "half_pixel" or out_size > 1) else np.zeros_like(i)
    elif ctm == "asymmetric":
        x = i / scale
    elif ctm == "tf_half_pixel_for_nn":
        x = (i + 0.5) / scale
    elif ctm == "align_corners":
        x = i * (size - 1) / max(out_size - 1, 1)
    else:
        return None
    frac = x - np.floor(x)
    if nearest == "floor":
        idx = np.floor(x)
    elif nearest == "ceil":
        idx = np.ceil(x)
    elif nearest == "round_prefer_ceil":
        idx = np.where(frac == 0.5, np.ceil(x), np.round(x))
    else:  # round_prefer_floor
        idx = np.where(frac == 0.5, np.floor(x), np.round(x))
    return np.clip(idx, 0, size - 1).astype(np.int64)
