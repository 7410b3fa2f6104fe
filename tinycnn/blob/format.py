"""Layout constants of the .tcnn blob, version 3 (documented in docs/blob-format.md).

Everything a device reads is little-endian int32 words in fixed-size records: a tensor table,
an op table, one fixed record layout per op code (``OP_FIELDS``: attributes and prepared
parameters as int32 fields, arrays as indices into the array table), 16-byte aligned payload
arrays used in place, and the arena plan (one offset per activation tensor). Names, source
names, float scales and the conversion metadata sit in a strippable debug section; attributes
only a host runtime reads (float32 models) in a small host section.
"""
import struct

MAGIC = b"TCNN"
VERSION = 3
SUPPORTED_VERSIONS = (3,)
ALIGN = 16
NONE = -1  # absent index / offset

# magic, u16 version, u16 header size, total size, crc32 (of bytes [header size, total)), flags,
# then (offset, size-or-count) pairs: tensors, ops, records, arrays, index, quant, payload, host, debug,
# then arena_bytes, n_inputs, inputs (index-section word), n_outputs, outputs (index-section word), reserved
HEADER = struct.Struct("<4sHHIII" + "ii" * 9 + "iiiiii")
HEADER_SIZE = HEADER.size  # 120
SECTIONS = ("tensors", "ops", "records", "arrays", "index", "quant", "payload", "host", "debug")
FLAG_HAS_DEBUG = 1

# tensor record: dtype, rank, flags, shape[6], data_offset (payload), data_bytes, quant (quant-section
# byte offset or -1), arena_offset (-1: constant or unplanned), batch1_bytes, reserved[2]
TENSOR = struct.Struct("<16i")
MAX_RANK = 6
FLAG_CONST, FLAG_QUANT = 1, 2

# op record: op code, kernel variant, n_inputs, inputs (index-section word), n_outputs, outputs,
# fields (records-section byte offset), fields size in bytes, macs at batch 1, reserved
OP = struct.Struct("<10i")

# array record: payload offset, bytes, dtype code, rank, shape[4]
ARRAY = struct.Struct("<8i")
MAX_ARRAY_RANK = 4

# dtype codes (uint32 words carry packed 1-bit tensors)
DTYPE_NAMES = ("float32", "int8", "uint8", "int16", "int32", "int64", "uint32", "uint64")
DTYPE_CODES = {name: code for code, name in enumerate(DTYPE_NAMES)}

# op codes are part of the format: append new ops at the end, never reorder
OP_CODES = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "BINARY_CONV_2D",
            "BINARY_FULLY_CONNECTED", "BINARIZE", "BINARY_MAX_POOL_2D", "MAX_POOL_2D",
            "AVERAGE_POOL_2D", "MEAN", "ADD", "SUB", "MUL", "CLAMP", "LEAKY_RELU", "PRELU",
            "SIGMOID", "TANH", "HARD_SIGMOID", "HARD_SWISH", "SILU", "LUT", "REQUANTIZE",
            "CONCATENATION", "RESHAPE", "TRANSPOSE", "PAD", "RESIZE_NEAREST", "SOFTMAX", "BATCH_NORM",
            "RESIZE_BILINEAR", "TRANSPOSE_CONV", "REDUCE_MEAN", "ARG_MAX", "ARG_MIN", "DEPTH_TO_SPACE",
            "SPACE_TO_DEPTH", "STRIDED_SLICE", "SIGN")
OP_INDEX = {name: code for code, name in enumerate(OP_CODES)}

# enums (append only); code 0 is "absent" where the attribute is optional
KERNEL_VARIANTS = ("", "tflm", "int16x8", "uint8")
ENUMS = {
    "variant": KERNEL_VARIANTS,
    "output_mode": ("", "packed", "int8"),
    "pad_mode": ("", "zero", "one"),
    "dtype": DTYPE_NAMES,
    "block_mode": ("", "DCR", "CRD"),
}

# field kinds -> int32 words: scalar, pair, quad, vector (count + 6), matrix (count + 6 rows of 2),
# bool, enum, array (index into the array table)
KIND_WORDS = {"i": 1, "i2": 2, "i4": 4, "v6": 7, "m6": 13, "b": 1, "a": 1,
              "e:output_mode": 1, "e:pad_mode": 1, "e:dtype": 1, "e:block_mode": 1}

