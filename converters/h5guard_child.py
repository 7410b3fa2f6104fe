"""The child of converters/h5guard.py: dump one HDF5 file to .npz + JSON manifest, refusing
external links, external storage and virtual datasets. Run as a script (h5py + numpy only)."""
import json
import os
import sys

import numpy as np

MAX_DATA_BYTES = int(os.environ.get("TINYCNN_MAX_DATA_BYTES", 4 << 30))
MEMORY_BYTES = int(os.environ.get("TINYCNN_H5_MEMORY", 6 << 30))
_REFUSED = 3


class _Refuse(Exception):
    pass


def _attr_value(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "SOU":
            return [_attr_value(x) for x in v.reshape(-1).tolist()]
        if v.dtype.kind in "fiub":
            return v.tolist()
        return None
    if isinstance(v, (np.generic,)):
        return v.item() if v.dtype.kind in "fiub" else str(v)
    if isinstance(v, (str, int, float, bool)):
        return v
    return None


def _dump(path, out):
    import h5py
    kinds, attrs, aliases, datasets, arrays = {"/": "group"}, {}, {}, [], {}
    total = 0
    with h5py.File(path, "r") as f:
        todo = [("/", f)]
        while todo:
            gpath, group = todo.pop()
            attrs[gpath] = {k: _attr_value(group.attrs[k]) for k in group.attrs.keys()}
            for name in group.keys():
                child = gpath.rstrip("/") + "/" + name
                link = group.get(name, getlink=True)
                if isinstance(link, h5py.ExternalLink):
                    raise _Refuse(f"'{child}' is an external link to {link.filename}:{link.path}; "
                                  "refusing to read data from outside the model file")
                if isinstance(link, h5py.SoftLink):
                    target = link.path if link.path.startswith("/") else gpath.rstrip("/") + "/" + link.path
                    aliases[child] = target
                    continue
                obj = group[name]
                if isinstance(obj, h5py.Group):
                    kinds[child] = "group"
                    todo.append((child, obj))
                    continue
                if not isinstance(obj, h5py.Dataset):
                    continue
                dcpl = obj.id.get_create_plist()
                if dcpl.get_external_count() > 0 or obj.is_virtual:
                    raise _Refuse(f"dataset '{child}' keeps its data in another file (HDF5 "
                                  "external storage / virtual dataset); refusing to read it")
                if obj.dtype.kind not in "fiub":
                    raise _Refuse(f"dataset '{child}' has dtype {obj.dtype}; weights must be numbers")
                nbytes = int(np.prod(obj.shape, dtype=np.float64)) * obj.dtype.itemsize
                total += nbytes
                if total > MAX_DATA_BYTES:
                    raise _Refuse(f"datasets declare more than {MAX_DATA_BYTES} bytes of weights; "
                                  "refusing to inflate them")
                kinds[child] = "dataset"
                attrs[child] = {}
                arrays[f"d{len(datasets)}"] = np.asarray(obj[()])
                datasets.append(child)
    manifest = json.dumps({"kinds": kinds, "attrs": attrs, "aliases": aliases, "datasets": datasets})
    np.savez(out, __manifest__=np.frombuffer(manifest.encode("utf-8"), np.uint8), **arrays)


def main(argv):
    try:
        _dump(argv[0], argv[1])
    except _Refuse as exc:
        print(str(exc), file=sys.stderr)
        return _REFUSED
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, RecursionError) as exc:
        print(f"not a readable HDF5 file (truncated or corrupt?): {type(exc).__name__}: "
              f"{str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return _REFUSED
    except MemoryError:
        print(f"reading it needs more than {MEMORY_BYTES} bytes of memory: corrupt or too large",
              file=sys.stderr)
        return _REFUSED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
