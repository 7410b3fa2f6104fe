"""``tradeoff --calibration auto``: the activation-range method for this model, chosen by
measurement. Each method (tinycnn.quant.calibrate.METHODS) builds the int8 per-channel candidate,
measured on the VALIDATION split (never the held-back test split); the winner has the highest
top-1 agreement with the float model, ties broken by output SQNR, then by METHODS order."""
from __future__ import annotations

from tinycnn.errors import TinyCNNError
from tinycnn.explorer.candidates import Candidate
from tinycnn.explorer.evaluate import EvalData, evaluate_candidate
from tinycnn.explorer.parallel import run_jobs
from tinycnn.quant.calibrate import METHODS


def rank_key(record: dict) -> tuple:
    return (record["top1_agreement"], record["sqnr_db"])


def choose_calibration(model_path, val: EvalData, target="cortex-m4", clock_mhz=None, jobs=2,
                       progress=True) -> dict:
    """{"method", "reason", "measured": {method: {top1_agreement, sqnr_db} | {error}}}."""
    cands = [Candidate(f"int8 {m}", "int8", m) for m in METHODS]
    shared = jobs.share(val) if hasattr(jobs, "share") else val
    recs = run_jobs(evaluate_candidate, [(model_path, c, shared, target, clock_mhz, 0) for c in cands], jobs,
                    "calibration methods", progress)
    measured = {m: ({"error": r["error"]} if "error" in r else
                    {"top1_agreement": r["top1_agreement"], "sqnr_db": r["sqnr_db"]})
                for m, r in zip(METHODS, recs)}
    ok = [m for m in METHODS if "error" not in measured[m]]
    if not ok:
        raise TinyCNNError("--calibration auto: every method failed: "
                           + "; ".join(f"{m}: {measured[m]['error']}" for m in METHODS))
    best = max(ok, key=lambda m: (rank_key(measured[m]), -METHODS.index(m)))
    others = ", ".join(f"{m} {measured[m]['top1_agreement']:.1f}% / {measured[m]['sqnr_db']:.2f} dB"
                       for m in ok if m != best)
    b = measured[best]
    reason = (f"calibration auto: {best}, the best int8 per-channel top-1 agreement with float / output SQNR "
              f"on the {len(val.x_test)} validation samples ({b['top1_agreement']:.1f}% / {b['sqnr_db']:.2f} dB; "
              f"{others})")
    return {"method": best, "reason": reason, "measured": measured}
