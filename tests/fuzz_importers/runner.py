"""Importer / data-file fuzzing: many cases per child process, each child under RLIMIT_AS, a
watchdog per case; a child that dies or hangs is restarted after the case it was running, and
that case is re-run alone to confirm it. Acceptance per case: the import succeeds or raises a
TinyCNNError whose message is one line (plus an optional "supported ops" list).

    python -m tests.fuzz_importers.runner --seconds 60 [--targets onnx,tflite,...] [--seed 0]
    python -m tests.fuzz_importers.runner --case onnx:123      # reproduce one case
"""
from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MEMORY_BYTES = 3 << 30
CASE_TIMEOUT_S = 30.0
H5_TIMEOUT_S = 8  # the HDF5 guard's own timeout must fire first


def _limit():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def check_one(target: str, seed: int, tmpdir: str) -> dict:
    """Run one case in this process; returns {'outcome': 'ok'|'error'|'finding', 'msg'}."""
    from tests.fuzz_importers.mutators import SUFFIX, make_case
    from tinycnn.errors import TinyCNNError
    path = Path(tmpdir) / f"case{SUFFIX[target]}"
    path.write_bytes(make_case(target, seed))
    try:
        if target == "npz":
            from tinycnn.dataset import load_labeled
            load_labeled(path)
        else:
            from converters import load_model
            load_model(path)
        return {"outcome": "ok"}
    except TinyCNNError as exc:
        lines = str(exc).splitlines()
        if not lines or any(ln and not ln.startswith("  supported") for ln in lines[1:]):
            return {"outcome": "finding", "msg": f"multi-line error: {str(exc)[:300]!r}"}
        return {"outcome": "error", "msg": lines[0][:200]}
    except BaseException as exc:  # noqa: BLE001  (anything else is a finding)
        return {"outcome": "finding", "msg": f"{type(exc).__name__}: {str(exc)[:300]}"}


def worker():
    """Child: read 'target:seed' lines, answer one JSON line each."""
    with tempfile.TemporaryDirectory(prefix="tinycnn-fuzz-") as tmp:
        for line in sys.stdin:
            target, seed = line.strip().split(":")
            res = check_one(target, int(seed), tmp)
            print(json.dumps({"case": line.strip(), **res}), flush=True)


class Pool:
    def __init__(self):
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz_importers.runner", "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     cwd=ROOT, preexec_fn=_limit, stderr=subprocess.DEVNULL,
                                     env={**os.environ, "TINYCNN_H5_TIMEOUT": str(H5_TIMEOUT_S),
                                          "TINYCNN_H5_MEMORY": str(MEMORY_BYTES)})

    def run(self, case: str, timeout: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        self.proc.stdin.write(case + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if line:
            return json.loads(line)
        hung = self.proc.poll() is None
        self.stop()
        return {"case": case, "outcome": "finding", "msg": "hang" if hung else
                f"child died (exit {self.proc.returncode})"}

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()


def campaign(targets, seconds, seed0=0, timeout=CASE_TIMEOUT_S) -> dict:
    counts = {t: {"ok": 0, "error": 0, "finding": 0} for t in targets}
    findings = []
    pool = Pool()
    deadline = time.monotonic() + seconds
    seed = seed0
    try:
        while time.monotonic() < deadline:
            for t in targets:
                res = pool.run(f"{t}:{seed}", timeout)
                if res["outcome"] == "finding" and (res["msg"] == "hang"
                                                    or res["msg"].startswith("child died")):
                    alone = Pool()  # confirm alone (not an effect of earlier cases)
                    res = alone.run(f"{t}:{seed}", timeout)
                    alone.stop()
                counts[t][res["outcome"]] += 1
                if res["outcome"] == "finding":
                    findings.append(res)
            seed += 1
    finally:
        pool.stop()
    return {"counts": counts, "findings": findings, "seeds": [seed0, seed]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--targets", default="onnx,tflite,keras,h5,npz")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--case", help="reproduce one case TARGET:SEED in a guarded child")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        return worker()
    if a.case:
        pool = Pool()
        print(json.dumps(pool.run(a.case, CASE_TIMEOUT_S)))
        pool.stop()
        return 0
    res = campaign([t for t in a.targets.split(",") if t], a.seconds, a.seed)
    print(json.dumps(res, indent=1))
    return 1 if res["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
