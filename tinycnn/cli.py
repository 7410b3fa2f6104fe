"""`tinycnn` command line: convert | info | run | eval | ... (one module per command)."""
from __future__ import annotations

import argparse
import importlib
import sys

from tinycnn.commands import MODULES, OPTIONAL_MODULES


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tinycnn",
        description="Convert trained CNNs (ONNX, Keras, TFLite) to int8 / 1-bit firmware-style blobs, "
                    "run them bit-exactly with fixed-point kernels, and measure what quantization costs.",
        epilog="run 'tinycnn COMMAND --help' for the options of each command")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in MODULES:
        importlib.import_module(f"tinycnn.commands.{name}").register(sub)
    for name in OPTIONAL_MODULES:
        try:
            mod = importlib.import_module(f"tinycnn.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tinycnn.commands.{name}":
                raise
            continue
        mod.register(sub)
    return p


def main(argv=None) -> int:
    from tinycnn.errors import TinyCNNError
    from tinycnn.fileio import install_signal_handlers, restore_signal_handlers

    previous = install_signal_handlers()  # SIGTERM -> SystemExit: temp files removed on the way out
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except TinyCNNError as exc:
        print(f"tinycnn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinycnn: interrupted", file=sys.stderr)
        return 130
    finally:
        restore_signal_handlers(previous)  # main() called in-process (tests) leaves no handler


if __name__ == "__main__":
    sys.exit(main())
