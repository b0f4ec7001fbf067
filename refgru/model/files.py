"""Read saved Keras models: the ``.keras`` zip (Keras 3, tf-keras) and the legacy ``.h5`` file.

``.keras``: a zip with ``config.json`` (the model config), ``metadata.json`` (``keras_version``, the
only reliable Keras 2 vs 3 signal) and ``model.weights.h5``.

``.h5``: root attributes ``model_config`` (JSON) and ``keras_version``, and group ``model_weights``.

Where each layer's arrays are inside either file is :mod:`refgru.model.file_weights`.

The source (a path, ``bytes`` or a binary file object) is read once into memory; everything after that
parses those bytes. HDF5 is read with :mod:`refgru.model.hdf5` (pyfive, bounded and checked), whose
weights are lazy: a layer's builder checks each dataset's shape against its config before it is read.
No pickle is ever loaded, no other file is opened, no process is spawned. The limits below are read at
each call, so setting ``refgru.model.files.MAX_...`` takes effect at once.
"""
from __future__ import annotations

import io
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import RefgruError, describe
from .config import Entry
from .file_weights import keras_zip_weights, legacy_h5_weights
from .file_weights import snake_case as snake_case  # re-exported: imported from here before the split
from .guard import guard
from .registry import escape

ZIP_MAGIC, HDF5_MAGIC = b"PK\x03\x04", b"\x89HDF\r\n\x1a\n"

#: Limits on what is read from an untrusted file (raise them on the module if a real model needs it).
MAX_CONFIG_BYTES = 16 << 20          # config.json, metadata.json, the .h5 model_config attribute
MAX_FILE_BYTES = 3 << 30             # the model file, and model.weights.h5 inside a .keras zip
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


def _open_h5(data: bytes, what: str):
    from .hdf5 import H5File  # pyfive is imported when an HDF5 file is first read, not by ``import refgru``

    with guard(what):
        return H5File(data, what)


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
        data = _read_bounded(member.read, limit, info.file_size)
    if len(data) > limit:
        raise RefgruError(f"{where}: expected at most {limit} bytes, got more than its header declares")
    return data


def _read_keras_zip(data: bytes, name: str) -> Source:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_members(archive, name)
            members = set(archive.namelist())
            for member in ("config.json", "model.weights.h5"):
                if member not in members:
                    raise RefgruError(f"{name}: expected a .keras zip with config.json, metadata.json and "
                                      f"model.weights.h5, got one without {member}")
            config = _json(_read_member(archive, "config.json", MAX_CONFIG_BYTES, name), f"{name} config.json")
            meta = _json(_read_member(archive, "metadata.json", MAX_CONFIG_BYTES, name),
                         f"{name} metadata.json") if "metadata.json" in members else {}
            weights = _read_member(archive, "model.weights.h5", MAX_FILE_BYTES, name)
    except RefgruError:
        raise
    except Exception as exc:  # noqa: BLE001  (zipfile and zlib on a damaged zip: many types, one meaning)
        raise RefgruError(f"{name}: expected a readable .keras zip, got a damaged or truncated one "
                          f"({type(exc).__name__}: {escape(str(exc)[:160])})") from None
    version = meta.get("keras_version") if isinstance(meta, dict) else None
    if version is None:  # no metadata: tf-keras configs name their own module
        version = "2.x" if "tf_keras" in str(config.get("module", "") if isinstance(config, dict) else "") else "3.x"
        version = version.replace("x", "0")
    major = major_version(version, f"{name} metadata.json keras_version")
    if weights[:8] != HDF5_MAGIC:
        raise RefgruError(f"{name} model.weights.h5: expected a readable HDF5 file, got one starting with "
                          f"{weights[:8]!r}")
    h5 = _open_h5(weights, f"{name} model.weights.h5")
    return Source(config, major, str(version), "keras", keras_zip_weights(h5))


