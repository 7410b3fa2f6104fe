"""Evaluate one candidate: convert, run, measure. ``evaluate_candidate`` is a pure function of
(model file, candidate, data, target): it reads nothing else, writes only a temporary blob, and
returns plain JSON-able values, so a process pool (or later a cluster engine) can run it
anywhere the model file and the arrays can be shipped. Only ``cpu_latency_ms`` depends on the
machine it runs on.
"""
from __future__ import annotations

import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinycnn.explorer.candidates import Candidate

MEASUREMENTS = ("accuracy", "accuracy_metric", "top1_agreement", "sqnr_db", "flash_bytes", "blob_bytes",
                "peak_sram_bytes", "sim_cycles", "sim_latency_ms", "cpu_latency_ms", "fits_target")


@dataclass
class EvalData:
    """Arrays in the model's own input layout. reference: float model outputs on x_test."""
    x_calib: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray | None
    reference: np.ndarray


def accuracy_metrics(reference, outputs, labels) -> dict:
    from tinycnn.report import compare_outputs
    m = compare_outputs(reference, outputs, labels)
    agree = m.get("top1_agreement", 1.0)
    if labels is not None and "accuracy_test" in m:
        acc, metric, ref_acc = m["accuracy_test"], "top-1 accuracy", m["accuracy_reference"]
    else:
        acc, metric, ref_acc = agree, "top-1 agreement with float", 1.0
    return {"accuracy": 100 * acc, "accuracy_metric": metric, "float_accuracy": 100 * ref_acc,
            "accuracy_drop": 100 * (ref_acc - acc), "top1_agreement": 100 * agree, "sqnr_db": m["sqnr_db"]}


def evaluate_candidate(model_path, candidate: Candidate, data, target="cortex-m4",
                       clock_mhz=None, latency_samples=16, save_dir=None, quick=False) -> dict:
    """Measurements of one candidate (see MEASUREMENTS); on failure, {"error": reason}.
    data: EvalData or a handle to one (tinycnn.explorer.session); quick: see measure_candidate.
    The imported model and its calibration runs are cached in this process (session)."""
    from tinycnn.explorer import session
    data = session.resolve(data)
    try:
        fg = session.model_graph(model_path)
    except Exception as exc:  # noqa: BLE001
        return {"candidate": candidate.name, "config": candidate.to_json(),
                "error": f"{type(exc).__name__}: {exc}"}
    return measure_candidate(fg, candidate, data, target, clock_mhz, latency_samples,
                             session.calibrations(model_path, data.x_calib), save_dir, model_path, quick)


def measure_candidate(fg, candidate: Candidate, data: EvalData, target="cortex-m4", clock_mhz=None,
                      latency_samples=16, calibrations=None, save_dir=None, model_path=None, quick=False) -> dict:
    """evaluate_candidate on an imported float graph. latency_samples=0 skips the CPU timing
    (cpu_latency_ms None); calibrations: optional in-process observer cache (build_graph);
    save_dir: keep the measured blob there (tinycnn.explorer.save.blob_filename).
    quick (sensitivity, mixed-precision search): the graph is run as built, without the blob
    file round trip (the same outputs: tests/test_tradeoff_speed.py), blob_bytes is the
    serialized size, and peak SRAM is not planned (no peak_sram_bytes / fits_target)."""
    from tinycnn.blob.reader import read_blob
    from tinycnn.explorer.measure import cpu_latency_ms, device_costs
    from tinycnn.explorer.save import blob_filename, sha256_file, write_candidate
    from tinycnn.runtime import Model

    record = {"candidate": candidate.name, "config": candidate.to_json()}
    try:
        if quick:
            model, nbytes = _build_in_memory(fg, candidate, data.x_calib, calibrations)
        else:
            with tempfile.TemporaryDirectory(prefix="tinycnn-tradeoff-") as tmp:
                out = Path(save_dir) / blob_filename(candidate.name) if save_dir else Path(tmp) / "candidate.tcnn"
                blob = write_candidate(fg, candidate, data.x_calib, out, model_path or fg.meta.get("source_path"),
                                       calibrations)
                record["blob_sha256"] = sha256_file(blob)
                if save_dir:
                    record["blob_file"] = out.name
                model, nbytes = Model(read_blob(blob), path=str(blob)), blob.stat().st_size
        outputs = model.run(data.x_test)
        record.update(accuracy_metrics(data.reference, outputs, data.y_test))
        record.update(device_costs(model.graph, nbytes, target, clock_mhz, sram=not quick))
        record["cpu_latency_ms"] = (cpu_latency_ms(model, data.x_test, latency_samples)
                                    if latency_samples else None)
        record["int16x8_layers"] = len(model.graph.meta.get("int16x8_layers", []))
    except Exception as exc:  # noqa: BLE001 - a candidate that cannot be built is reported, not fatal
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=4)
    return record


def _build_in_memory(fg, candidate, x_calib, calibrations) -> tuple:
    """(Model of the candidate graph as built, size of its blob)."""
    from tinycnn.blob.writer import graph_to_bytes
    from tinycnn.convert import blob_graph, to_nhwc
    from tinycnn.explorer.build import build_graph
    from tinycnn.runtime import Model
    graph = build_graph(fg, candidate, to_nhwc(fg, x_calib), calibrations)
    return Model(graph), len(graph_to_bytes(blob_graph(graph)))
