"""The trade-off explorer behind `tinycnn tradeoff` and `tinycnn sensitivity`: convert a model
under several quantization schemes, run and measure each candidate, find the Pareto front, and
search per-layer mixed precision under an accuracy budget. See docs/tradeoff.md.

Entry points: ``tinycnn.explorer.explore.tradeoff`` and ``tinycnn.explorer.sensitivity.sensitivity``
(also ``tinycnn.tradeoff`` / ``tinycnn.sensitivity``)."""
from tinycnn.explorer.candidates import Candidate, default_candidates
from tinycnn.explorer.evaluate import EvalData, evaluate_candidate
from tinycnn.explorer.explore import TradeoffResult, tradeoff
from tinycnn.explorer.pareto import pareto_front

__all__ = ["Candidate", "default_candidates", "EvalData", "evaluate_candidate", "pareto_front",
           "tradeoff", "TradeoffResult"]