_CONV = [("stride", "i2"), ("dilation", "i2"), ("pad", "i4")]
_QIO = [("input_offset", "i"), ("output_offset", "i"), ("act_min", "i"), ("act_max", "i")]
_PER_CHANNEL = [("output_multiplier", "a"), ("output_shift", "a")]
_OUT = [("output_dtype", "e:dtype")]
_BINARY = [("in_channels", "i"), ("in_pixels", "i"), ("out_channels", "i"), ("output_mode", "e:output_mode"),
           ("pad_mode", "e:pad_mode"), ("output_zero_point", "i"), ("act_min", "i"), ("act_max", "i"),
           ("dot_shift", "i"),
           ("threshold", "a"), ("output_multiplier", "a"), ("output_shift", "a"), ("bias_q", "a")]
_POOL = [("kernel", "i2"), ("stride", "i2"), ("pad", "i4"), ("act_min", "i"), ("act_max", "i")] + _OUT
_ADD = [("input1_offset", "i"), ("input2_offset", "i"), ("output_offset", "i"), ("left_shift", "i"),
        ("input1_multiplier", "i"), ("input1_shift", "i"), ("input2_multiplier", "i"),
        ("input2_shift", "i"), ("output_multiplier", "i"), ("output_shift", "i"),
        ("act_min", "i"), ("act_max", "i")] + _OUT

# One fixed record layout per op code: i32 presence mask (bit k = field k present), then the fields.
OP_FIELDS = {
    "CONV_2D": _CONV + [("groups", "i")] + _QIO + _PER_CHANNEL + _OUT
    + [("input_dtype", "e:dtype"), ("output_mode", "e:output_mode")],
    "DEPTHWISE_CONV_2D": _CONV + [("depth_multiplier", "i")] + _QIO + _PER_CHANNEL + _OUT,
    "FULLY_CONNECTED": _QIO + _PER_CHANNEL + _OUT,
    "BINARY_CONV_2D": _CONV + _BINARY,
    "BINARY_FULLY_CONNECTED": _BINARY,
    "BINARIZE": [("channels", "i"), ("input_zero_point", "i")],
    "BINARY_MAX_POOL_2D": _POOL[:-1] + [("channels", "i")],
    "MAX_POOL_2D": _POOL,
    "AVERAGE_POOL_2D": _POOL,
    "MEAN": [("axes", "v6"), ("keep_dims", "b"), ("input_offset", "i"), ("output_offset", "i"),
             ("output_multiplier", "i"), ("output_shift", "i")] + _OUT,
    "ADD": _ADD, "SUB": _ADD,
    "MUL": [("input1_offset", "i"), ("input2_offset", "i"), ("output_offset", "i"),
            ("output_multiplier", "i"), ("output_shift", "i"), ("act_min", "i"), ("act_max", "i")] + _OUT,
    "PRELU": [("input_offset", "i"), ("alpha_offset", "i"), ("output_offset", "i"),
              ("output_multiplier_1", "i"), ("output_shift_1", "i"), ("output_multiplier_2", "i"),
              ("output_shift_2", "i")] + _OUT,
    "LUT": [("lut", "a")] + _OUT,
    "SIGMOID": [("input_multiplier", "i"), ("input_left_shift", "i")] + _OUT,
    "TANH": [("input_multiplier", "i"), ("input_left_shift", "i")] + _OUT,
    "LEAKY_RELU": [("input_offset", "i"), ("output_offset", "i"), ("output_multiplier_1", "i"),
                   ("output_shift_1", "i"), ("output_multiplier_2", "i"), ("output_shift_2", "i")] + _OUT,
    "REQUANTIZE": [("input_offset", "i"), ("output_offset", "i"), ("output_multiplier", "i"),
                   ("output_shift", "i")] + _OUT,
    "CONCATENATION": [("axis", "i"), ("output_offset", "i"), ("requant", "a")] + _OUT,
    "RESHAPE": [("shape", "v6")] + _OUT,
    "TRANSPOSE": [("perm", "v6")] + _OUT,
    "PAD": [("pads", "m6"), ("pad_value_q", "i"), ("pad_value_raw", "i")] + _OUT,
    "RESIZE_NEAREST": [("scale", "i2")] + _OUT,
    "SOFTMAX": [("diff_min", "i"), ("input_left_shift", "i"), ("input_multiplier", "i"),
                ("exp_table", "a"), ("exp_acc", "a"), ("exp_q0", "a")] + _OUT,
    # segmentation / detection ops (tinycnn/opspec/seg.py; float32 forms keep float clamps in host)
    "RESIZE_BILINEAR": [("size", "i2"), ("align_corners", "b"), ("half_pixel_centers", "b")] + _OUT,
    "TRANSPOSE_CONV": [("stride", "i2"), ("pad", "i4"), ("output_size", "i2")] + _QIO + _PER_CHANNEL + _OUT,
    "REDUCE_MEAN": [("axes", "v6"), ("keep_dims", "b"), ("input_offset", "i"), ("output_offset", "i"),
                    ("output_multiplier", "i"), ("output_shift", "i")] + _OUT,
    "ARG_MAX": [("axis", "i"), ("keep_dims", "b")] + _OUT,
    "ARG_MIN": [("axis", "i"), ("keep_dims", "b")] + _OUT,
    "DEPTH_TO_SPACE": [("block", "i"), ("mode", "e:block_mode")] + _OUT,
    "SPACE_TO_DEPTH": [("block", "i"), ("mode", "e:block_mode")] + _OUT,
    "STRIDED_SLICE": [("begin", "v6"), ("stride", "v6"), ("size", "v6")] + _OUT,
}
# legacy uint8 TFLite (kernel variant "uint8"): int8 weights (w - 128) + weight_offset (128 - zero point)
for _name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
    OP_FIELDS[_name] = OP_FIELDS[_name] + [("weight_offset", "i")]
