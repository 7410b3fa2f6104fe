"""Smallest arena the tflite-micro package's interpreter accepts for a .tflite, by bisection.

Run as a script (``python tests/tflm_min_arena.py A.tflite B.tflite ...``) it prints one JSON
object {path: bytes}; tests call ``min_arenas`` which runs it in a subprocess, because the
interpreter writes its failed-allocation messages to the C stderr and crashes on arenas far
below any model's needs (so the search starts at 1 KiB). The interpreter is built with the
default recording configuration, as ``Interpreter.from_bytes`` does; success = construction
(AllocateTensors) and one Invoke on a zero input. Each probe runs in a forked child: near the
limit a failed Prepare can leave the package's allocator in a state that crashes the process,
and a crash counts as "does not fit".
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

LOW, HIGH = 1024, 4_000_000


def _works(data, n) -> bool:
    import numpy as np
    from tflite_micro.python.tflite_micro import runtime

    try:
        interp = runtime.Interpreter.from_bytes(data, arena_size=n)
        detail = interp.get_input_details(0)
        interp.set_input(np.zeros(detail["shape"], detail["dtype"]), 0)
        interp.invoke()
    except (RuntimeError, ValueError):
        return False
    return True


def _probe(data, n) -> bool:
    pid = os.fork()
    if pid == 0:  # child: report by exit code, never return into the parent's code
        os._exit(0 if _works(data, n) else 1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def smallest_arena(path) -> int:
    from tflite_micro.python.tflite_micro import runtime  # noqa: F401  import once, before forking

    data = open(path, "rb").read()
    lo, hi = LOW, HIGH
    if _probe(data, lo):
        return lo
    assert _probe(data, hi), f"{path}: TFLM cannot allocate even {hi} bytes"
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _probe(data, mid) else (mid, hi)
    return hi


def min_arenas(paths, timeout=300) -> dict:
    res = subprocess.run([sys.executable, __file__, *map(str, paths)], capture_output=True, text=True,
                         timeout=timeout)
    assert res.returncode == 0, res.stderr[-800:]
    return json.loads(res.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps({p: smallest_arena(p) for p in sys.argv[1:]}))
