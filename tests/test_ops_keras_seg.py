"""Keras UNet-style decoder (tests/data/keras/seg/unet_decoder.h5, made by
make_keras_seg_fixture.py): Conv2DTranspose ('same' stride 2 with relu, 'valid', output_padding,
no bias) and UpSampling2D(bilinear) import as TRANSPOSE_CONV / RESIZE_BILINEAR; the float graph
matches Keras' own predictions saved with the fixture, the int8 blob keeps SQNR >= 25 dB, and its
kernels equal the NumPy integer reference."""
import numpy as np

import tinycnn
from tests.conftest import DATA
from tinycnn.convert import import_model, to_nhwc
from tinycnn.ir import Op
from tinycnn.reference.float_ops import run_float
from tinycnn.reference.int_ops import run_int
from tinycnn.report import sqnr_db

PATH = DATA / "keras" / "seg" / "unet_decoder.h5"


def test_unet_decoder_float_matches_keras():
    d = np.load(DATA / "keras" / "seg" / "unet_decoder_data.npz")
    g = import_model(PATH)
    ops = [n.op for n in g.nodes]
    assert ops.count(Op.TRANSPOSE_CONV) == 3 and Op.RESIZE_BILINEAR in ops, ops
    got = run_float(g, [to_nhwc(g, d["x_test"])])[0]
    np.testing.assert_allclose(got, d["y_keras"], rtol=1e-4, atol=1e-4 * np.abs(d["y_keras"]).max())


def test_unet_decoder_int8(tmp_path):
    d = np.load(DATA / "keras" / "seg" / "unet_decoder_data.npz")
    model = tinycnn.load(tinycnn.convert(PATH, calib=d["x_calib"], output=tmp_path / "u.tcnn"))
    assert sqnr_db(d["y_keras"], model.run(d["x_test"])) >= 25
    xq = model.quantize_input(to_nhwc(model.graph, d["x_test"]))
    np.testing.assert_array_equal(model.run_quantized([xq])[0], run_int(model.graph, [xq])[0])
