"""Read saved Keras models: the ``.keras`` zip (Keras 3, tf-keras) and the legacy ``.h5`` file.

``.keras``: a zip with ``config.json`` (the model config), ``metadata.json`` (``keras_version``, the
only reliable Keras 2 vs 3 signal) and ``model.weights.h5``, whose groups are
``layers/<snake_case(class)>[_<n>]/<var group>/vars/<i>``: named by class plus a per-class counter in
layer order, not by layer name.

``.h5``: root attributes ``model_config`` (JSON) and ``keras_version``; group ``model_weights`` with a
group per layer name whose ``weight_names`` attribute lists its datasets in ``get_weights()`` order.

h5py is imported only here, inside the functions that open files. No pickle is ever loaded.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import RefgruError, describe
from .config import Entry
from .registry import KERAS_VAR_GROUPS

ZIP_MAGIC, HDF5_MAGIC = b"PK\x03\x04", b"\x89HDF\r\n\x1a\n"


@dataclass
class Source:
    """What a model file holds: its top-level config, the saving Keras version, and its weights.

    ``weights(entries)`` returns ``get(entry) -> [arrays in get_weights() order]`` for the parsed layers.
    """

    config: dict
    keras_version: int
    version_string: str
    fmt: str
    weights: Callable[[list[Entry]], Callable[[Entry], list[np.ndarray]]]


def major_version(version: Any, what: str) -> int:
    """``"2.21.0" -> 2``, ``"3.15.1" -> 3``; Keras 1 files and unknown versions are refused."""
    text = version.decode() if isinstance(version, bytes) else str(version)
    match = re.match(r"(\d+)\.", text)
    if not match or match.group(1) not in ("2", "3"):
        raise RefgruError(f"{what}: expected a Keras 2.x or 3.x version, got {describe(version)}")
    return int(match.group(1))


def snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: ``TimeDistributed -> time_distributed``, ``GRU -> gru``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _json(text: bytes | str, what: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RefgruError(f"{what}: expected JSON, got unreadable text ({exc})") from None


def _array(value: Any, what: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise RefgruError(f"{what}: expected a numeric array, got {describe(array)}")
    return array


def _attr_list(group: Any, name: str) -> list[str]:
    """An attribute list that Keras may have split into ``name0, name1, ...`` chunks."""
    if name in group.attrs:
        values = list(group.attrs[name])
    else:
        values, i = [], 0
        while f"{name}{i}" in group.attrs:
            values += list(group.attrs[f"{name}{i}"])
            i += 1
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def keras_zip_weights(h5: Any) -> Callable[[list[Entry]], Callable[[Entry], list[np.ndarray]]]:
    """Weights of a ``.keras`` file: ``layers/<snake_case(class)>[_n]/<group>/<i>`` per layer."""
    def for_entries(entries: list[Entry]):
        paths, counts = {}, {}
        for entry in entries:
            if entry.op:
                continue
            base = snake_case(entry.class_name)
            n = counts.get(base, -1) + 1
            counts[base] = n
            paths[entry.name] = f"layers/{base}" + (f"_{n}" if n else "")

        def get(entry: Entry) -> list[np.ndarray]:
            arrays = []
            for group in KERAS_VAR_GROUPS.get(entry.class_name, ("vars",)):
                node = h5.get(f"{paths.get(entry.name, '?')}/{group}")
                if node is None:
                    continue
                keys = sorted(node.keys(), key=lambda k: int(k) if k.isdigit() else -1)
                arrays += [_array(node[k][()], f"weights of layer {entry.name!r}") for k in keys]
            return arrays
        return get
    return for_entries


def legacy_h5_weights(h5: Any) -> Callable[[list[Entry]], Callable[[Entry], list[np.ndarray]]]:
    """Weights of a legacy ``.h5`` file: ``model_weights/<layer name>/<weight_names[i]>``."""
    root = h5.get("model_weights")
    if root is None:
        raise RefgruError("model_weights: expected the group of a model saved with model.save(), got a file without it")

    def get(entry: Entry) -> list[np.ndarray]:
        group = root.get(entry.name)
        if group is None:
            return []
        arrays = []
        for name in _attr_list(group, "weight_names"):
            if name not in group:
                raise RefgruError(f"weights of layer {entry.name!r}: expected the dataset {name!r} that weight_names "
                                  "lists, got none")
            arrays.append(_array(group[name][()], f"weights of layer {entry.name!r}"))
        return arrays
    return lambda entries: get


def _open_h5(data: Any, what: str):
    import h5py  # an optional import: only loading a file needs it

    try:
        return h5py.File(data, "r")
    except (OSError, ValueError) as exc:
        raise RefgruError(f"{what}: expected a readable HDF5 file, got a damaged or truncated one ({exc})") from None


@contextlib.contextmanager
def _read_keras_zip(path: str) -> Iterator[Source]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            for member in ("config.json", "model.weights.h5"):
                if member not in members:
                    raise RefgruError(f"{path}: expected a .keras zip with config.json, metadata.json and "
                                      f"model.weights.h5, got one without {member}")
            config = _json(archive.read("config.json"), f"{path} config.json")
            meta = _json(archive.read("metadata.json"), f"{path} metadata.json") if "metadata.json" in members else {}
            weights = archive.read("model.weights.h5")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, RefgruError):
            raise
        raise RefgruError(f"{path}: expected a readable .keras zip, got a damaged or truncated one ({exc})") from None
    version = meta.get("keras_version") if isinstance(meta, dict) else None
    if version is None:  # no metadata: tf-keras configs name their own module
        version = "2.x" if "tf_keras" in str(config.get("module", "") if isinstance(config, dict) else "") else "3.x"
        version = version.replace("x", "0")
    major = major_version(version, f"{path} metadata.json keras_version")
    with _open_h5(io.BytesIO(weights), f"{path} model.weights.h5") as h5:
        yield Source(config, major, str(version), "keras", keras_zip_weights(h5))


@contextlib.contextmanager
def _read_legacy_h5(path: str) -> Iterator[Source]:
    with _open_h5(path, path) as h5:
        if "model_config" not in h5.attrs:
            raise RefgruError(f"{path}: expected a model saved with model.save() (root attribute model_config), "
                              "got an HDF5 file without one (a save_weights() file holds no architecture)")
        raw = h5.attrs["model_config"]
        config = _json(raw.decode() if isinstance(raw, bytes) else raw, f"{path} model_config")
        version = h5.attrs.get("keras_version", h5.get("model_weights", h5).attrs.get("keras_version"))
        if version is None:
            raise RefgruError(f"{path} keras_version: expected the version of Keras that saved the file, got none")
        version = version.decode() if isinstance(version, bytes) else str(version)
        yield Source(config, major_version(version, f"{path} keras_version"), version, "h5", legacy_h5_weights(h5))


def open_model_file(path: str | os.PathLike) -> contextlib.AbstractContextManager[Source]:
    """Open ``path`` as a ``.keras`` zip or a legacy ``.h5`` file (by content, not by extension)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise RefgruError(f"path: expected an existing .keras or .h5 model file, got {path!r}, which "
                          f"{'is a directory' if os.path.isdir(path) else 'does not exist'}")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(ZIP_MAGIC):
        return _read_keras_zip(path)
    if head == HDF5_MAGIC:
        return _read_legacy_h5(path)
    raise RefgruError(f"{path}: expected a Keras .keras zip or .h5 (HDF5) file, got a file starting with {head!r}")
