"""The MicroPython runtime's legacy uint8 support (kernel variant "uint8", tinycnn/mpy/src/
p7_uint8.py), in real MicroPython under node: bit-exact with tflite-runtime's reference kernels
on the MobileNet-shaped uint8 fixture (depthwise, 1x1 conv, ADD, even-window AVERAGE_POOL_2D)
and on a 2x2 uint8 AVERAGE_POOL_2D model, on image-like inputs where pool ties are common. MicroPython is slow:
a few dozen inputs."""
from __future__ import annotations

import numpy as np
import tinycnn
from tests.test_tflite_uint8 import FIXTURES, _uint8_avgpool_file, fixture_inputs, image_like_u8
from tinycnn.mpy.host import run_blob
from tinycnn.oracles import tflite_ref


def _mp_uint8(blob, xu):
    got, _ = run_blob(blob, [(xu.astype(np.int16) - 128).astype(np.int8)])
    return (got[0].astype(np.int16) + 128).astype(np.uint8)


def test_micropython_uint8_mbnet_bit_exact_with_reference_kernels(tmp_path):
    path = FIXTURES["legacy_uint8_mbnet"]
    blob = tinycnn.convert(path, output=tmp_path / "u8.tcnn")
    xu = fixture_inputs("legacy_uint8_mbnet", n_synthetic=20)[80:]  # 20 digits + 20 synthetic
    ref = tflite_ref.run(path, xu)[0]
    np.testing.assert_array_equal(_mp_uint8(blob, xu).reshape(ref.shape), ref)


def test_micropython_uint8_average_pool_bit_exact(tmp_path):
    p = _uint8_avgpool_file(tmp_path, 2, 2, 1)
    blob = tinycnn.convert(p, output=tmp_path / "a.tcnn")
    xu = np.concatenate([image_like_u8(40, 8, 20 + c) for c in range(3)], axis=3)
    ref = tflite_ref.run(p, xu)[0]
    np.testing.assert_array_equal(_mp_uint8(blob, xu).reshape(ref.shape), ref)

