"""Automatic mixed precision: per weighted layer one of 16x8 / int8 / 1-bit, chosen to meet an
accuracy budget on a VALIDATION split at the lowest simulated latency or flash size.

1. per-layer sensitivity on the validation split (tinycnn.explorer.sensitivity): each
   (layer, lower precision) measured alone, everything else 16x8;
2. start from all layers 16x8 (the most accurate configuration); if even that misses the
   budget, stop and say so;
3. try the jump to all-int8 in one step;
4. greedy descent: repeatedly lower the one layer with the least accuracy cost per unit of
   objective saved (from the sensitivity rows), skipping moves that alone already break the
   budget; every move is MEASURED on the validation split and kept only if the configuration
   still meets the budget and is cheaper. A rejected move is not retried.
Every accepted configuration was measured on the validation split, so the result meets the
budget there by construction — both as accuracy drop and as the share of the float model's
predictions it changes (see ``fits``); its held-back test accuracy is reported by the explorer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tinycnn.explorer.candidates import bits_summary, layer_options, mixed_candidate, weighted_layers
from tinycnn.explorer.evaluate import EvalData, measure_candidate
from tinycnn.explorer.sensitivity import baseline_bits, measure_sensitivity

OBJECTIVES = {"latency": ("sim_latency_ms", "latency_saving_ms"), "size": ("flash_bytes", "flash_saving_bytes")}
TOLERANCE = 1e-9


@dataclass
class SearchResult:
    bits: dict
    meets_budget: bool
    budget_points: float
    objective: str
    validation: dict  # the chosen configuration measured on the validation split
    baseline: dict  # all 16x8 on the validation split
    sensitivity: list
    steps: list = field(default_factory=list)
    layer_order: list = field(default_factory=list)

    @property
    def summary(self) -> str:
        return bits_summary(self.bits, self.layer_order)

    def to_json(self) -> dict:
        return {"layer_bits": self.bits, "layer_bits_summary": self.summary, "meets_budget": self.meets_budget,
                "max_accuracy_drop": self.budget_points, "objective": self.objective,
                "validation": self.validation, "baseline": self.baseline, "sensitivity": self.sensitivity,
                "steps": self.steps}


def search_mixed_precision(model_path, fg, val: EvalData, max_accuracy_drop=1.0, objective="latency",
                           target="cortex-m4", clock_mhz=None, jobs=2, progress=True,
                           calibration="minmax") -> SearchResult:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {tuple(OBJECTIVES)}")
    key, saving_key = OBJECTIVES[objective]
    options = layer_options(fg)
    from tinycnn.explorer import session
    from tinycnn.explorer.parallel import progress_bar
    baseline, sens = measure_sensitivity(model_path, fg, val, target, clock_mhz, jobs, progress, calibration)
    calibrations, measured = session.calibrations(model_path, val.x_calib), {}
    bar = progress_bar(1 + len(sens), "mixed-precision search (moves, at most)", progress)

    def measure(bits):
        k = tuple(sorted(bits.items()))
        if k not in measured:
            measured[k] = measure_candidate(fg, mixed_candidate(bits, calibration=calibration), val, target, clock_mhz,
                                            latency_samples=0, calibrations=calibrations, quick=True)
            bar.update()
        return measured[k]

    def fits(r):
        # Conservative: besides the accuracy drop, at most `max_accuracy_drop` % of the float
        # model's validation predictions may change. The drop can never exceed that share, and,
        # unlike the drop, it gains nothing from lucky flips on a small split, so it carries over
        # to held-back data (without it the search accepted 1-bit layers that "improved"
        # validation accuracy by 2 points and lost 4 on the test split).
        return ("error" not in r and r["accuracy_drop"] <= max_accuracy_drop + TOLERANCE
                and 100.0 - r.get("top1_agreement", 100.0) <= max_accuracy_drop + TOLERANCE)

    current, cur = baseline_bits(options), baseline
    result = SearchResult(current, fits(baseline), max_accuracy_drop, objective, baseline, baseline, sens,
                          layer_order=weighted_layers(fg))
    if not result.meets_budget:
        bar.close()
        return result
    steps = result.steps

    def attempt(bits, what):
        nonlocal current, cur
        r = measure(bits)
        ok = fits(r) and r[key] < cur[key]
        steps.append({"move": what, "accepted": ok, "accuracy_drop": r.get("accuracy_drop"),
                      key: r.get(key), "error": r.get("error")})
        if ok:
            current, cur = bits, r
        return ok

    all_int8 = {layer: "int8" for layer in options}
    attempt(all_int8, "all layers int8")
    sens_by = {(r["layer"], r["precision"]): r for r in sens}
    rejected = set()
    while True:
        moves = []
        for idx, (layer, opts) in enumerate(options.items()):
            i = opts.index(current[layer])
            if i + 1 >= len(opts) or (layer, opts[i + 1]) in rejected:
                continue
            s = sens_by.get((layer, opts[i + 1]))
            if s is None or "error" in s or s["accuracy_drop"] > max_accuracy_drop + TOLERANCE:
                continue
            if s[saving_key] <= 0:
                continue
            score = (max(s["drop_vs_baseline"], 0.0) + 0.01) / s[saving_key]
            moves.append((score, idx, layer, opts[i + 1]))
        if not moves:
            break
        _, _, layer, p = min(moves)
        if not attempt({**current, layer: p}, f"{layer} -> {p}"):
            rejected.add((layer, p))
    bar.close()
    result.bits, result.validation = current, cur
    return result
