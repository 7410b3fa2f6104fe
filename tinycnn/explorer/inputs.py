"""Evaluation arrays for the explorer: calibration inputs, labeled data, float reference
outputs, and the validation / held-back test split."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinycnn.dataset import load_inputs, load_labeled
from tinycnn.errors import TinyCNNError
from tinycnn.explorer.evaluate import EvalData


def load_calib(calib, max_samples=None) -> np.ndarray:
    """Calibration inputs; an .npz holding 'x_calib' gives that array (a file may hold both
    splits, as tests/data/onnx/*_data.npz do)."""
    if isinstance(calib, (str, Path)) and Path(calib).suffix == ".npz" and Path(calib).exists():
        with np.load(calib) as z:
            if "x_calib" in z:
                x = z["x_calib"].astype(np.float32)
                return x[:max_samples] if max_samples else x
    x = load_inputs(calib, "calibration")
    return x[:max_samples] if max_samples else x


def load_eval_data(model_path, data, calib, max_samples=None) -> EvalData:
    """All of ``data`` as the evaluation set, with float reference outputs (ONNX Runtime for
    .onnx, the float IR otherwise)."""
    from tinycnn.report import run_reference
    x, y = load_labeled(data)
    if max_samples:
        x, y = x[:max_samples], (None if y is None else y[:max_samples])
    if len(x) == 0:
        raise TinyCNNError("the evaluation data is empty")
    reference = np.asarray(run_reference(model_path, x), np.float32)
    return EvalData(load_calib(calib, max_samples), x, y, reference)


def subset(d: EvalData, idx) -> EvalData:
    return EvalData(d.x_calib, d.x_test[idx], None if d.y_test is None else d.y_test[idx], d.reference[idx])


def split_validation(d: EvalData, val_fraction=0.3, seed=0) -> tuple:
    """(validation, held-back test): a seeded random split of the evaluation set."""
    n = len(d.x_test)
    if not 0 < val_fraction < 1:
        raise TinyCNNError(f"--val-fraction must be between 0 and 1, got {val_fraction}")
    n_val = int(round(n * val_fraction))
    if n_val < 1 or n - n_val < 1:
        raise TinyCNNError(f"{n} samples cannot be split into validation and test with fraction {val_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    return subset(d, np.sort(perm[:n_val])), subset(d, np.sort(perm[n_val:]))
