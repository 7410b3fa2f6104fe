"""Run independent, pure jobs in worker processes (``concurrent.futures.ProcessPoolExecutor``,
spawned workers) with a tqdm progress bar; results come back in submission order, so the outcome
does not depend on the number of workers. ``jobs=1`` runs in this process."""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed


def run_jobs(fn, arg_tuples: list, jobs: int = 2, desc: str = "", progress: bool = True) -> list:
    from tqdm import tqdm
    bar = tqdm(total=len(arg_tuples), desc=desc, unit="job", disable=not progress, leave=False)
    results = [None] * len(arg_tuples)
    try:
        if jobs <= 1 or len(arg_tuples) <= 1:
            for i, args in enumerate(arg_tuples):
                results[i] = fn(*args)
                bar.update()
            return results
        ctx = multiprocessing.get_context("spawn")  # no forked ONNX Runtime / Numba thread state
        with ProcessPoolExecutor(max_workers=min(jobs, len(arg_tuples)), mp_context=ctx) as pool:
            futures = {pool.submit(fn, *args): i for i, args in enumerate(arg_tuples)}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.update()
        return results
    finally:
        bar.close()


def chunks(items: list, n: int) -> list:
    """Split items into n interleaved chunks (balanced), dropping empty ones."""
    n = max(1, n)
    return [items[i::n] for i in range(n) if items[i::n]]
