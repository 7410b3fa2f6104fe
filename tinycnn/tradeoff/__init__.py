"""The trade-off explorer (`tinycnn tradeoff`, `tinycnn sensitivity`): convert a model under
several quantization schemes, run and measure each candidate, find the Pareto front, and search
per-layer mixed precision under an accuracy budget. See docs/tradeoff.md."""
from tinycnn.tradeoff.candidates import Candidate, default_candidates
from tinycnn.tradeoff.evaluate import EvalData, evaluate_candidate
from tinycnn.tradeoff.explore import TradeoffResult, tradeoff
from tinycnn.tradeoff.pareto import pareto_front
from tinycnn.tradeoff.sensitivity import SensitivityResult, sensitivity  # rebinds the submodule name

__all__ = ["Candidate", "default_candidates", "EvalData", "evaluate_candidate", "pareto_front",
           "tradeoff", "sensitivity",
           "TradeoffResult", "SensitivityResult"]
