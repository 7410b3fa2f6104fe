"""`tinycnn sweep`: the trade-off explorer over several models on one backend (a Ray cluster is
joined or started once for all of them). Per model: ``OUT/<model stem>.json`` (the tradeoff
JSON) and its table; ``OUT/sweep.json`` lists the models with their Pareto-optimal candidates."""
from __future__ import annotations

from pathlib import Path

from tinycnn.errors import TinyCNNError
from tinycnn.explorer.parallel import make_backend
from tinycnn.explorer.report import write_json


def per_model(values: list, n: int, what: str) -> list:
    """One value for every model, or one per model."""
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise TinyCNNError(f"sweep: give one {what} for all models or one per model ({n}); got {len(values)}")
    return values


def sweep(models: list, data: list, calib: list, out_dir, backend="local", jobs=2, address=None,
          echo=print, **kwargs) -> list:
    """tradeoff(model, data, calib, **kwargs) for every model; returns the TradeoffResults."""
    from tinycnn.explorer.explore import tradeoff
    if not models:
        raise TinyCNNError("sweep: no model given")
    stems = [Path(m).stem for m in models]
    if len(set(stems)) != len(stems):
        raise TinyCNNError(f"sweep: two models have the same file name ({', '.join(stems)}): their JSON would collide")
    data, calib = per_model(list(data), len(models), "--data"), per_model(list(calib), len(models), "--calib")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results, index = [], []
    with make_backend(backend, jobs, address) as pool:
        for model, d, c, stem in zip(models, data, calib, stems):
            res = tradeoff(model, d, c, backend=pool, jobs=jobs, **kwargs)
            res.save_json(out / f"{stem}.json")
            echo(res.format())
            echo("")
            results.append(res)
            index.append({"model": str(model), "json": f"{stem}.json",
                          "pareto": [r["candidate"] for r in res.rows if r.get("pareto")]})
    write_json({"backend": pool.name, "models": index}, out / "sweep.json")
    return results
