"""Worker run by tinycnn.oracles.tflite_ref inside the tflite-runtime side venv.

Standalone: imports only numpy and tflite_runtime (2.14, numpy<2).  Do not
import tinycnn here.

usage: python _tflite_ref_worker.py MODEL IN.npz OUT.npz MODE
  MODE = "outputs"        IN has in_0..in_{k-1} with a leading batch axis;
                          OUT gets out_0..out_{m-1} (batch axis, samples run
                          one at a time at the model's own batch size).
  MODE = "intermediates"  IN holds one sample per input; OUT gets t_<index>
                          for every readable tensor of subgraph 0.
"""
import sys

import numpy as np


def _interp(model, preserve):
    try:
        from tflite_runtime.interpreter import Interpreter, OpResolverType
    except ImportError:  # a full tensorflow install works too
        from tensorflow.lite.python.interpreter import Interpreter, OpResolverType
    return Interpreter(
        model_path=model,
        num_threads=1,
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=preserve,
    )


def main(argv):
    model, in_path, out_path, mode = argv[1:5]
    data = np.load(in_path)
    n_in = len([k for k in data.files if k.startswith("in_")])
    xs = [data[f"in_{i}"] for i in range(n_in)]
    it = _interp(model, mode == "intermediates")
    it.allocate_tensors()
    ind = it.get_input_details()
    outd = it.get_output_details()
    if len(ind) != n_in:
        raise SystemExit(f"model has {len(ind)} inputs, got {n_in}")
    res = {}
    if mode == "outputs":
        step = int(ind[0]["shape"][0]) if len(ind[0]["shape"]) else 1
        step = max(step, 1)
        N = xs[0].shape[0]
        outs = [[] for _ in outd]
        for s in range(0, N, step):
            for d, x in zip(ind, xs):
                it.set_tensor(d["index"], np.ascontiguousarray(x[s:s + step]).astype(d["dtype"], copy=False))
            it.invoke()
            for o, d in enumerate(outd):
                outs[o].append(it.get_tensor(d["index"]).copy())
        for o in range(len(outd)):
            res[f"out_{o}"] = np.concatenate(outs[o], axis=0)
    elif mode == "intermediates":
        for d, x in zip(ind, xs):
            x = np.asarray(x)
            if x.ndim == len(d["shape"]) - 1:
                x = x[None]
            it.set_tensor(d["index"], np.ascontiguousarray(x).astype(d["dtype"], copy=False))
        it.invoke()
        for td in it.get_tensor_details():
            try:
                v = it.get_tensor(td["index"])
            except (ValueError, RuntimeError):
                continue
            if v is None:
                continue
            res[f"t_{td['index']}"] = np.array(v, copy=True)
    else:
        raise SystemExit(f"unknown mode {mode}")
    np.savez(out_path, **res)


if __name__ == "__main__":
    main(sys.argv)