for _name in OP_CODES:
    OP_FIELDS.setdefault(_name, [])  # float-only ops: attributes in the host section
assert all(len(f) <= 31 for f in OP_FIELDS.values())


def field_layout(op_name: str) -> list:
    """[(name, kind, word offset in the record)] of one op code; word 0 is the presence mask."""
    out, pos = [], 1
    for name, kind in OP_FIELDS[op_name]:
        out.append((name, kind, pos))
        pos += KIND_WORDS[kind]
    return out


def record_words(op_name: str) -> int:
    return 1 + sum(KIND_WORDS[k] for _, k in OP_FIELDS[op_name])


# attributes that only describe where a node came from (debug section)
DEBUG_ATTRS = {"source_name", "source_op", "tflite_op", "weight_bits_label", "macs", "params"}
# metadata keys no runtime reads (debug section); the rest is host metadata (layouts, scheme, ...)
DEBUG_META = {"source_path", "source_format", "calibration", "per_channel", "percentile",
              "convert_seconds", "tflite_tensor_index", "int16x8_layers", "binary_layers"}


def c_layout_header() -> str:
    """tcnn_layout.h for the C runtime: codes, record sizes and every op's field word offsets,
    generated from this module (tests check the committed copy is current)."""
    lines = ["/* Generated from tinycnn/blob/format.py by c_layout_header(). Do not edit. */",
             "#ifndef TCNN_LAYOUT_H", "#define TCNN_LAYOUT_H", "",
             f"#define TCNN_VERSION {VERSION}", f"#define TCNN_HEADER_BYTES {HEADER_SIZE}",
             f"#define TCNN_TENSOR_WORDS {TENSOR.size // 4}", f"#define TCNN_OP_WORDS {OP.size // 4}",
             f"#define TCNN_ARRAY_WORDS {ARRAY.size // 4}", f"#define TCNN_MAX_RANK {MAX_RANK}",
             f"#define TCNN_ALIGN {ALIGN}", f"#define TCNN_NUM_SECTIONS {len(SECTIONS)}",
             f"#define TCNN_NUM_OP_CODES {len(OP_CODES)}", f"#define TCNN_NUM_VARIANTS {len(KERNEL_VARIANTS)}"]
    lines += [f"#define TCNN_SEC_{s.upper()} {i}" for i, s in enumerate(SECTIONS)]
    lines += [f"#define TCNN_DT_{n.upper()} {c}" for n, c in DTYPE_CODES.items()]
    lines += [f"#define TCNN_OP_{n} {c}" for n, c in OP_INDEX.items()]
    lines += [f"#define TCNN_VARIANT_{(v or 'none').upper()} {c}" for c, v in enumerate(KERNEL_VARIANTS)]
    for enum in ("output_mode", "pad_mode", "block_mode"):
        lines += [f"#define TCNN_{enum.upper()}_{(v or 'none').upper()} {c}" for c, v in enumerate(ENUMS[enum])]
    lines.append("")
    for op in OP_CODES:
        lines.append(f"#define TCNN_{op}_WORDS {record_words(op)}")
        for bit, (name, kind, pos) in enumerate(field_layout(op)):
            lines.append(f"#define TCNN_{op}_{name.upper()} {pos} /* {kind} */")
            lines.append(f"#define TCNN_{op}_{name.upper()}_BIT {bit}")
    lines.append("#define TCNN_OP_NAMES { " + ", ".join(f'"{n}"' for n in OP_CODES) + " }")
    lines.append("#define TCNN_RECORD_WORDS { " + ", ".join(str(record_words(n)) for n in OP_CODES) + " }")
    return "\n".join(lines + ["", "#endif", ""])
