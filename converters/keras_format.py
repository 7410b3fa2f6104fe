"""Reading Keras model files without Keras: the model config (JSON) and the weight arrays.

Three on-disk layouts are understood (h5py and the standard library only):

- Keras 3 ``.keras``: a zip with ``config.json``, ``metadata.json`` and ``model.weights.h5``.
  Weights sit at ``layers/<key>/vars/<i>`` where ``<key>`` is the snake_case *class* name of
  the layer with a per-container counter (``conv2d``, ``conv2d_1``, ...; the InputLayer of a
  Sequential is not counted), nested models at ``layers/<key>/layers/<key>/vars/<i>``. Vars are
  numbered in creation order, so they are matched by position.
- Keras 3 ``.h5`` ("legacy h5", ``model.save('x.h5')``) and Keras 2 / tf.keras ``.h5``: root
  attribute ``model_config`` (JSON); ``model_weights/<layer name>`` holds an attribute
  ``weight_names`` and one dataset per name (``conv2d/kernel:0`` in Keras 2,
  ``sequential/conv2d/kernel`` in Keras 3). A nested model's weights are all listed under the
  outer layer's group, named ``<inner layer>/<var>``. Weights are matched by name.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from converters.h5guard import read_h5
from tinycnn.errors import TinyCNNError


def snake_case(name: str) -> str:
    """Keras 3's naming.to_snake_case (used for the weight-file keys of layers)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _decode(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _var_name(weight_name: str) -> tuple:
    """'seq/conv2d/kernel:0' -> ('conv2d', 'kernel')."""
    parts = _decode(weight_name).split(":")[0].split("/")
    return (parts[-2] if len(parts) > 1 else "", parts[-1])


class PositionalWeights:
    """model.weights.h5 of a .keras archive: arrays matched by position."""
    positional = True

    def __init__(self, h5file):
        self.h5 = h5file

    def container_keys(self, layer_entries, sequential: bool) -> list:
        used, keys = {}, []
        for entry in layer_entries:
            if sequential and entry.get("class_name") == "InputLayer":
                keys.append(None)
                continue
            base = snake_case(entry.get("class_name", "layer"))
            if base in used:
                used[base] += 1
                keys.append(f"{base}_{used[base]}")
            else:
                used[base] = 0
                keys.append(base)
        return keys

    def read(self, key_scope, name_scope) -> list | None:
        """[(None, array), ...] of one layer, or None when the file has no entry for it."""
        for scope in (key_scope, name_scope):
            path = "/".join(f"layers/{k}" for k in scope) + "/vars"
            if path in self.h5:
                group = self.h5[path]
                n = len([k for k in group.keys() if k.isdigit()])
                return [(None, np.asarray(group[str(i)][()])) for i in range(n)]
        return None


class NamedWeights:
    """The model_weights group of an .h5 file: arrays matched by variable name."""
    positional = False

    def __init__(self, group):
        self.root = group

    def container_keys(self, layer_entries, sequential: bool) -> list:
        return [_entry_name(e) for e in layer_entries]

    def read(self, key_scope, name_scope) -> list | None:
        if not key_scope or key_scope[0] not in self.root:
            return None
        group = self.root[key_scope[0]]
        names = [_decode(n) for n in group.attrs.get("weight_names", [])]
        if len(key_scope) > 1:  # a layer of a nested model: listed under the outer group
            names = [n for n in names if _var_name(n)[0] == key_scope[-1]]
        return [(_var_name(n)[1], np.asarray(group[n][()])) for n in names]


def _entry_name(entry) -> str:
    return entry.get("name") or entry.get("config", {}).get("name", "")


@dataclass
class KerasFile:
    path: str
    model_config: dict
    weights: object  # PositionalWeights | NamedWeights
    keras_version: str
    backend: str | None = None  # the Keras backend that wrote the file, when recorded
    _closer: object = None

    @property
    def keras_major(self) -> int:
        m = re.match(r"(\d+)", self.keras_version or "")
        return int(m.group(1)) if m else 3

    def close(self):
        if self._closer is not None:
            self._closer.close()


