"""The C runtime (firmware_sim/c_runtime/runtime/), host build with gcc: bit-exact with the Python
runtime (itself tested against TFLite Micro) on the fixture models whose ops it runs, and it
refuses a corrupt blob before running anything. Built once per session into a tmp dir."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import tinycnn
from tests.conftest import DATA, ROOT

RUNTIME = ROOT / "firmware_sim" / "c_runtime" / "runtime"
EX = ROOT / "examples"
# (name, model file, calibration key): int8 models using only the ops the C runtime has today
MODELS = [("digits", EX / "digits_cnn.onnx", None), ("resnet", DATA / "onnx" / "resnet.onnx", "x_calib"),
          ("vgg", DATA / "onnx" / "vgg.onnx", "x_calib"), ("mobilenet_v2", DATA / "onnx" / "mobilenet_v2.onnx", "x_calib"),
          ("autoencoder", DATA / "tflite" / "autoencoder.tflite", None)]


@pytest.fixture(scope="session")
def run_model(tmp_path_factory):
    gcc = shutil.which("gcc")
    assert gcc, "gcc is part of the test environment"
    exe = tmp_path_factory.mktemp("c_runtime") / "run_model"
    sources = [ROOT / "tests" / "c" / "run_model.c", RUNTIME / "tcnn_runtime.c", *sorted((RUNTIME / "kernels").glob("*.c"))]
    subprocess.run([gcc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I", str(RUNTIME), "-o", str(exe),
                    *map(str, sources)], check=True)
    return exe


def _blob(name, path, key, tmp_path):
    if key is None and name == "digits":
        calib = EX / "digits_calib.npz"
    else:
        z = np.load(str(path).rsplit(".", 1)[0] + "_data.npz")
        calib = z[key or list(z.keys())[0]][:32]
    return tinycnn.convert(path, calib=calib, output=tmp_path / f"{name}.tcnn")


def _run_c(exe, blob, xs, tmp_path):
    n = len(xs[0])
    (tmp_path / "in.bin").write_bytes(b"".join(x[k].tobytes() for k in range(n) for x in xs))
    r = subprocess.run([str(exe), str(blob), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")],
                       capture_output=True, text=True)
    return r, np.fromfile(tmp_path / "out.bin", np.uint8) if r.returncode == 0 else None


@pytest.mark.parametrize("name, path, key", MODELS, ids=[m[0] for m in MODELS])
def test_host_build_is_bit_exact_with_the_python_runtime(run_model, name, path, key, tmp_path):
    blob = _blob(name, path, key, tmp_path)
    m = tinycnn.load(blob)
    g = m.graph
    rng = np.random.default_rng(7)
    xs = [rng.integers(-128, 128, (6,) + tuple(g.tensors[i].shape[1:])).astype(g.tensors[i].dtype) for i in g.inputs]
    ys = m.run_quantized(xs)
    r, got = _run_c(run_model, blob, xs, tmp_path)
    assert r.returncode == 0, r.stderr
    want = np.concatenate([np.concatenate([y[k].reshape(-1).view(np.uint8) for y in ys]) for k in range(6)])
    assert len(np.unique(want)) > 3  # outputs vary
    np.testing.assert_array_equal(got, want)
    planned = int(r.stdout.split("arena=")[1].split()[0])
    from firmware_sim.device import buffer_sizes
    from firmware_sim.memory_plan import plan_graph
    assert planned == plan_graph(g, buffer_sizes(g)).arena_bytes


def test_corrupt_blob_is_refused_before_running(run_model, tmp_path):
    blob = _blob("digits", EX / "digits_cnn.onnx", None, tmp_path)
    raw = bytearray(blob.read_bytes())
    raw[300] ^= 0x40
    bad = tmp_path / "bad.tcnn"
    bad.write_bytes(bytes(raw))
    x = np.zeros((1, 16, 16, 1), np.int8)
    r, _ = _run_c(run_model, bad, [x], tmp_path)
    assert r.returncode == 3 and "checksum" in r.stderr
    bad.write_bytes(bytes(raw[:-5]))
    r, _ = _run_c(run_model, bad, [x], tmp_path)
    assert r.returncode == 3 and "size" in r.stderr
