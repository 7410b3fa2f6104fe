"""Layout constants of the .tcnn blob, version 2 (documented in docs/blob-format.md).

Everything a runtime needs is in fixed-size little-endian records and 4-byte words that a C
runtime can walk in place; the JSON section is informational only (source file, layouts,
calibration settings) and may be ignored by a device.
"""
import struct

MAGIC = b"TCNN"
VERSION = 2
SUPPORTED_VERSIONS = (2,)
ALIGN = 16
NO_OFFSET = 0xFFFFFFFF

#   magic, version, header_size, total_size, crc32,
#   strings (off, size), tensors (off, count), ops (off, count), words (off, size),
#   payload (off, size), meta (off, size), io_off, reserved
HEADER = struct.Struct("<4sHHII" + "II" * 6 + "II")
HEADER_SIZE = HEADER.size  # 72

# tensor record: name, dtype, rank, flags, pad, shape[6], quant_off, data_off, data_nbytes, reserved
TENSOR = struct.Struct("<IBBBB6iIIII")
MAX_RANK = 6
FLAG_CONST, FLAG_QUANT = 1, 2

# op record: op code, n_inputs, n_outputs, name, inputs_off, outputs_off, attrs_off, params_off
OP = struct.Struct("<HBBIIIII")

# dtype codes (uint32 words carry packed 1-bit tensors)
DTYPE_NAMES = ("float32", "int8", "uint8", "int16", "int32", "int64", "uint32", "uint64")
DTYPE_CODES = {name: code for code, name in enumerate(DTYPE_NAMES)}

# attribute value types in a TLV block: [u32 key, u16 type, u16 extra, u32 length, value words]
T_NONE, T_INT, T_FLOAT, T_STR, T_INTS, T_FLOATS, T_BOOL, T_INT_MATRIX, T_ARRAY = range(9)

# op codes are part of the format: append new ops at the end, never reorder
OP_CODES = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "BINARY_CONV_2D",
            "BINARY_FULLY_CONNECTED", "BINARIZE", "BINARY_MAX_POOL_2D", "MAX_POOL_2D",
            "AVERAGE_POOL_2D", "MEAN", "ADD", "SUB", "MUL", "CLAMP", "LEAKY_RELU", "PRELU",
            "SIGMOID", "TANH", "HARD_SIGMOID", "HARD_SWISH", "SILU", "LUT", "REQUANTIZE",
            "CONCATENATION", "RESHAPE", "TRANSPOSE", "PAD", "RESIZE_NEAREST", "SOFTMAX", "BATCH_NORM",
            "RESIZE_BILINEAR", "TRANSPOSE_CONV", "REDUCE_MEAN", "ARG_MAX", "ARG_MIN", "DEPTH_TO_SPACE",
            "SPACE_TO_DEPTH", "STRIDED_SLICE", "SIGN")
OP_INDEX = {name: code for code, name in enumerate(OP_CODES)}
