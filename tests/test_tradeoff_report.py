"""`tinycnn report` (issue 16 item 4): the self-contained HTML page opened in headless Chromium
(Debian `chromium`, installed by the Makefile): the DOM Chromium builds has the per-layer table
with one row per simulated layer, the validation table with the float accuracy ONNX Runtime
gives, the trade-off table with every candidate, and both embedded plots decoded; a screenshot
of the page is not blank."""
from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np

from tinycnn.cli import main

DIGITS = ("examples/digits_cnn.onnx", "examples/digits_test.npz", "examples/digits_calib.npz")


class Page(HTMLParser):
    """Tables (id -> rows of cell texts), <img> attributes and <body> attributes of a DOM dump."""

    def __init__(self):
        super().__init__()
        self.tables, self.images, self.body = {}, [], {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "table":
            self._table = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(a)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _chromium(*args):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is missing: `make test` installs it (apt-get install chromium)"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
           "--virtual-time-budget=5000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_report_renders_in_headless_chromium(tmp_path, capsys):
    import onnxruntime as ort
    from firmware_sim import simulate
    import tinycnn

    js, out = tmp_path / "t.json", tmp_path / "report.html"
    from tinycnn.explorer import tradeoff
    from tinycnn.explorer.candidates import Candidate
    cands = [Candidate("float32", "float32"), Candidate("int8 per-channel", "int8"), Candidate("16x8", "int16x8")]
    tradeoff(*DIGITS, max_samples=40, calib_samples=32, mixed=False, latency_samples=1, jobs=1, progress=False,
             candidates=cands).save_json(js)
    assert main(["report", DIGITS[0], "--data", DIGITS[1], "--calib", DIGITS[2], "--target", "cortex-m4",
                 "--tradeoff-json", str(js), "-o", str(out), "--quiet"]) == 0
    assert "wrote" in capsys.readouterr().out
    raw = out.read_text()
    assert "http://" not in raw and "https://" not in raw and "src=\"data:image/png;base64," in raw  # self-contained

    res = _chromium("--dump-dom", out.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    page = Page()
    page.feed(res.stdout)
    assert page.body.get("data-plots") == "2" and page.body.get("data-images-decoded") == "2", page.body

    # per-layer table: one row per layer firmware_sim simulates for the same int8 blob
    blob = tmp_path / "d.tcnn"
    tinycnn.convert(DIGITS[0], calib=np.load(DIGITS[2])["x"], output=blob)
    sim = simulate(blob, "cortex-m4", check_budget=False, run=False)
    layers = page.tables["layers"]
    assert layers[0][:2] == ["layer", "op"] and len(layers) - 1 == len(sim.rows)
    assert [r[0] for r in layers[1:]] == [r["layer"] for r in sim.rows]

    # validation: the float accuracy is ONNX Runtime's on the same data
    z = np.load(DIGITS[1])
    sess = ort.InferenceSession(DIGITS[0], providers=["CPUExecutionProvider"])
    ref = sess.run(None, {sess.get_inputs()[0].name: z["x"].astype(np.float32)})[0]
    val = page.tables["validation"]
    col = val[0].index("float top-1 %")
    assert float(val[1][col]) == round(100 * float(np.mean(ref.argmax(1) == z["y"])), 2)

    # trade-off: every candidate of the JSON, with its accuracy
    import json
    doc = json.loads(js.read_text())
    trade = page.tables["tradeoff"]
    names = {r[trade[0].index("candidate")] for r in trade[1:]}
    assert names == {c["candidate"] for c in doc["candidates"]}

    shot = tmp_path / "shot.png"
    res = _chromium(f"--screenshot={shot}", "--window-size=1200,1600", out.as_uri())
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    import matplotlib.image as mpimg
    img = mpimg.imread(shot)
    assert img.shape[0] >= 1500 and img.shape[1] >= 1100 and img.std() > 0.05  # a rendered page, not blank
