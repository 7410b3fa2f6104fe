"""int8 kernels of the segmentation/detection ops, each tested for exact equality with its
NumPy oracle (tinycnn/reference/{resize_bilinear,transpose_conv,reduce,movement}.py).

resize_bilinear_s8: positions and neighbour indices per output row/column are computed once
  at plan time (reference.resize_bilinear.integer_coords) and passed in;
transpose_conv_s8: scatter form with one int32 accumulator image [OH, OW, C_out] as scratch
  (TFLite Micro's reference kernel uses the same scratch buffer); geom = [stride_h, stride_w,
  pad_top, pad_left]; quant = [input_offset, output_offset, act_min, act_max];
reduce_mean_s8: x viewed as [outer, reduced, inner]; quant = [input_offset, output_offset,
  output_multiplier, output_shift];
arg_reduce: x viewed as [outer, reduced, inner] -> int32 index of the first max (sign=1) or
  min (sign=-1).
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import multiply_by_quantized_multiplier as mbqm
from tinycnn.jit import njit


@njit
def resize_bilinear_s8(x, py, y0, y1, px, x0, x1, qmin, qmax, out):
    n_batch, _, _, c_n = x.shape
    _, out_h, out_w, _ = out.shape
    one = np.int64(1 << 10)
    for n in range(n_batch):
        for oy in range(out_h):
            fy = np.int64(py[oy]) - one * y0[oy]
            for ox in range(out_w):
                fx = np.int64(px[ox]) - one * x0[ox]
                w00 = (one - fy) * (one - fx)
                w10 = fy * (one - fx)
                w01 = (one - fy) * fx
                w11 = fy * fx
                for c in range(c_n):
                    acc = (np.int64(x[n, y0[oy], x0[ox], c]) * w00 + np.int64(x[n, y1[oy], x0[ox], c]) * w10
                           + np.int64(x[n, y0[oy], x1[ox], c]) * w01 + np.int64(x[n, y1[oy], x1[ox], c]) * w11)
                    v = (acc + (1 << 19)) >> 20 if acc > 0 else -((-acc + (1 << 19)) >> 20)
                    out[n, oy, ox, c] = max(min(v, qmax), qmin)


@njit
def transpose_conv_s8(x, w, bias, mult, shift, geom, quant, acc, out):
    n_batch, in_h, in_w, in_c = x.shape
    cout, kh, kw, _ = w.shape
    _, out_h, out_w, _ = out.shape
    sh, sw, pt, pl = geom[0], geom[1], geom[2], geom[3]
    in_off = np.int32(quant[0])
    for n in range(n_batch):
        acc[:] = 0
        for iy in range(in_h):
            for ix in range(in_w):
                for ky in range(kh):
                    oy = iy * sh - pt + ky
                    if oy < 0 or oy >= out_h:
                        continue
                    for kx in range(kw):
                        ox = ix * sw - pl + kx
                        if ox < 0 or ox >= out_w:
                            continue
                        for co in range(cout):
                            s = np.int32(0)
                            for ci in range(in_c):
                                s += (np.int32(x[n, iy, ix, ci]) + in_off) * np.int32(w[co, ky, kx, ci])
                            acc[oy, ox, co] += s
        for oy in range(out_h):
            for ox in range(out_w):
                for co in range(cout):
                    v = mbqm(acc[oy, ox, co] + bias[co], mult[co], shift[co]) + quant[1]
                    out[n, oy, ox, co] = max(min(v, quant[3]), quant[2])


@njit
def reduce_mean_s8(x, quant, out):
    outer, red, inner = x.shape
    for o in range(outer):
        for i in range(inner):
            acc = np.int32(0)
            for r in range(red):
                acc += np.int32(x[o, r, i])
            v = mbqm(acc + np.int32(quant[0]) * red, quant[2], quant[3]) + quant[1]
            out[o, i] = max(min(v, 127), -128)


@njit
def arg_reduce(x, sign, out):
    outer, red, inner = x.shape
    for o in range(outer):
        for i in range(inner):
            best = x[o, 0, i]
            idx = 0
            for r in range(1, red):
                v = x[o, r, i]
                if (sign > 0 and v > best) or (sign < 0 and v < best):
                    best = v
                    idx = r
            out[o, i] = idx
