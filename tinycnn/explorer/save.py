"""Deployable choices: the blob of every candidate the explorer measured (``tradeoff --save
DIR``) and the same blob rebuilt from a tradeoff JSON (``convert --from-tradeoff J --pick NAME``).

Both go through ``write_candidate``: the candidate's config (tinycnn.explorer.build.build_graph)
on the same float graph and calibration array, written by tinycnn.convert.write_verified. The
JSON records the model file's sha256, the calibration array's sha256 and each candidate's blob
sha256, so a rebuild is checked to be byte-identical to the measured blob before it is kept.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from tinycnn.errors import TinyCNNError
from tinycnn.explorer.candidates import Candidate


def blob_filename(candidate_name: str) -> str:
    """'mixed (latency, <=1 pts)' -> 'mixed_latency_1_pts.tcnn'."""
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", candidate_name).strip("_") + ".tcnn"


def sha256_file(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sha256_array(x: np.ndarray) -> str:
    x = np.ascontiguousarray(x, np.float32)
    return hashlib.sha256(repr(x.shape).encode() + x.tobytes()).hexdigest()


def write_candidate(fg, cand: Candidate, x_calib, output, model_path, calibrations=None) -> Path:
    """Build the candidate's graph from the float graph ``fg`` and write its verified blob.
    x_calib: calibration inputs in the model's own layout."""
    from tinycnn.convert import to_nhwc, write_verified
    from tinycnn.explorer.build import build_graph
    graph = build_graph(fg, cand, to_nhwc(fg, x_calib), calibrations)
    return write_verified(graph, Path(output), model_path)


def provenance(model_path, calib, x_calib: np.ndarray, calib_samples) -> dict:
    """What a rebuild needs, and the hashes that prove it rebuilt from the same inputs."""
    calib_file = str(Path(calib).resolve()) if isinstance(calib, (str, Path)) else None
    return {"model_file": str(Path(model_path).resolve()), "model_sha256": sha256_file(model_path),
            "calib_file": calib_file, "calib_samples": calib_samples, "calib_sha256": sha256_array(x_calib)}


def pick_row(doc: dict, pick: str | None, json_path) -> dict:
    """The candidate row named ``pick``: exact name (case-insensitive) or a unique prefix."""
    rows = [r for r in doc.get("candidates", []) if "error" not in r]
    names = ", ".join(repr(r["candidate"]) for r in rows)
    if not pick:
        raise TinyCNNError(f"--from-tradeoff needs --pick NAME; {json_path} has: {names}")
    exact = [r for r in rows if r["candidate"].lower() == pick.lower()]
    match = exact or [r for r in rows if r["candidate"].lower().startswith(pick.lower())]
    if len(match) != 1:
        why = "is ambiguous" if match else "is not a measured candidate"
        raise TinyCNNError(f"--pick {pick!r} {why} in {json_path}; choose one of: {names}")
    return match[0]


def convert_from_tradeoff(json_path, pick, output=None, model=None, calib=None) -> tuple:
    """Rebuild the blob the explorer measured for candidate ``pick``. model / calib override the
    files recorded in the JSON (checked by sha256). Returns (blob path, row)."""
    from tinycnn.convert import import_model
    from tinycnn.explorer.inputs import load_calib
    try:
        doc = json.loads(Path(json_path).read_text())
    except (OSError, ValueError) as exc:
        raise TinyCNNError(f"{json_path}: cannot read a tradeoff JSON ({exc})") from exc
    src = doc.get("provenance")
    if not isinstance(src, dict):
        raise TinyCNNError(f"{json_path}: no 'provenance' record (written by an older tinycnn tradeoff); "
                           "run tradeoff again")
    row = pick_row(doc, pick, json_path)
    model = Path(model or src["model_file"])
    if not model.exists():
        raise TinyCNNError(f"{json_path}: model file {model} not found; pass the model as the first argument")
    if sha256_file(model) != src["model_sha256"]:
        raise TinyCNNError(f"{model} is not the model {json_path} measured (sha256 differs)")
    calib = calib or src.get("calib_file")
    if calib is None or not Path(calib).exists():
        raise TinyCNNError(f"{json_path}: calibration file {calib} not found; pass it with --calib")
    x_calib = load_calib(calib, src.get("calib_samples"))
    if sha256_array(x_calib) != src["calib_sha256"]:
        raise TinyCNNError(f"{calib} does not hold the calibration data {json_path} measured with "
                           f"(first {src.get('calib_samples') or 'all'} samples; sha256 differs)")
    cand = Candidate.from_json(row["config"])
    output = Path(output) if output else model.with_name(f"{model.stem}-{blob_filename(cand.name)}")
    import os
    tmp = output.parent / f".{output.name}.rebuild"
    try:
        write_candidate(import_model(str(model), src.get("input_shapes")), cand, x_calib, tmp, model)
        if row.get("blob_sha256") and sha256_file(tmp) != row["blob_sha256"]:
            raise TinyCNNError(f"the rebuilt blob of {cand.name!r} differs from the one {json_path} measured "
                               f"(a different tinycnn version?); nothing written to {output}: run tradeoff again")
        os.replace(tmp, output)
    finally:
        if tmp.exists():
            tmp.unlink()
    return output, row
