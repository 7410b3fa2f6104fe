"""Candidate -> graph (float or quantized): the conversion half of a candidate evaluation.

Calibration runs the (possibly binarized) float graph over the calibration inputs; it is
deterministic, so ``calibrations`` (a dict, or tinycnn.explorer.calib_cache.CalibrationCache) may
cache observers by binary-layer set within one process without changing any result.
"""
from __future__ import annotations

from tinycnn.ir import Graph
from tinycnn.quant.binarize import binarize_layers, default_binary_layers, quantize_binary
from tinycnn.quant.calibrate import calibrate
from tinycnn.quant.int8 import QuantConfig, quantize_int8
from tinycnn.quant.int16x8 import wideable_layers, widen_int16x8
from tinycnn.explorer.candidates import Candidate, weighted_layers


def layer_bits_for(fg: Graph, cand: Candidate) -> dict:
    """Per weighted layer precision implied by a candidate."""
    layers = weighted_layers(fg)
    if cand.scheme == "mixed":
        return {n: cand.bits.get(n, "int8") for n in layers}
    bits = {n: "int8" for n in layers}
    if cand.scheme == "int16x8":
        bits = {n: "int16x8" for n in layers}
    elif cand.scheme == "binary":
        bits.update({n: "binary" for n in default_binary_layers(fg)})
    return bits


def build_graph(fg: Graph, cand: Candidate, x_calib_nhwc, calibrations=None) -> Graph:
    """The graph a candidate's blob holds. fg: the optimized float graph (not modified);
    x_calib_nhwc: the NHWC calibration array, or a list with one per graph input."""
    if cand.scheme == "float32":
        g = fg.copy()
        g.meta["scheme"] = "float32"
        return g
    bits = layer_bits_for(fg, cand)
    binary = tuple(n for n in weighted_layers(fg) if bits.get(n) == "binary")
    g = binarize_layers(fg, list(binary)) if binary else fg
    calib = list(x_calib_nhwc) if isinstance(x_calib_nhwc, (list, tuple)) else [x_calib_nhwc]
    cache = calibrations if calibrations is not None else {}
    if hasattr(cache, "observer"):  # tinycnn.explorer.calib_cache.CalibrationCache
        obs = cache.observer(fg, g, binary, calib)
    else:
        if binary not in cache:
            cache[binary] = calibrate(g, calib)
        obs = cache[binary]
    cfg = QuantConfig(cand.calibration, cand.percentile, cand.per_channel)
    qg = quantize_binary(g, obs, cfg) if binary else quantize_int8(g, obs, cfg)
    wide = [n for n in wideable_layers(qg) if bits.get(n) == "int16x8"]
    if wide:
        qg = widen_int16x8(qg, g, obs, wide)
    qg.meta.update(scheme=cand.scheme, candidate=cand.name)
    return qg
