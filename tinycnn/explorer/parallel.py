"""Where the explorer's independent, pure jobs run: ``local`` (this process for ``jobs=1``, else
one ``concurrent.futures.ProcessPoolExecutor`` of spawned workers kept for the whole run, so each
worker's caches (tinycnn.explorer.session) stay warm from phase to phase) or ``ray`` (Ray tasks
on a local or remote cluster, tinycnn.explorer.ray_backend). Results come back in submission
order with a tqdm bar per phase that moves per job, so the outcome depends neither on the
backend nor on the number of workers.

Arrays that many jobs need (calibration inputs, test inputs, float reference outputs) are
shared once (``Backend.share``: an .npz the workers load once, or a Ray object) and jobs carry
a small handle."""
from __future__ import annotations

import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

BACKENDS = ("local", "ray")


def progress_bar(total, desc, progress=True):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="job", disable=not progress, leave=False, dynamic_ncols=True)


class LocalBackend:
    name = "local"

    def __init__(self, jobs: int = 2):
        self.jobs = max(1, int(jobs))
        self._pool = None
        self._tmp = None
        self._shared = 0

    def share(self, data):
        if self.jobs <= 1:
            return data
        from tinycnn.explorer.session import save_shared
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="tinycnn-explorer-")
        self._shared += 1
        return save_shared(data, Path(self._tmp.name) / f"data{self._shared}.npz")

    def map(self, fn, arg_tuples: list, desc: str = "", progress: bool = True) -> list:
        results = [None] * len(arg_tuples)
        bar = progress_bar(len(arg_tuples), desc, progress)
        try:
            if self.jobs <= 1 or len(arg_tuples) <= 1:
                for i, args in enumerate(arg_tuples):
                    results[i] = fn(*args)
                    bar.update()
                return results
            if self._pool is None:
                ctx = multiprocessing.get_context("spawn")  # no forked ONNX Runtime / Numba thread state
                self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=ctx)
            futures = {self._pool.submit(fn, *args): i for i, args in enumerate(arg_tuples)}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.update()
            return results
        finally:
            bar.close()

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def make_backend(backend="local", jobs=2, address=None):
    """A backend by name; an existing backend object is returned as it is."""
    if not isinstance(backend, str):
        return backend
    if backend == "local":
        return LocalBackend(jobs)
    if backend == "ray":
        from tinycnn.explorer.ray_backend import RayBackend
        return RayBackend(address)
    from tinycnn.errors import TinyCNNError
    raise TinyCNNError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")


def run_jobs(fn, arg_tuples: list, jobs=2, desc: str = "", progress: bool = True) -> list:
    """Run ``fn(*args)`` for every tuple; ``jobs``: a worker count or a backend."""
    if isinstance(jobs, int):
        with LocalBackend(jobs) as b:
            return b.map(fn, arg_tuples, desc, progress)
    return jobs.map(fn, arg_tuples, desc, progress)


def chunks(items: list, n: int) -> list:
    """Split items into n interleaved chunks (balanced), dropping empty ones."""
    n = max(1, n)
    return [items[i::n] for i in range(n) if items[i::n]]
