"""The trade-off explorer (`tinycnn tradeoff`, `tinycnn sensitivity`): convert a model under
several quantization schemes, run and measure each candidate, find the Pareto front, and search
per-layer mixed precision under an accuracy budget. See docs/tradeoff.md."""
from tinycnn.tradeoff.candidates import Candidate, default_candidates
from tinycnn.tradeoff.evaluate import EvalData, evaluate_candidate
from tinycnn.tradeoff.pareto import pareto_front

__all__ = ["Candidate", "default_candidates", "EvalData", "evaluate_candidate", "pareto_front",
           "tradeoff", "sensitivity"]


def tradeoff(model_path, data, calib, **kwargs):
    """See tinycnn.tradeoff.explore.tradeoff."""
    from tinycnn.tradeoff.explore import tradeoff as _tradeoff
    return _tradeoff(model_path, data, calib, **kwargs)


def sensitivity(model_path, data, calib, **kwargs):
    """See tinycnn.tradeoff.sensitivity.sensitivity."""
    from tinycnn.tradeoff.sensitivity import sensitivity as _sensitivity
    return _sensitivity(model_path, data, calib, **kwargs)
