"""The explorer's outputs: Pareto flags, the table sorted by the objective, JSON."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from tinycnn.explorer.pareto import pareto_front
from tinycnn.fileio import atomic_write

OBJECTIVE_KEYS = {"latency": "sim_latency_ms", "size": "flash_bytes"}
TABLE_COLUMNS = [("pareto_mark", "P"), ("candidate", "candidate"), ("accuracy", "acc %"),
                 ("accuracy_drop", "drop pts"), ("sqnr_db", "SQNR dB"), ("flash_kib", "flash KiB"),
                 ("sram_kib", "SRAM KiB"), ("sim_latency_ms", "sim ms"), ("cpu_latency_ms", "CPU ms"),
                 ("fits", "fits")]


def mark_pareto(rows: list, objective: str) -> None:
    """Sets pareto_latency (accuracy vs simulated latency), pareto_size (accuracy vs flash) and
    pareto (the one for ``objective``) on every row; failed rows are never on a front, nor are
    candidates that do not fit the target (``fits_target`` False) unless none fits."""
    fitting = [i for i, r in enumerate(rows) if "error" not in r and r.get("fits_target", True)]
    eligible = fitting or list(range(len(rows)))
    for kind, key in OBJECTIVE_KEYS.items():
        front = {eligible[j] for j in pareto_front([rows[i] for i in eligible], [("accuracy", "max"), (key, "min")])}
        for i, r in enumerate(rows):
            r[f"pareto_{kind}"] = i in front
    for r in rows:
        r["pareto"] = r[f"pareto_{objective}"]


def sort_rows(rows: list, objective: str) -> list:
    key = OBJECTIVE_KEYS[objective]
    return sorted(rows, key=lambda r: ("error" in r, r.get(key, math.inf), -r.get("accuracy", 0.0),
                                       r["candidate"]))


def table_rows(rows: list) -> list:
    out = []
    for r in rows:
        if "error" in r:
            out.append({"candidate": r["candidate"], "fits": "failed (see below)"})
            continue
        out.append({**r, "pareto_mark": "*" if r["pareto"] else "",
                    "flash_kib": r["flash_bytes"] / 1024, "sram_kib": r["peak_sram_bytes"] / 1024,
                    "fits": "yes" if r["fits_target"] else "NO"})
    return out


def comparable_table(rows: list) -> list:
    """Table content without the machine-dependent column (measured CPU latency)."""
    return [{k: v for k, v in r.items() if k not in ("cpu_latency_ms", "traceback")} for r in rows]


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else str(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def write_json(doc: dict, path) -> Path:
    path = Path(path)
    atomic_write(path, json.dumps(_jsonable(doc), indent=1), "JSON report")
    return path
