"""Bounded blob fuzz run (tests/fuzz/blob_fuzz.py): 3,000 graph- and byte-level mutants of the
fixture blobs, each loaded and run in a subprocess; only TinyCNNError or a clean run passes."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import blob_fuzz  # noqa: E402
import mutate  # noqa: E402


def test_crc_field_is_found_from_the_header(tmp_path):
    fixtures = blob_fuzz._load_fixtures(tmp_path / "fx")
    name, buf, graph = fixtures[0]
    assert mutate.with_crc(bytearray(buf), mutate.crc_field_offset(buf)) == buf


def test_bounded_fuzz_run_has_no_crash_hang_or_raw_exception(tmp_path):
    # 60 s per case: a new dtype combination compiles kernels first, which takes > 10 s on a
    # loaded 2-core machine (a real hang still ends the case)
    result = blob_fuzz.campaign(range(3000), tmp_path / "fx", timeout_s=60.0, batch=1500)
    c = result["counts"]
    assert c["cases"] == 3000
    assert c["refused"] > 500 and c["ok"] > 300  # the mutants reach both the validator and the kernels
    assert (c["crashes"], c["hangs"], c["raw_exceptions"]) == (0, 0, 0), result["failures"][:10]


# cases the long campaigns (docs/fuzzing.md) found, re-run on every test run
FOUND = {10210: "input declared with a fixed batch of 255: im2col wrote past its planned buffer",
         37190: "the same with batch 128 on the legacy uint8 blob (corrupted double-linked list)",
         83701: "a graph output that is a constant weight tensor (KeyError in the float reference)"}


def test_cases_found_by_long_campaigns_are_refused_cleanly(tmp_path):
    result = blob_fuzz.campaign(sorted(FOUND), tmp_path / "fx", timeout_s=60.0, batch=50)
    c = result["counts"]
    assert (c["crashes"], c["hangs"], c["raw_exceptions"]) == (0, 0, 0), result["failures"]
    assert c["refused"] == len(FOUND), c
