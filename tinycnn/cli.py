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
    import warnings

    from tinycnn.errors import TinyCNNError, TinyCNNNote
    from tinycnn.fileio import install_signal_handlers, restore_signal_handlers

    show = warnings.showwarning

    def note(message, category, *rest, **kw):
        if issubclass(category, TinyCNNNote):
            print(f"tinycnn: note: {message}", file=sys.stderr)
        else:
            show(message, category, *rest, **kw)

    previous = install_signal_handlers()  # SIGTERM -> SystemExit: temp files removed on the way out
    warnings.showwarning = note
    try:
        args = build_parser().parse_args(argv)
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not in the interpreter's exit
        return code
    except TinyCNNError as exc:
        print(f"tinycnn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinycnn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tinycnn info x.tcnn | head`: the reader left; not an error of ours
        _silence_stdout()
        return 141  # 128 + SIGPIPE, as a shell tool killed by the signal
    finally:
        warnings.showwarning = show
        restore_signal_handlers(previous)  # main() called in-process (tests) leaves no handler


def _silence_stdout():
    """Point stdout at /dev/null so the interpreter's final flush cannot raise again."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass


if __name__ == "__main__":
    sys.exit(main())