def open_keras_file(path) -> KerasFile:
    path = Path(path)
    if zipfile.is_zipfile(path):
        return _open_archive(path)
    if path.suffix.lower() == ".keras":
        raise TinyCNNError(f"{path}: not a readable .keras archive (not a zip file, or truncated)")
    return _open_h5(path)


MAX_MEMBER_BYTES = int(os.environ.get("TINYCNN_MAX_DATA_BYTES", 4 << 30))
MAX_JSON_BYTES = 64 << 20
MAX_RATIO = 1000  # a member inflating more than this (and > 1 MiB) is a zip bomb


def _read_member(path, z, name, limit):
    info = z.getinfo(name)
    if info.file_size > limit:
        raise TinyCNNError(f"{path}: archive member {name} declares {info.file_size} bytes "
                           f"uncompressed (limit {limit}); refusing a possible zip bomb")
    if info.file_size > (1 << 20) and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise TinyCNNError(f"{path}: archive member {name} inflates {info.compress_size} -> "
                           f"{info.file_size} bytes (ratio > {MAX_RATIO}); refusing a zip bomb")
    with z.open(info) as f:  # zipfile stops at the declared size and checks the CRC
        return f.read(info.file_size + 1)


def _json(path, what, raw):
    try:
        return json.loads(raw)
    except RecursionError:
        raise TinyCNNError(f"{path}: {what} is nested too deeply to be a model config") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise TinyCNNError(f"{path}: {what} is not valid JSON ({exc})") from exc


def _open_archive(path) -> KerasFile:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "config.json" not in names:
                raise TinyCNNError(f"{path}: .keras archive has no config.json "
                                   f"(members: {', '.join(sorted(names)) or 'none'})")
            if "model.weights.h5" not in names:
                raise TinyCNNError(f"{path}: .keras archive has no model.weights.h5")
            config_raw = _read_member(path, z, "config.json", MAX_JSON_BYTES)
            meta_raw = _read_member(path, z, "metadata.json", MAX_JSON_BYTES) \
                if "metadata.json" in names else b"{}"
            with tempfile.TemporaryDirectory(prefix="tinycnn-keras-") as tmp:
                h5_path = Path(tmp) / "model.weights.h5"
                h5_path.write_bytes(_read_member(path, z, "model.weights.h5", MAX_MEMBER_BYTES))
                tree = read_h5(h5_path, f"{path} (model.weights.h5)")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError) as exc:
        raise TinyCNNError(f"{path}: not a readable .keras archive ({exc})") from exc
    config, meta = _json(path, "config.json", config_raw), _json(path, "metadata.json", meta_raw)
    if not isinstance(config, dict) or not isinstance(meta, dict):
        raise TinyCNNError(f"{path}: config.json / metadata.json must each hold a JSON object")
    return KerasFile(str(path), config, PositionalWeights(tree), str(meta.get("keras_version", "3")),
                     meta.get("backend"), tree)


def _open_h5(path) -> KerasFile:
    h5 = read_h5(path)
    if "model_config" not in h5.attrs:
        raise TinyCNNError(f"{path}: HDF5 file has no 'model_config' attribute (weights only, as "
                           "written by save_weights?); save the whole model with model.save()")
    raw = h5.attrs["model_config"]
    config = _json(path, "model_config", raw if isinstance(raw, str) else str(raw))
    if not isinstance(config, dict):
        raise TinyCNNError(f"{path}: model_config must be a JSON object")
    root = h5["model_weights"] if "model_weights" in h5 else h5
    version = _decode(h5.attrs.get("keras_version", root.attrs.get("keras_version", "2")))
    backend = _decode(h5.attrs.get("backend", root.attrs.get("backend", "tensorflow")))
    return KerasFile(str(path), config, NamedWeights(root), str(version), str(backend), h5)
