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
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import RefgruError, describe
from .config import Entry
from .h5probe import probe
from .registry import KERAS_VAR_GROUPS

ZIP_MAGIC, HDF5_MAGIC = b"PK\x03\x04", b"\x89HDF\r\n\x1a\n"

#: Limits on what is read from an untrusted file (raise them on the module if a real model needs it).
MAX_CONFIG_BYTES = 16 << 20          # config.json, metadata.json, the .h5 model_config attribute
MAX_WEIGHTS_BYTES = 2 << 30          # model.weights.h5 inside a .keras zip; also each weight array
MAX_COMPRESSION_RATIO = 100          # declared size / compressed size, for zip members over 16 MiB
MAX_CONFIG_DEPTH = 100               # nesting of lists and dicts in a config


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


def _depth(value: Any, limit: int) -> int:
    """The nesting depth of lists and dicts in ``value``, counted without recursion, up to ``limit + 1``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (list, dict)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((v, depth + 1) for v in (node.values() if isinstance(node, dict) else node))
    return deepest


def _json(text: bytes | str, what: str) -> Any:
    """Parse JSON of at most ``MAX_CONFIG_BYTES`` and nesting ``MAX_CONFIG_DEPTH``."""
    if len(text) > MAX_CONFIG_BYTES:
        raise RefgruError(f"{what}: expected JSON of at most {MAX_CONFIG_BYTES} bytes, got {len(text)} bytes")
    try:
        value = json.loads(text)
    except RecursionError:
        raise RefgruError(f"{what}: expected JSON nested at most {MAX_CONFIG_DEPTH} deep, got deeper nesting") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RefgruError(f"{what}: expected JSON, got unreadable text ({exc})") from None
    if _depth(value, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH:
        raise RefgruError(f"{what}: expected JSON nested at most {MAX_CONFIG_DEPTH} deep, got deeper nesting")
    return value


def _dataset(h5: Any, node: Any, what: str) -> np.ndarray:
    """Read one weight dataset, refusing links to other files, external or virtual storage, non-numeric
    dtypes and arrays over ``MAX_WEIGHTS_BYTES`` before any data is read."""
    import h5py

    if not isinstance(node, h5py.Dataset):
        raise RefgruError(f"{what}: expected an HDF5 dataset, got {type(node).__name__}")
    if node.file.id != h5.id:
        raise RefgruError(f"{what}: expected a dataset in the model file itself, got a link to another file")
    if node.is_virtual or node.external:
        raise RefgruError(f"{what}: expected a dataset stored in the model file, got external or virtual storage")
    if node.dtype.kind not in "biuf":
        raise RefgruError(f"{what}: expected a numeric array, got a dataset of shape {node.shape} and dtype "
                          f"{node.dtype}")
    if node.size * node.dtype.itemsize > MAX_WEIGHTS_BYTES:
        raise RefgruError(f"{what}: expected an array of at most {MAX_WEIGHTS_BYTES} bytes, got a dataset of "
                          f"shape {node.shape} and dtype {node.dtype}")
    return _array(node[()], what)


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


#: What h5py raises on a damaged file (HDF5 errors arrive as OSError, RuntimeError, KeyError or ValueError).
H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError, OverflowError, MemoryError)


@contextlib.contextmanager
def h5_errors(what: str) -> Iterator[None]:
    """Turn an h5py error from a damaged file into a RefgruError naming ``what``."""
    try:
        yield
    except RefgruError:
        raise
    except H5_ERRORS as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise RefgruError(f"{what}: expected a readable HDF5 file, got a damaged one ({reason})") from None


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
            with h5_errors(f"weights of layer {entry.name!r}"):
                return read(entry)

        def read(entry: Entry) -> list[np.ndarray]:
            arrays = []
            for group in KERAS_VAR_GROUPS.get(entry.class_name, ("vars",)):
                node = h5.get(f"{paths.get(entry.name, '?')}/{group}")
                if node is None:
                    continue
                keys = sorted(node.keys(), key=lambda k: int(k) if k.isdigit() else -1)
                arrays += [_dataset(h5, node[k], f"weights of layer {entry.name!r}") for k in keys]
            return arrays
        return get
    return for_entries


def legacy_h5_weights(h5: Any) -> Callable[[list[Entry]], Callable[[Entry], list[np.ndarray]]]:
    """Weights of a legacy ``.h5`` file: ``model_weights/<layer name>/<weight_names[i]>``."""
    with h5_errors("model_weights"):
        root = h5.get("model_weights")
    if root is None:
        raise RefgruError("model_weights: expected the group of a model saved with model.save(), got a file without it")

    def get(entry: Entry) -> list[np.ndarray]:
        with h5_errors(f"weights of layer {entry.name!r}"):
            return read(entry)

    def read(entry: Entry) -> list[np.ndarray]:
        group = root.get(entry.name)
        if group is None:
            return []
        arrays = []
        for name in _attr_list(group, "weight_names"):
            if name not in group:
                raise RefgruError(f"weights of layer {entry.name!r}: expected the dataset {name!r} that weight_names "
                                  "lists, got none")
            arrays.append(_dataset(h5, group[name], f"weights of layer {entry.name!r}"))
        return arrays
    return lambda entries: get


def _open_h5(data: Any, what: str):
    import h5py  # an optional import: only loading a file needs it

    probe(data, what)  # a damaged file can make libhdf5 loop forever: try it in a child process first
    try:
        return h5py.File(data, "r")
    except H5_ERRORS as exc:
        raise RefgruError(f"{what}: expected a readable HDF5 file, got a damaged or truncated one ({exc})") from None


def _check_members(archive: zipfile.ZipFile, path: str) -> None:
    """Refuse duplicate, absolute and ``..`` member names (nothing is ever extracted, but such a zip is
    not one Keras wrote)."""
    seen = set()
    for name in archive.namelist():
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or re.match(r"[A-Za-z]:", name) or name in seen:
            raise RefgruError(f"{path}: expected a .keras zip with plain member names, got the member {name!r}")
        seen.add(name)


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, path: str) -> bytes:
    """Read one zip member into memory, at most ``limit`` bytes whatever its header declares."""
    info = archive.getinfo(name)
    where = f"{path} {name}"
    if info.file_size > limit:
        raise RefgruError(f"{where}: expected at most {limit} bytes, got a member declaring {info.file_size}")
    if info.file_size > 16 << 20 and info.file_size > MAX_COMPRESSION_RATIO * max(1, info.compress_size):
        raise RefgruError(f"{where}: expected a compression ratio of at most {MAX_COMPRESSION_RATIO}, got "
                          f"{info.file_size} bytes from {info.compress_size} (a zip bomb?)")
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise RefgruError(f"{where}: expected at most {limit} bytes, got more than its header declares")
    return data


@contextlib.contextmanager
def _read_keras_zip(path: str) -> Iterator[Source]:
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(archive, path)
            members = set(archive.namelist())
            for member in ("config.json", "model.weights.h5"):
                if member not in members:
                    raise RefgruError(f"{path}: expected a .keras zip with config.json, metadata.json and "
                                      f"model.weights.h5, got one without {member}")
            config = _json(_read_member(archive, "config.json", MAX_CONFIG_BYTES, path), f"{path} config.json")
            meta = _json(_read_member(archive, "metadata.json", MAX_CONFIG_BYTES, path),
                         f"{path} metadata.json") if "metadata.json" in members else {}
            weights = _read_member(archive, "model.weights.h5", MAX_WEIGHTS_BYTES, path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError, zlib.error) as exc:
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
        with h5_errors(path):
            if "model_config" not in h5.attrs:
                raise RefgruError(f"{path}: expected a model saved with model.save() (root attribute model_config), "
                                  "got an HDF5 file without one (a save_weights() file holds no architecture)")
            raw = h5.attrs["model_config"]
            if not isinstance(raw, (bytes, str)):
                raise RefgruError(f"{path} model_config: expected JSON text, got {describe(raw)}")
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
