"""Specs of the segmentation / detection ops (branch ``ops``): RESIZE_BILINEAR, TRANSPOSE_CONV,
REDUCE_MEAN, ARG_MAX / ARG_MIN, DEPTH_TO_SPACE, SPACE_TO_DEPTH, STRIDED_SLICE (int8 kernels in
tinycnn/kernels/resample.py, bound in registry.py; oracles in tinycnn/reference/{resize_bilinear,
transpose_conv,reduce,movement}.py) and their float32 forms, plus the float-only SIGN (its int8
form is a LUT). Integer semantics: docs/ops.md."""
from __future__ import annotations

from tinycnn.opspec.common import (CLAMP, FLOAT32, INT8, INT16, INT32, MAX_DIM, PER_CHANNEL_REQUANT,
                                   Q_FIELDS, REF_FLOAT, REG, Attr, bias, i, ints, multiplier, offset, shift,
                                   weights, x, y)
from tinycnn.opspec.schema import Kernel, OpSpec

_MOVE = (INT8, INT16)  # pure data movement / index ops: any activation dtype of a quantized graph
_BOOL = {n: Attr(n, "bool", optional=True) for n in ("align_corners", "half_pixel_centers", "keep_dims")}
_RESIZE = (ints("size", 2, 1), _BOOL["align_corners"], _BOOL["half_pixel_centers"])
_TCONV = (ints("stride", 2, 1), ints("pad", 4), ints("output_size", 2, 1))
_AXES = (Attr("axes", "ints", 1, 5), _BOOL["keep_dims"])
_AXIS = (i("axis", 0, 5), _BOOL["keep_dims"])
_MODE = Attr("mode", "str", choices=("DCR", "CRD"), optional=True)
_BLOCK = (i("block", 1, 1 << 12), _MODE)
_SLICE = (Attr("begin", "ints", 0, MAX_DIM), Attr("stride", "ints", -MAX_DIM, MAX_DIM),
          Attr("size", "ints", -1, MAX_DIM))
_REQ = (offset("input_offset"), offset("output_offset"), multiplier("output_multiplier"), shift("output_shift"))
R = "tinycnn.reference."
_REFS = {"RESIZE_BILINEAR": R + "resize_bilinear:resize_bilinear", "TRANSPOSE_CONV": R + "transpose_conv:transpose_conv",
         "REDUCE_MEAN": R + "reduce:reduce_mean", "ARG_MAX": R + "movement:arg_max", "ARG_MIN": R + "movement:arg_min",
         "DEPTH_TO_SPACE": R + "movement:depth_to_space", "SPACE_TO_DEPTH": R + "movement:space_to_depth",
         "STRIDED_SLICE": R + "movement:strided_slice"}
_INT_REFS = {**_REFS, "RESIZE_BILINEAR": R + "resize_bilinear:resize_bilinear_int",
             "TRANSPOSE_CONV": R + "transpose_conv:transpose_conv_int", "REDUCE_MEAN": R + "reduce:reduce_mean_int"}


def _k(name):
    return Kernel(f"{REG}:{name}")


def _move(op, shape, attrs, binder, cost="copy", doc=""):
    return OpSpec(op, "", (x(*_MOVE),), (y(*_MOVE),), shape, attrs, (), _k(binder), _INT_REFS[op], cost,
                  ("same_dtype",), doc)


def _arg(op):
    return OpSpec(op, "", (x(*_MOVE),), (y(INT32),), "arg_reduce", _AXIS, (), _k("bind_arg"), _INT_REFS[op],
                  "arg_reduce", doc="int32 index of the first extreme value; the input's quantization is irrelevant")


INT8_SPECS = (
    _move("RESIZE_BILINEAR", "resize_bilinear", _RESIZE, "bind_resize_bilinear", "bilinear",
          "TFLite ResizeBilinearInteger: 10-bit positions, rounded half away from zero"),
    OpSpec("TRANSPOSE_CONV", "", (x(INT8), weights(INT8), bias(INT32)), (y(INT8),), "transpose_conv",
           _TCONV + Q_FIELDS, PER_CHANNEL_REQUANT, _k("bind_transpose_conv"), _INT_REFS["TRANSPOSE_CONV"], "mac",
           ("act_range", "accumulator_int32"), "TFLM transpose_conv int8: scatter into int32 accumulators"),
    OpSpec("REDUCE_MEAN", "", (x(INT8),), (y(INT8),), "reduce_mean", _AXES + _REQ, (), _k("bind_reduce_mean"),
           _INT_REFS["REDUCE_MEAN"], "reduce", doc="as MEAN with N = the number of reduced elements"),
    _arg("ARG_MAX"), _arg("ARG_MIN"),
    _move("DEPTH_TO_SPACE", "depth_to_space", _BLOCK, "bind_movement"),
    _move("SPACE_TO_DEPTH", "space_to_depth", _BLOCK, "bind_movement"),
    _move("STRIDED_SLICE", "strided_slice", _SLICE, "bind_movement"),
)


def _float(op, shape, attrs, ins=None, out=FLOAT32, cost="copy"):
    ins = ins or (x(FLOAT32),)
    return OpSpec(op, "float32", ins, (y(out),), shape, attrs, (), reference=_REFS[op], cost=cost)


FLOAT_SPECS = (
    _float("RESIZE_BILINEAR", "resize_bilinear", _RESIZE, cost="bilinear"),
    _float("TRANSPOSE_CONV", "transpose_conv", _TCONV + (CLAMP,),
           (x(FLOAT32), weights(FLOAT32), bias(FLOAT32, optional=True)), cost="mac"),
    _float("REDUCE_MEAN", "reduce_mean", _AXES, cost="reduce"),
    _float("ARG_MAX", "arg_reduce", _AXIS, out=INT32, cost="arg_reduce"),
    _float("ARG_MIN", "arg_reduce", _AXIS, out=INT32, cost="arg_reduce"),
    _float("DEPTH_TO_SPACE", "depth_to_space", _BLOCK),
    _float("SPACE_TO_DEPTH", "space_to_depth", _BLOCK),
    _float("STRIDED_SLICE", "strided_slice", _SLICE),
    OpSpec("SIGN", "float32", (x(FLOAT32),), (y(FLOAT32),), "same", (CLAMP,), (), reference=f"{REF_FLOAT}:unary",
           cost="elementwise", doc="-1 if x < 0 else +1 (sign(0) = +1); int8 graphs hold it as a LUT"),
)

__all__ = ["INT8_SPECS", "FLOAT_SPECS"]
