"""Layout constants of the .tcnn blob (documented in docs/blob-format.md).

    offset  size  field
    0       4     magic b"TCNN"
    4       2     format version (uint16, little-endian)
    6       2     header size in bytes (uint16) = 32
    8       4     total file size (uint32)
    12      4     graph JSON offset (uint32)
    16      4     graph JSON size (uint32)
    20      4     payload offset (uint32, 16-byte aligned)
    24      4     payload size (uint32)
    28      4     CRC-32 of bytes [32, total size) (uint32)
"""
import struct

MAGIC = b"TCNN"
VERSION = 1
HEADER = struct.Struct("<4sHHIIIIII")
HEADER_SIZE = HEADER.size  # 32
ALIGN = 16
SUPPORTED_VERSIONS = (1,)
DTYPE_NAMES = ("float32", "int8", "uint8", "int16", "int32", "int64", "uint32", "uint64")
