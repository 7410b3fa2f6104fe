"""The float model the explorer measures: a path that also carries the shapes its dynamic input
dimensions were fixed with (``--input-shape`` or the calibration data's shape, as ``tinycnn
convert`` fixes them; converters/input_shapes.py).

``ModelSource`` is a ``str`` (every path use stays as it was: suffix checks, ONNX Runtime,
provenance) that pickles with its shapes, so worker processes import the same graph."""
from __future__ import annotations


class ModelSource(str):
    def __new__(cls, path, input_shapes=None):
        obj = super().__new__(cls, str(path))
        obj.input_shapes = {k: [int(d) for d in v] for k, v in (input_shapes or {}).items()}
        return obj

    def __reduce__(self):
        return ModelSource, (str(self), self.input_shapes)


def input_shapes_of(model_path) -> dict | None:
    return getattr(model_path, "input_shapes", None) or None


def import_float(model_path):
    """import_model with the source's fixed input shapes."""
    from tinycnn.convert import import_model
    return import_model(str(model_path), input_shapes_of(model_path))


def resolve_source(model_path, input_shapes=None, calib=None):
    """(float graph, ModelSource): dynamic input dims fixed from ``input_shapes``, else from the
    calibration data's shape (noted), recorded on the source for every later import."""
    from tinycnn.convert import import_with_shapes
    fg = import_with_shapes(model_path, input_shapes, calib)
    fixed = {name: rec["shape"] for name, rec in fg.meta.get("fixed_input_shapes", {}).items()}
    return fg, ModelSource(model_path, fixed)
