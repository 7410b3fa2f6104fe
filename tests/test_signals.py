"""SIGTERM / SIGINT arriving while an output is being written: the CLI exits with 128+signal
and one line (no traceback), and neither the output nor its temp file is left behind. The
child pauses inside the write (its os.fsync is wrapped to announce itself and sleep) so the
signal lands at the worst moment, deterministically."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples"

CHILD = textwrap.dedent("""
    import os, sys, time
    real = os.fsync
    def slow_fsync(fd):
        print("WRITING", flush=True)
        time.sleep(120)
        real(fd)
    os.fsync = slow_fsync
    from tinycnn.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def _interrupt(tmp_path, argv, sig):
    p = subprocess.Popen([sys.executable, "-c", CHILD, *argv], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        for line in p.stdout:  # progress lines may come first
            if line.strip() == "WRITING":
                break
        else:
            pytest.fail(f"the child never reached the write: {p.stderr.read()}")
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
    finally:
        p.kill()
    return p.returncode, err


@pytest.fixture(scope="module")
def blob(tmp_path_factory):
    from tinycnn.cli import main
    out = tmp_path_factory.mktemp("blob") / "digits.tcnn"
    assert main(["convert", str(EXAMPLE / "digits_cnn.onnx"), "--calib", str(EXAMPLE / "digits_calib.npz"),
                 "-o", str(out)]) == 0
    return out


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 130)])
def test_convert_interrupted_while_writing_leaves_nothing(tmp_path, sig, code):
    out = tmp_path / "out" / "m.tcnn"
    out.parent.mkdir()
    rc, err = _interrupt(tmp_path, ["convert", str(EXAMPLE / "digits_cnn.onnx"), "--calib",
                                    str(EXAMPLE / "digits_calib.npz"), "-o", str(out)], sig)
    assert rc == code, err
    assert "Traceback" not in err, err
    assert list(out.parent.iterdir()) == []  # no m.tcnn, no .m.tcnn.XXXX.tmp


def test_run_output_interrupted_while_writing_leaves_nothing(tmp_path, blob):
    out = tmp_path / "out" / "y.npy"
    out.parent.mkdir()
    rc, err = _interrupt(tmp_path, ["run", str(blob), "-i", str(EXAMPLE / "digits_test.npz"), "-o", str(out)],
                         signal.SIGTERM)
    assert rc == 128 + signal.SIGTERM and "Traceback" not in err, err
    assert list(out.parent.iterdir()) == []


def test_export_c_interrupted_while_writing_leaves_nothing(tmp_path, blob):
    out = tmp_path / "out"
    out.mkdir()
    rc, err = _interrupt(tmp_path, ["export-c", str(blob), "-o", str(out / "model.h")], signal.SIGTERM)
    assert rc == 128 + signal.SIGTERM and "Traceback" not in err, err
    assert not [p for p in out.rglob("*") if p.is_file()], sorted(out.rglob("*"))
