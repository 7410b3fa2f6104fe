"""Dynamic input dimensions (ONNX ``[-1, 3, -1, -1]`` / symbolic dims, Keras ``None``): fixed from
``input_shapes`` (CLI ``--input-shape NAME=1x3x48x192``) or, in ``tinycnn.convert``, from the
calibration data's shape. The batch dimension always stays dynamic (any batch size runs)."""
from __future__ import annotations

from tinycnn.errors import TinyCNNError

_LETTERS = {"NCHW": "NCHW", "NHWC": "NHWC", "NC": "NC", "NLC": "NLC"}


class DynamicShapeError(TinyCNNError):
    """Some model inputs have dynamic non-batch dimensions and no shape was given for them.
    ``inputs``: every model input as (name, declared dims with -1 for dynamic, layout)."""

    def __init__(self, path, inputs, unresolved, position=None):
        self.path, self.inputs, self.unresolved = str(path), inputs, unresolved
        self.positions = list(range(len(inputs))) if position is None else [position]
        parts = []
        for name, dims, layout in unresolved:
            letters = _LETTERS.get(layout, "")
            example = "x".join(str(d) if d > 0 else (letters[i] if i < len(letters) else "?")
                               for i, d in enumerate([1] + list(dims[1:])))
            parts.append(f"input '{name}' has dynamic dimensions {_fmt(dims)} ({layout}); fix them with "
                         f"--input-shape {name}={example} (CLI) or input_shapes={{'{name}': "
                         f"({example.replace('x', ', ')})}} (API), or pass calibration data (--calib), "
                         f"whose shape is then used")
        super().__init__(f"{path}: " + "; ".join(parts))


def parse_input_shapes(specs) -> dict:
    """CLI ``NAME=1x3x48x192`` strings (or a bare ``1x3x48x192`` for a single-input model)."""
    out = {}
    for spec in specs or []:
        name, _, dims = spec.rpartition("=")
        try:
            shape = tuple(int(d) for d in dims.lower().replace(",", "x").split("x"))
        except ValueError:
            raise TinyCNNError(f"--input-shape '{spec}': expected NAME=1x3x48x192 (integers joined by x)") from None
        out[name] = shape
    return out


def _fmt(dims):
    return "[" + ", ".join("?" if d <= 0 else str(d) for d in dims) + "]"


def fix_input_shapes(path, inputs, input_shapes, meta, position=None) -> list:
    """inputs: [(name, dims, layout)] as declared (-1 = dynamic). Returns the dims to import
    with (batch -1, every other dimension concrete); records what was fixed in
    ``meta["fixed_input_shapes"]``. Raises DynamicShapeError naming every input left dynamic.
    position: the index among the model's inputs when ``inputs`` is one input (Keras walks
    its inputs one at a time)."""
    given = dict(input_shapes or {})
    names = [n for n, _, _ in inputs]
    if "" in given or None in given:
        if len(inputs) != 1 or position:
            raise TinyCNNError(f"{path}: the model has {len(inputs)} inputs ({', '.join(names)}); "
                               "name each one: --input-shape NAME=1x3x48x192")
        given[names[0]] = given.pop("", None) or given.pop(None)
    unknown = [k for k in given if k not in names] if position is None else []
    if unknown:
        raise TinyCNNError(f"{path}: --input-shape names unknown input(s) {unknown}; the model's inputs "
                           f"are {names}")
    result, unresolved = [], []
    for name, dims, layout in inputs:
        dims = [int(d) if d and d > 0 else -1 for d in dims]
        if name in given:
            shape = [int(d) for d in given[name]]
            if len(shape) != len(dims):
                raise TinyCNNError(f"{path}: input '{name}' has rank {len(dims)} ({layout} {_fmt(dims)}); "
                                   f"the shape given, {shape}, has rank {len(shape)}")
            bad = [i for i in range(1, len(dims)) if shape[i] <= 0 or (dims[i] > 0 and shape[i] != dims[i])]
            if bad:
                raise TinyCNNError(f"{path}: input '{name}' is declared {_fmt(dims)} ({layout}); the shape "
                                   f"given, {shape}, differs in dimension(s) {bad}")
            if any(d <= 0 for d in dims[1:]):
                meta.setdefault("fixed_input_shapes", {})[name] = {
                    "declared": _fmt(dims), "shape": [-1] + shape[1:], "layout": layout,
                    "from": "input_shapes"}
            result.append([-1] + shape[1:])
        elif any(d <= 0 for d in dims[1:]):
            unresolved.append((name, dims, layout))
            result.append(None)
        else:
            result.append([-1] + dims[1:])
    if unresolved:
        raise DynamicShapeError(path, [(n, [int(d) if d and d > 0 else -1 for d in ds], lay)
                                       for n, ds, lay in inputs], unresolved, position)
    return result


def shapes_from_calibration(err: DynamicShapeError, arrays) -> dict:
    """``input_shapes`` for the inputs ``err`` names, taken from the calibration arrays (one per
    model input, in the source layout)."""
    if len(arrays) <= max(err.positions) or (len(err.positions) > 1 and len(arrays) != len(err.inputs)):
        raise TinyCNNError(f"{err.path}: the model has {len(err.inputs)} inputs; got {len(arrays)} "
                           "calibration arrays")
    dynamic = {n for n, _, _ in err.unresolved}
    out = {}
    for (name, dims, layout), pos in zip(err.inputs, err.positions):
        x = arrays[pos]
        if name in dynamic:
            if x.ndim != len(dims):
                raise TinyCNNError(f"{err.path}: input '{name}' has rank {len(dims)} ({layout} "
                                   f"{_fmt(dims)}); its calibration data has shape {tuple(x.shape)}")
            out[name] = tuple(int(d) for d in x.shape)
    return out