def _read_legacy_h5(data: bytes, name: str) -> Source:
    h5 = _open_h5(data, name)
    with guard(name):
        attrs = h5.attrs(h5.root)
        if "model_config" not in attrs:
            raise RefgruError(f"{name}: expected a model saved with model.save() (root attribute model_config), "
                              "got an HDF5 file without one (a save_weights() file holds no architecture)")
        raw = attrs["model_config"]
        if not isinstance(raw, str):
            raise RefgruError(f"{name} model_config: expected JSON text, got {describe(raw)}")
        config = _json(raw, f"{name} model_config")
        version = attrs.get("keras_version")
        if version is None:
            weights_root = h5.get("model_weights")
            version = h5.attrs(weights_root).get("keras_version") if weights_root is not None else None
        if version is None:
            raise RefgruError(f"{name} keras_version: expected the version of Keras that saved the file, got none")
    return Source(config, major_version(version, f"{name} keras_version"), str(version), "h5", legacy_h5_weights(h5))


def read_source(source: Any) -> tuple[bytes, str]:
    """The bytes of ``source`` (a path, ``bytes``, or a binary file object), read once, and its name.

    A path is opened once, without blocking (a FIFO is refused, not waited on), and must be a regular file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "<bytes>"
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        name = escape(path) if isinstance(path, str) else escape(os.fsdecode(path))
        data = _read_path(path, name)
    elif callable(getattr(source, "read", None)):
        name = "<file object>"
        try:
            data = _read_bounded(source.read, MAX_FILE_BYTES)
        except RefgruError:
            raise
        except Exception as exc:  # noqa: BLE001  (whatever the caller's object raises)
            raise RefgruError(f"source: expected a readable binary file object, got one whose read() raised "
                              f"{type(exc).__name__}") from None
        if not isinstance(data, bytes):
            raise RefgruError(f"source: expected a binary file object (read() returning bytes), got {describe(data)}")
    else:
        raise RefgruError(f"source: expected a path, bytes or a binary file object, got {describe(source)}")
    if len(data) > MAX_FILE_BYTES:
        raise RefgruError(f"{name}: expected a model file of at most {MAX_FILE_BYTES} bytes (MAX_FILE_BYTES), got more")
    return data, name


def _read_bounded(read: Callable[[int], Any], limit: int, hint: int = 0) -> Any:
    """Everything ``read(n)`` gives until it returns nothing, or ``limit + 1`` bytes: asked for in pieces of
    at most ``hint + 1`` bytes, then 1 MiB, so that nothing is allocated for bytes that do not exist."""
    parts, total, step = [], 0, min(hint, limit) + 1
    while total <= limit:
        part = read(min(step, limit + 1 - total))
        if not isinstance(part, bytes):
            return part
        if not part:
            break
        parts.append(part)
        total += len(part)
        step = 1 << 20
    return b"".join(parts)


def _read_path(path: str | bytes, name: str) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
                     | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        what = "is a directory" if os.path.isdir(path) else "does not exist" if not os.path.lexists(path) \
            else f"cannot be opened ({exc.strerror})"
        raise RefgruError(f"path: expected an existing .keras or .h5 model file, got {name}, which {what}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RefgruError(f"path: expected a regular .keras or .h5 model file, got {name}, which is "
                              "a directory, device, FIFO or socket")
        if info.st_size > MAX_FILE_BYTES:
            raise RefgruError(f"{name}: expected a model file of at most {MAX_FILE_BYTES} bytes (MAX_FILE_BYTES), "
                              f"got {info.st_size}")
        return _read_bounded(lambda n: os.read(fd, n), MAX_FILE_BYTES, info.st_size)
    except OSError as exc:
        raise RefgruError(f"path: expected a readable model file, got {name}, which cannot be read "
                          f"({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(fd)


def open_model_file(source: Any) -> Source:
    """Read ``source`` as a ``.keras`` zip or a legacy ``.h5`` file (by content, not by extension)."""
    data, name = read_source(source)
    head = data[:8]
    if head.startswith(ZIP_MAGIC):
        return _read_keras_zip(data, name)
    if head == HDF5_MAGIC:
        return _read_legacy_h5(data, name)
    raise RefgruError(f"{name}: expected a Keras .keras zip or .h5 (HDF5) file, got a file starting with {head!r}")
