"""Host fast paths that keep their arithmetic in int32 (or exact float32) SIMD lanes.

Numba types ``int32 op int32`` as int64, so a plain ``acc += (x + off) * w`` reduction
vectorizes in int64 lanes (half the width, plus sign extensions). These kernels vectorize over
output channels instead of reducing over K, fold the input offset into the bias at plan time
(sum((x + off) * w) = sum(x * w) + off * sum(w): identical modulo 2**32, and the accumulator is
an int32 in TFLite, so identical whenever TFLite's own int32 accumulator does not overflow —
the validator's accumulator limit), and truncate every partial sum back to int32, which lets
LLVM keep the lanes 32 bits wide. Each has the NumPy reference as oracle (tests/test_kernels.py,
tests/test_kernel_lanes.py).

fully_connected_lanes: weights transposed once to [K, Cout]; per input row one int32 accumulator
vector over the output channels.
"""
from __future__ import annotations

import numpy as np

from tinycnn.fixedpoint import multiply_by_quantized_multiplier as mbqm
from tinycnn.jit import njit


@njit
def fully_connected_lanes(x, w_t, bias_eff, mult, shift, quant, acc, out):
    """x int8 [N, K]; w_t int8 [K, Cout]; bias_eff int32 [Cout] (input offset folded in);
    acc int32 [Cout] scratch; quant = [input_offset, output_offset, act_min, act_max]."""
    n_batch, k_len = x.shape
    cout = w_t.shape[1]
    for n in range(n_batch):
        for oc in range(cout):
            acc[oc] = bias_eff[oc]
        for k in range(k_len):
            xv = np.int32(x[n, k])
            wrow = w_t[k]
            for oc in range(cout):
                acc[oc] = np.int32(acc[oc] + xv * np.int32(wrow[oc]))
        for oc in range(cout):
            v = mbqm(acc[oc], mult[oc], shift[oc]) + quant[1]
            if v < quant[2]:
                v = quant[2]
            if v > quant[3]:
                v = quant[3]
            out[n, oc] = v

