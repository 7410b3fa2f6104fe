"""Record the QEMU-measured per-layer instruction counts of tinycnn's C runtime (`tinycnn emulate`)
on the int8 .tflite fixtures for every emulated core: the data the tinycnn-c latency model is fitted
to and judged against (firmware_sim/cpi.py, docs/cycle-model.md "tinycnn-c").

    .venv/bin/python -m firmware_sim.calibrate_c [--cores cortex-m4,...] [--models a,b]

writes firmware_sim/calibration/tinycnn_c_counts.json: {core: {model: [layer rows]}}, each row the
op, its cost-model kind, MACs, output elements, weight bytes and the instruction counts by class.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

OUT = Path(__file__).parent / "calibration" / "tinycnn_c_counts.json"
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "data" / "tflite"
MODELS = ("ds_cnn_kws", "mobilenet_v1", "mobilenet_v2", "resnet", "autoencoder", "inception")


def layer_facts(graph) -> list:
    """Per node: what the fitted model sees (no measurement)."""
    import numpy as np

    from firmware_sim.cycles import MAC_OPS, mac_kind
    from firmware_sim.memory_cost import weight_bytes
    from tinycnn.costs import node_macs
    rows = []
    for n in graph.nodes:
        kind = mac_kind(graph, n)[0] if n.op in MAC_OPS else n.op.value.lower()
        rows.append({"op": n.op.value, "kind": kind, "macs": int(node_macs(graph, n)),
                     "outputs": int(np.prod(graph.tensors[n.outputs[0]].concrete_shape(1))),
                     "weight_bytes": weight_bytes(graph, n)})
    return rows


def record(cores, models, progress=print) -> dict:
    import tinycnn
    from firmware_sim.emulate import TARGETS, emulate
    data = json.loads(OUT.read_text()) if OUT.exists() else {}
    tmp = Path(tempfile.mkdtemp(prefix="tcnn_calib_"))
    for model in models:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            blob = tinycnn.convert(FIXTURES / f"{model}.tflite", output=tmp / f"{model}.tcnn")
        facts = layer_facts(tinycnn.load(blob).graph)
        for core in cores:
            if core not in TARGETS:
                raise SystemExit(f"no emulated board for {core}")
            progress(f"{model} on {core}")
            r = emulate(blob, core)
            assert r.matches_cpu, f"{model} on {core}: emulated outputs differ"
            data.setdefault(core, {})[model] = [dict(f, classes=lay["classes"]) for f, lay in zip(facts, r.layers)]
            OUT.write_text(json.dumps(data, indent=0, sort_keys=True))
    return data


if __name__ == "__main__":
    from firmware_sim.emulate import TARGETS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", default=",".join(TARGETS))
    ap.add_argument("--models", default=",".join(MODELS))
    a = ap.parse_args()
    record(a.cores.split(","), a.models.split(","))
