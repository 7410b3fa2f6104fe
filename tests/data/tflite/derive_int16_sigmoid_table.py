"""Measure TFLite's 256-entry int16 sigmoid table (sigmoid(i/24) in 0.16 fixed point, read by the
int16 LOGISTIC and TANH kernels) from the TFLite Micro interpreter and write it to
tinycnn/reference/sigmoid_table16.py. It is close to round(65536 * sigmoid(i / 24)) but not
equal (43 entries are 1 higher), so it is measured, not computed.

Run with the project venv (tflite-micro): .venv/bin/python tests/data/tflite/derive_int16_sigmoid_table.py

Method: a one-op int16 TANH model whose input scale makes TFLM's rescaled input v = 2x
(multiplier 16384, left shift 13); where v is a multiple of 256 the interpolation weight is 0 and
the output is table[v >> 8] - 32768 exactly (entries 0..254). Entry 255 is only ever read as the
upper interpolation point of entry 254: it is the value that reproduces every output there.
tests/test_tflite_int16x8.py then checks LOGISTIC and TANH on all 65,536 inputs at several scales.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from tests.tflite_builders import ModelWriter  # noqa: E402
from tinycnn.oracles import tflm  # noqa: E402


def measure() -> list:
    x = np.arange(-32768, 32768, dtype=np.int16).reshape(1, -1)
    s_in = float(np.float32(1 / 6144))
    w = ModelWriter()
    xi, oi = w.tensor((1, 65536), np.int16, s_in, 0), w.tensor((1, 65536), np.int16, 2.0 ** -15, 0)
    w.op("TANH", [xi], [oi])
    w.inputs, w.outputs = [xi], [oi]
    path = Path(tempfile.mkdtemp()) / "tanh16.tflite"
    path.write_bytes(w.to_bytes())
    ref = tflm.run(path, [x])[0].astype(np.int64)[0]
    m, shift = s_in * 4096 * 3, 0
    while m <= 32767 / 2 and shift <= 30:
        shift, m = shift + 1, m * 2
    assert (int(m), shift) == (16384, 13)
    v = (x[0].astype(np.int64) * 16384 + (1 << 12)) >> 13
    table = [None] * 256
    for vv, r in zip(v, ref):
        if vv >= 0 and vv & 255 == 0 and vv >> 8 < 255:
            table[int(vv >> 8)] = int(r) + 32768
    sel = (v >= 0) & (v >> 8 == 254) & (v & 255 > 0)
    fits = [d for d in range(8) if np.array_equal(
        ((table[254] << 8) + (v[sel] & 255) * d - (1 << 23) + (1 << 7)) >> 8, ref[sel])]
    assert len(fits) == 1 and None not in table[:255]
    table[255] = table[254] + fits[0]
    return table


def main():
    table = measure()
    rows = [", ".join(str(v) for v in table[i:i + 16]) for i in range(0, 256, 16)]
    out = ROOT / "tinycnn" / "reference" / "sigmoid_table16.py"
    out.write_text('"""TFLite\'s int16 sigmoid table: sigmoid(i / 24) in 0.16 fixed point, 256 entries, as\n'
                   'measured from TFLite Micro by tests/data/tflite/derive_int16_sigmoid_table.py (do not edit)."""\n'
                   "SIGMOID_TABLE_UINT16 = (\n" + "".join(f"    {r},\n" for r in rows) + ")\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
