"""Device run on one arena == CPU runtime bit for bit; budgets; report content; CLI; C export."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

import tinycnn
from firmware_sim import simulate
from firmware_sim.cycles import graph_cycles
from firmware_sim.device import ARENA_FILL, Device, plan_memory
from firmware_sim.targets import get_target, load_targets
from tinycnn.cli import main
from tinycnn.errors import BudgetExceededError, TinyCNNError
from tinycnn.ir import Op

from tests.firmware_sim_models import ONNX_FIXTURES, converted_models

MODELS = ONNX_FIXTURES + ["conv_net", "depthwise_residual_net", "branchy_net", "bnn"]


@pytest.mark.parametrize("name", MODELS)
def test_device_run_is_bit_identical_to_cpu_runtime(name):
    blob, x = converted_models()[name]
    model = tinycnn.load(blob)
    xq = [model.quantize_input(model._to_nhwc(x, 0))]
    cpu = model.run_quantized(xq)[0]
    for in_place in (True, False):
        plan = plan_memory(model.graph, in_place=in_place)
        device = Device(model.graph, plan)
        # every activation really lives in the arena
        for key, buf in device.plan.buffers.items():
            assert np.shares_memory(buf, device.arena), key
        np.testing.assert_array_equal(device.run_quantized(xq)[0], cpu)
    report = simulate(blob, "host", inputs=x)
    assert report.matches_cpu is True
    np.testing.assert_array_equal(report.outputs_q[0], cpu)
    np.testing.assert_allclose(report.outputs[0], model.run(x), rtol=0, atol=0)


def test_a_planning_bug_is_caught_by_the_device_run():
    """Put two simultaneously live tensors at the same offset: the output must change."""
    blob, x = converted_models()["mobilenet_v2"]
    model = tinycnn.load(blob)
    xq = [model.quantize_input(model._to_nhwc(x, 0))]
    plan = plan_memory(model.graph, in_place=False)
    add = next(n for n in model.graph.nodes if n.op == Op.ADD)
    a, b = model.graph.activation_inputs(add)
    plan.offsets[b] = plan.offsets[a]
    out = Device(model.graph, plan).run_quantized(xq)[0]
    assert not np.array_equal(out, model.run_quantized(xq)[0])


def test_report_fields_and_rows():
    blob, x = converted_models()["resnet"]
    graph = tinycnn.load(blob).graph
    r = tinycnn.simulate(blob, target="cortex-m4")
    assert r.matches_cpu is True and r.input_source.startswith("one seeded random")
    assert r.peak_sram_bytes == plan_memory(graph).arena_bytes <= r.naive_sram_bytes
    assert r.flash_bytes == r.blob_bytes + r.runtime_flash_bytes and r.blob_bytes == blob.stat().st_size
    assert len(r.rows) == len(graph.nodes)
    assert r.cycles == sum(row["cycles"] for row in r.rows) > 0
    assert r.latency_ms == pytest.approx(r.cycles / 80e3)
    assert sum(row["share"] for row in r.rows) == pytest.approx(1.0)
    assert max(row["arena_high_bytes"] for row in r.rows) == r.peak_sram_bytes
    assert r.peak_layer in {row["layer"] for row in r.rows}
    conv = next(row for row in r.rows if row["op"] == "CONV_2D")
    assert conv["macs"] > 0 and conv["shape"][0] == 1
    text = r.format()
    assert "ESTIMATE" in text and "CMSIS-NN" in text and "bit for bit" in text and conv["layer"] in text
    d = r.to_json()
    json.dumps(d)
    assert {"peak_sram_bytes", "flash_bytes", "latency_ms", "cycles", "rows"} <= set(d)


def test_clock_override_and_targets_scale_latency():
    blob, _ = converted_models()["vgg"]
    base = simulate(blob, "cortex-m7", run=False)
    fast = simulate(blob, "cortex-m7", clock_mhz=2 * base.clock_mhz, run=False)
    assert fast.cycles == base.cycles and fast.latency_ms == pytest.approx(base.latency_ms / 2)
    cycles = {t: simulate(blob, t, run=False).cycles for t in ("cortex-m0plus", "cortex-m4", "cortex-m7",
                                                              "cortex-m55")}
    assert cycles["cortex-m0plus"] > cycles["cortex-m4"] > cycles["cortex-m7"] > cycles["cortex-m55"]
    naive = simulate(blob, "cortex-m4", kernels="naive", run=False)
    assert naive.cycles > simulate(blob, "cortex-m4", run=False).cycles


def test_binary_layers_cost_from_bit_ops_and_popcount():
    blob, _ = converted_models()["bnn"]
    graph = tinycnn.load(blob).graph
    node = next(n for n in graph.nodes if n.op == Op.BINARY_CONV_2D)
    m4, m7 = get_target("cortex-m4"), get_target("cortex-m7")
    (c4, what), = graph_cycles(graph, [node], m4)
    (c7, _), = graph_cycles(graph, [node], m7)
    assert "popcount" in what and c4 > c7
    bit_words = node.attrs["macs"] / 32
    assert c4 >= bit_words * (m4.cost["popcount_cycles_per_word"] + 3)


def test_budget_errors_name_size_layer_and_target(tmp_path):
    blob, _ = converted_models()["mobilenet_v2"]
    r = simulate(blob, "cortex-m4", run=False)
    tiny = tmp_path / "tiny.toml"
    tiny.write_text('name = "tiny"\nbase = "cortex-m4"\nsram_kib = 4\nflash_kib = 16\n')
    with pytest.raises(BudgetExceededError) as exc:
        simulate(blob, "tiny", target_file=tiny)
    msg = str(exc.value)
    need = r.tflm_sram_bytes + 8192  # TFLM arena + cortex-m4's 8 KiB stack reserve
    assert f"needs {need / 1024:.1f} KiB SRAM" in msg and f"arena peak at layer {r.peak_layer}); tiny has 4.0 KiB" in msg
    assert f"over by {(need - 4096) / 1024:.1f} KiB" in msg
    assert "KiB flash" in msg and "tiny has 16.0 KiB" in msg
    # CLI: non-zero exit, message on stderr
    assert main(["simulate", str(blob), "--target", "tiny", "--target-file", str(tiny)]) != 0
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"targets": [{"name": "roomy", "base": "cortex-m4", "sram_kib": 4096}]}))
    assert simulate(blob, "roomy", target_file=ok, run=False).sram_budget_bytes == 4096 * 1024


def test_targets_table_and_errors(tmp_path, capsys):
    targets = load_targets()
    assert {"cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m55", "esp32-s3", "host"} <= set(targets)
    for t in targets.values():
        assert t.clock_mhz > 0 and t.sram_bytes > 0 and t.flash_bytes > 0 and t.cost["simd_lanes"] >= 1
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    assert "cortex-m55" in out and "esp32-s3" in out and "MHz" in out
    with pytest.raises(TinyCNNError, match="unknown target 'cortex-m99'"):
        get_target("cortex-m99")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "half"\ncore = "x"\nclock_mhz = 10\nsram_kib = 1\nflash_kib = 1\n')
    with pytest.raises(TinyCNNError, match="lacks cost.simd_lanes"):
        load_targets(bad)


def test_simulate_cli_writes_table_json_and_plot(tmp_path, capsys):
    blob, x = converted_models()["inception"]
    np.save(tmp_path / "x.npy", x[:2])
    js, png = tmp_path / "r.json", tmp_path / "r.png"
    assert main(["simulate", str(blob), "--target", "cortex-m55", "--clock-mhz", "200",
                 "--input", str(tmp_path / "x.npy"), "--json", str(js), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "cortex-m55" in out and "200 MHz" in out and "2 given input sample(s)" in out
    d = json.loads(js.read_text())
    assert d["target"] == "cortex-m55" and d["clock_mhz"] == 200 and d["matches_cpu"] is True
    assert len(d["rows"]) == len(tinycnn.load(blob).graph.nodes)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_float_blob_simulates_without_a_device_run(tmp_path):
    """float32 blobs are planned and costed (tests/test_firmware_sim_dtypes.py has the cycle
    checks); the arena run is skipped with a note, since float graphs run through NumPy."""
    from tests.conftest import DATA
    blob = tinycnn.convert(DATA / "onnx" / "vgg.onnx", scheme="float32", output=tmp_path / "f.tcnn")
    r = simulate(blob)
    assert r.matches_cpu is None and "float32" in r.run_note and r.run_note in r.format()
    assert r.cycles > 0 and {row["dtype"] for row in r.rows} == {"float32"}


def test_arena_starts_with_garbage():
    """Kernels must not rely on zeroed buffers (a device arena is not cleared)."""
    blob, _ = converted_models()["conv_net"]
    graph = tinycnn.load(blob).graph
    assert (Device(graph, plan_memory(graph)).arena == ARENA_FILL).all()


def test_export_c_header_compiles(tmp_path, capsys):
    blob, _ = converted_models()["mobilenet_v1"]
    header = tmp_path / "model_data.h"
    assert main(["export-c", str(blob), "-o", str(header), "--name", "mnv1"]) == 0
    model = tinycnn.load(blob)
    arena = plan_memory(model.graph).arena_bytes
    text = header.read_text()
    assert f"#define MNV1_ARENA_BYTES {arena}u" in text
    assert f"#define MNV1_BLOB_BYTES {blob.stat().st_size}u" in text
    src = tmp_path / "main.c"
    q = model.graph.tensors[model.graph.inputs[0]].quant
    src.write_text(
        '#include "model_data.h"\n'
        "static uint8_t tensor_arena[MNV1_ARENA_BYTES] __attribute__((aligned(MNV1_ALIGNMENT)));\n"
        "_Static_assert(sizeof(mnv1_blob) == MNV1_BLOB_BYTES, \"length\");\n"
        f"_Static_assert(MNV1_INPUT0_ELEMENTS == {int(np.prod(model.graph.tensors[model.graph.inputs[0]].shape[1:]))}, \"in\");\n"
        f"_Static_assert(MNV1_INPUT0_ZERO_POINT == {int(q.zero_point[0])}, \"zp\");\n"
        "static const int in_shape[] = MNV1_INPUT0_SHAPE;\n"
        "float input_scale(void) { return MNV1_INPUT0_SCALE + in_shape[0] * 0.0f; }\n"
        "const uint8_t *blob(void) { (void)tensor_arena; return mnv1_blob; }\n"
        "uint32_t blob_len(void) { return mnv1_blob_len; }\n")
    res = subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", "-Wno-unused-variable", "-c", str(src),
                          "-o", str(tmp_path / "main.o")], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "extern const uint8_t mnv1_blob[" in text  # declared in the header, defined once in the .c
    text = header.with_suffix(".c").read_text()
    res = subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", "-c", str(header.with_suffix(".c")),
                          "-o", str(tmp_path / "model_data.o")], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    # the array holds the blob's bytes
    body = text[text.index("= {") + 3:text.index("};")]
    data = bytes(int(v, 16) for v in body.replace("\n", " ").split(",") if v.strip())
    assert data == blob.read_bytes()
