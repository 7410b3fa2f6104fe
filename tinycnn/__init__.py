"""tinycnn: trained CNN -> int8 / 1-bit firmware-style blob -> bit-exact fixed-point inference.

    import tinycnn
    tinycnn.convert("model.onnx", calib=x_calib, output="model.tcnn")
    model = tinycnn.load("model.tcnn")
    y = model.run(x)   # float in the source layout (NCHW for ONNX), quantized at the edge
"""
from tinycnn.convert import convert
from tinycnn.errors import BlobError, TinyCNNError, UnsupportedModelError
from tinycnn.runtime import Model, load

__version__ = "0.1.0"
__all__ = ["convert", "load", "Model", "TinyCNNError", "BlobError", "UnsupportedModelError",
           "evaluate", "info", "simulate", "tradeoff", "sensitivity"]


def evaluate(blob_path, reference, data, **kwargs):
    """int8 blob vs float reference model on data: see tinycnn.report.evaluate."""
    from tinycnn.report import evaluate as _evaluate
    return _evaluate(blob_path, reference, data, **kwargs)


def info(blob_path):
    """Per-layer description of a blob: see tinycnn.report.describe."""
    from tinycnn.report import describe
    return describe(load(blob_path).graph, blob_path)


def simulate(blob_path, target="cortex-m4", clock_mhz=None, **kw):
    """Arena plan, budgets, device run and cycle estimate on a target: see firmware_sim.simulate."""
    from firmware_sim import simulate as _simulate
    return _simulate(blob_path, target, clock_mhz, **kw)


def tradeoff(model_path, data, calib, **kwargs):
    """Convert and measure quantization candidates: see tinycnn.explorer.explore.tradeoff."""
    from tinycnn.explorer.explore import tradeoff as _tradeoff
    return _tradeoff(model_path, data, calib, **kwargs)


def sensitivity(model_path, data, calib, **kwargs):
    """Per-layer sensitivity to lower precision: see tinycnn.explorer.sensitivity.sensitivity."""
    from tinycnn.explorer.sensitivity import sensitivity as _sensitivity
    return _sensitivity(model_path, data, calib, **kwargs)
