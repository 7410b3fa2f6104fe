"""``--backend ray``: the explorer's jobs as Ray tasks (PyPI ``ray``, the ``cluster`` extra).

``RayBackend(address)`` connects to a running cluster (``address``: "auto", "ray://HOST:10001"
or "HOST:6379"; also the RAY_ADDRESS environment variable), or starts a local one when there is
neither and Ray is not initialized yet. The model file is read by the workers at the path given,
so on a real cluster it must be on storage every node sees (or give the cluster a
runtime_env working_dir); the arrays travel through Ray's object store (``share``: put once,
each worker fetches them once). Results are the same records as the local backend's, in
submission order (docs/tradeoff.md)."""
from __future__ import annotations

import os

from tinycnn.errors import TinyCNNError
from tinycnn.explorer.parallel import progress_bar

_RESOLVED: dict = {}


class RayShared:
    """Handle to arrays in Ray's object store (a nested ObjectRef: fetched inside the task)."""

    def __init__(self, ref):
        self.ref = ref

    def resolve(self):
        import ray
        key = self.ref.hex()
        if key not in _RESOLVED:
            _RESOLVED.clear()
            _RESOLVED[key] = ray.get(self.ref)
        return _RESOLVED[key]


def init_ray(address=None, attempts=3, **kwargs):
    """ray.init, retried: on a loaded machine a local raylet can exit during start-up when its
    agents are slower than Ray's fixed port-file wait (ray-project/ray#65983); a retry then
    usually starts. A failure to join a given cluster address is not retried."""
    import ray
    opts = dict(include_dashboard=False, log_to_driver=False, configure_logging=False, **kwargs)
    for attempt in range(1 if address else attempts):
        try:
            return ray.init(address=address, **opts)
        except Exception as exc:  # noqa: BLE001 - Ray raises plain Exception for a start-up timeout
            ray.shutdown()
            err = exc
    raise TinyCNNError(f"--backend ray: cannot {'connect to the Ray cluster at ' + repr(address) if address else 'start a local Ray instance'}: "
                       f"{type(err).__name__}: {err}") from err


def _call(fn, args):
    return fn(*args)


class RayBackend:
    name = "ray"

    def __init__(self, address=None):
        try:
            import ray
        except ImportError as exc:
            raise TinyCNNError("--backend ray needs the 'ray' package: pip install 'tinycnn[cluster]' "
                               "(or pip install ray)") from exc
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            init_ray(address or os.environ.get("RAY_ADDRESS"))
            self.started = True
        self._remote = ray.remote(_call)

    def share(self, data):
        return RayShared(self.ray.put(data))

    def map(self, fn, arg_tuples: list, desc: str = "", progress: bool = True) -> list:
        refs = [self._remote.remote(fn, tuple(args)) for args in arg_tuples]
        index = {r.hex(): i for i, r in enumerate(refs)}
        results = [None] * len(refs)
        bar = progress_bar(len(refs), desc, progress)
        try:
            pending = list(refs)
            while pending:
                done, pending = self.ray.wait(pending, num_returns=1)
                for r in done:
                    results[index[r.hex()]] = self.ray.get(r)
                    bar.update()
            return results
        finally:
            bar.close()

    def close(self):
        if self.started:
            self.ray.shutdown()
            self.started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
