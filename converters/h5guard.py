"""Reading an untrusted HDF5 file where libhdf5 cannot take the user's process down.

libhdf5 segfaults or loops forever on some corrupt files; Python cannot catch either. So the
file is read in ONE child process per file (``python -m converters.h5guard``, address-space
limit RLIMIT_AS, wall-clock timeout) that dumps every group's attributes and every dataset into
a temp .npz (plain arrays + a JSON manifest; never a pickle); the child is
h5guard_child.py, run as a plain script (no tinycnn import: ~0.1 s start-up). The parent rebuilds a read-only
tree with the small part of the h5py API the Keras importer uses (``in``, ``[path]``,
``keys()``, ``attrs``, ``dataset[()]``). The child also refuses what must never be followed:
external links, external storage (``H5Pset_external``: raw data in another file) and virtual
datasets (data from other files), and bounds the declared size of each dataset before reading.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tinycnn.errors import TinyCNNError

TIMEOUT_S = float(os.environ.get("TINYCNN_H5_TIMEOUT", 60))
MEMORY_BYTES = int(os.environ.get("TINYCNN_H5_MEMORY", 6 << 30))
MAX_DATA_BYTES = int(os.environ.get("TINYCNN_MAX_DATA_BYTES", 4 << 30))
_REFUSED = 3  # child exit code: the message on stderr is a user-facing refusal
_CHILD = Path(__file__).resolve().parent / "h5guard_child.py"  # imports h5py + numpy only


class H5Node:
    def __init__(self, tree, path):
        self._tree, self._path = tree, path
        self.attrs = tree.all_attrs.get(path, {})

    def _abs(self, key):
        return self._tree.resolve((self._path.rstrip("/") + "/" + key.strip("/")) if self._path != "/"
                                  else "/" + key.strip("/"))

    def __contains__(self, key):
        return self._abs(key) in self._tree.kinds

    def __getitem__(self, key):
        if key == ():  # dataset[()]: the whole array
            return self.get_data()
        p = self._abs(key)
        if p not in self._tree.kinds:
            raise KeyError(key)
        return H5Node(self._tree, p)

    def keys(self):
        prefix = self._path.rstrip("/") + "/"
        return [p[len(prefix):] for p in self._tree.kinds
                if p.startswith(prefix) and p != prefix and "/" not in p[len(prefix):]]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def get_data(self):
        if self._tree.kinds.get(self._path) != "dataset":
            raise TinyCNNError(f"{self._tree.source}: '{self._path}' is a group, not a dataset")
        return self._tree.data[self._path]


class H5Tree(H5Node):
    """The whole file: kinds {path: 'group'|'dataset'}, attrs {path: {...}}, data {path: array}."""

    def __init__(self, source, kinds, attrs, data, aliases):
        self.source, self.kinds, self.data, self.aliases = source, kinds, data, aliases
        self.all_attrs = attrs
        super().__init__(self, "/")

    def resolve(self, path):
        for _ in range(32):  # soft links inside the file, bounded
            for alias, target in self.aliases.items():
                if path == alias or path.startswith(alias + "/"):
                    path = target + path[len(alias):]
                    break
            else:
                return path
        raise TinyCNNError(f"{self.source}: soft links form a loop at '{path}'")

    def close(self):
        pass


def read_h5(path, label=None) -> H5Tree:
    """Dump ``path`` in a guarded child; ``label`` names the file in errors (e.g. the .keras)."""
    label = label or str(path)
    with tempfile.TemporaryDirectory(prefix="tinycnn-h5-") as tmp:
        out = Path(tmp) / "dump.npz"
        try:
            proc = subprocess.run([sys.executable, "-I", str(_CHILD), str(path), str(out)],
                                  capture_output=True, timeout=TIMEOUT_S, preexec_fn=_limit,
                                  env=_child_env(), text=True)
        except subprocess.TimeoutExpired:
            raise TinyCNNError(f"{label}: the HDF5 library hung reading it (no result after "
                               f"{TIMEOUT_S:g} s): the file is corrupt") from None
        if proc.returncode == _REFUSED:
            raise TinyCNNError(f"{label}: {proc.stderr.strip().splitlines()[-1]}")
        if proc.returncode != 0:
            how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
            last = (proc.stderr.strip().splitlines() or [""])[-1][:200]
            raise TinyCNNError(f"{label}: the HDF5 library crashed reading it ({how}"
                               f"{': ' + last if last else ''}): the file is corrupt")
        with np.load(out, allow_pickle=False) as z:
            manifest = json.loads(bytes(z["__manifest__"]).decode("utf-8"))
            data = {p: z[f"d{i}"] for i, p in enumerate(manifest["datasets"])}
    return H5Tree(label, manifest["kinds"], manifest["attrs"], data, manifest["aliases"])


def _child_env():
    env = dict(os.environ)
    env["TINYCNN_MAX_DATA_BYTES"] = str(MAX_DATA_BYTES)
    env["TINYCNN_H5_MEMORY"] = str(MEMORY_BYTES)
    return env


def _limit():
    import resource
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = MEMORY_BYTES if hard == resource.RLIM_INFINITY else min(MEMORY_BYTES, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))  # never above an inherited limit
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
