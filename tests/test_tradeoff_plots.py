"""Plots a person reads (issue 16 item 3): short layer labels, top-N sensitivity rows, bounded
PNG sizes. What the plots show was checked by looking at them (docs/*_example.png)."""
from __future__ import annotations

import matplotlib.image as mpimg

from firmware_sim.plot import short_labels, short_name
from tinycnn.explorer.plot import plot_sensitivity
from tinycnn.explorer.sensitivity import SensitivityResult


def test_short_names_of_torch_scopes_and_plain_names():
    assert short_name("/features/features.2/conv/conv.2/conv.2.0/Conv") == "features.2/conv.2.0"
    assert short_name("/classifier/classifier.1/Gemm") == "classifier.1"
    assert short_name("conv2d_1") == "conv2d_1"
    labels = short_labels([f"/features/features.{i}/conv/conv.0/conv.0.0/Conv" for i in range(12)])
    assert len(set(labels)) == 12 and all(len(x) <= 24 for x in labels)
    assert short_labels(["model/block_%d/a_very_long_layer_name_that_goes_on" % i for i in range(3)], 20)[0][0] == "…"


def test_sensitivity_plot_shows_the_top_rows_at_a_screen_size(tmp_path):
    rows = [{"layer": f"l{i}", "source": f"/features/features.{i}/Conv", "op": "CONV_2D",
             "precision": "int8" if i % 2 else "binary", "accuracy_drop": 100.0 - i} for i in range(108)]
    res = SensitivityResult("m.onnx", {}, rows, "top-1 accuracy")
    h20 = mpimg.imread(plot_sensitivity(res, tmp_path / "a.png")).shape[0]
    h5 = mpimg.imread(plot_sensitivity(res, tmp_path / "b.png", top=5)).shape[0]
    assert h20 <= 1000 and h5 < h20  # 108 rows used to make a 3091-px-high image
    assert mpimg.imread(tmp_path / "a.png").shape[1] == 900
