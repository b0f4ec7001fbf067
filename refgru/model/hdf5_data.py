"""Weight datasets for :mod:`refgru.model.hdf5`: the layout checked without reading data, then the data read
in bounded memory. pyfive never reads weight data itself.

- :func:`check_dataset` refuses external storage (pyfive alone would read it as zeros), virtual datasets,
  non-numeric types, null dataspaces, filters other than gzip, shuffle and fletcher32, and chunk indexes
  other than the version 1 B-tree; it returns the declared ``(shape, dtype)``, so that the caller can
  check them against the layer config before any data is read;
- :func:`read_data` copies contiguous or compact storage straight out of the file's bytes, or decodes
  chunks one by one (:func:`unfilter`: gzip output capped at the chunk's size) into an array allocated
  from the declared, already checked size.

The limit on chunks (``MAX_CHUNKS``) is a module constant of :mod:`refgru.model.hdf5`, which passes it in.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any, Protocol

import numpy as np
from pyfive import dataobjects as _do
from pyfive.btree import BTreeV1RawDataChunks
from pyfive.core import UNDEFINED_ADDRESS
from pyfive.datatype_msg import DatatypeMessage
from pyfive.p5t import P5StringType

from ..errors import RefgruError

FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32"}
EXTERNAL_FILES_MSG, LAYOUT_MSG = 0x0007, 0x0008


class Declared(Protocol):
    """What :func:`read_data` needs of the array to fill (a :class:`refgru.model.hdf5.LazyArray`)."""

    shape: tuple
    dtype: np.dtype
    ndim: int
    size: int
    nbytes: int
    what: str


def check_dataset(obj: _do.DataObjects, what: str) -> tuple[tuple[int, ...], np.dtype]:
    """The declared ``(shape, dtype)`` (native byte order) of the weight dataset ``obj``, after every check
    that needs no data; ``what`` names it in messages."""
    if not obj.is_dataset:
        raise RefgruError(f"{what}: expected an HDF5 dataset, got a group")
    types = {m["type"] for m in obj.msgs}
    if EXTERNAL_FILES_MSG in types:
        raise RefgruError(f"{what}: expected a dataset stored in the model file, got external storage "
                          "(data in other files), which refgru never reads")
    layout = obj.find_msg_type(LAYOUT_MSG)
    if len(layout) != 1:
        raise RefgruError(f"{what}: expected one data layout message, got {len(layout)}")
    version, layout_class = data_layout(obj)
    if layout_class == 3:
        raise RefgruError(f"{what}: expected a dataset stored in the model file, got a virtual dataset "
                          "(data mapped from other files), which refgru never reads")
    ptype = DatatypeMessage(obj.msg_data, obj.find_msg_type(_do.DATATYPE_MSG_TYPE)[0]["offset_to_message"]).ptype
    dtype = getattr(ptype, "dtype", None)
    if isinstance(ptype, P5StringType) or not isinstance(dtype, np.dtype) or dtype.kind not in "biuf" \
            or dtype.fields is not None or dtype.subdtype is not None:
        raise RefgruError(f"{what}: expected a numeric dataset, got HDF5 type {type(ptype).__name__} "
                          f"({dtype})")
    shape, _ = _do.determine_data_shape(obj.msg_data, obj.find_msg_type(_do.DATASPACE_MSG_TYPE)[0]
                                        ["offset_to_message"])
    if shape is None:
        raise RefgruError(f"{what}: expected an array, got an empty (null) dataspace")
    for filt in obj.filter_pipeline or []:
        if filt["filter_id"] not in FILTERS:
            raise RefgruError(f"{what}: expected the filters gzip, shuffle or fletcher32, got filter id "
                              f"{filt['filter_id']}, for which refgru searches no plugin")
    if layout_class == 2 and version != 3:
        raise RefgruError(f"{what}: expected chunks indexed by a version 1 B-tree (layout message 3), got "
                          f"a layout message of version {version}")
    return tuple(int(d) for d in shape), dtype.newbyteorder("=")


def data_layout(obj: _do.DataObjects) -> tuple[int, int]:
    """``(version, layout class)`` of the data layout message of ``obj`` (class 0 compact, 1 contiguous,
    2 chunked, 3 virtual)."""
    offset = obj.find_msg_type(LAYOUT_MSG)[0]["offset_to_message"]
    version, a, b = struct.unpack_from("<BBB", obj.msg_data, offset)
    if version not in (1, 2, 3, 4):
        raise RefgruError(f"HDF5 {obj.path!r}: expected a data layout message of version 1-4, got {version}")
    return version, (b if version < 3 else a)


def read_data(data: bytes, fh: Any, obj: _do.DataObjects, array: Declared, *, max_chunks: int) -> np.ndarray:
    """The data of a dataset that :func:`check_dataset` accepted, from the file's bytes ``data`` (``fh``: the
    bounded reader pyfive parses the chunk index through)."""
    version, layout_class = data_layout(obj)
    offset = obj.find_msg_type(LAYOUT_MSG)[0]["offset_to_message"]
    stored = obj.ptype.dtype
    if layout_class == 2:
        return read_chunked(data, fh, obj, array, stored, max_chunks=max_chunks)
    if layout_class == 0 and version >= 3:
        size = struct.unpack_from("<H", obj.msg_data, offset + 2)[0]
        raw, start = obj.msg_data, offset + 4
    elif layout_class == 1:
        prop = obj._get_data_message_properties(offset)[3]
        raw, start = data, struct.unpack_from("<Q", obj.msg_data, prop)[0]
        size = len(data) - start if start != UNDEFINED_ADDRESS else 0
    else:
        raise RefgruError(f"{array.what}: expected contiguous, compact or chunked storage, got layout class "
                          f"{layout_class} (version {version})")
    if start == UNDEFINED_ADDRESS or size < array.nbytes or start + array.nbytes > len(raw):
        raise RefgruError(f"{array.what}: expected {array.nbytes} bytes of data stored in the file, got "
                          "storage that is missing or runs past the end of the file")
    values = np.frombuffer(raw, stored, array.size, start).reshape(array.shape)
    return values.astype(array.dtype)


def read_chunked(data: bytes, fh: Any, obj: _do.DataObjects, array: Declared, stored: np.dtype, *,
                 max_chunks: int) -> np.ndarray:
    """Chunked storage: at most ``max_chunks`` chunks, none larger than the array (or 1 MiB), each inside
    the array and the file; chunks never written keep the fill value."""
    obj._get_chunk_params()
    chunk = tuple(int(c) for c in obj._chunks or ())  # pyfive drops the trailing element-size dimension
    if len(chunk) != array.ndim or any(c < 1 for c in chunk):
        raise RefgruError(f"{array.what}: expected a chunk shape of rank {array.ndim}, got {obj._chunks}")
    chunk_bytes = math.prod(chunk) * array.dtype.itemsize
    grid = math.prod(-(-s // c) for s, c in zip(array.shape, chunk, strict=True))
    if grid > max_chunks or chunk_bytes > max(array.nbytes, 1 << 20):
        raise RefgruError(f"{array.what}: expected at most {max_chunks} chunks (MAX_CHUNKS) no larger than the "
                          f"array, got {grid} chunks of shape {chunk}")
    out = np.full(array.shape, fill_value(obj), array.dtype)
    if obj._chunk_address == UNDEFINED_ADDRESS or array.size == 0:
        return out
    tree = BTreeV1RawDataChunks(fh, obj._chunk_address, obj._chunk_dims)
    entries = [(key, address) for node in tree.all_nodes.get(0, [])
               for key, address in zip(node["keys"], node["addresses"], strict=False)]
    if len(entries) > grid:
        raise RefgruError(f"{array.what}: expected at most {grid} chunks, got an index listing {len(entries)}")
    pipeline = obj.filter_pipeline or []
    for key, address in entries:
        start = tuple(int(s) for s in key["chunk_offset"][:-1])
        if any(s % c or s >= d for s, c, d in zip(start, chunk, array.shape, strict=True)) \
                or address + key["chunk_size"] > len(data):
            raise RefgruError(f"{array.what}: expected chunks inside the array and the file, got one at {start}")
        raw = unfilter(data[address:address + key["chunk_size"]], pipeline, key["filter_mask"],
                       chunk_bytes, array.dtype.itemsize, array.what)
        block = np.frombuffer(raw, stored).reshape(chunk)
        region = tuple(slice(s, min(s + c, d)) for s, c, d in zip(start, chunk, array.shape, strict=True))
        out[region] = block[tuple(slice(0, r.stop - r.start) for r in region)]
    return out


def fill_value(obj: _do.DataObjects) -> Any:
    """The dataset's scalar fill value (0 without one)."""
    value = obj.fillvalue if obj.find_msg_type(_do.FILLVALUE_MSG_TYPE) else 0
    return value if np.isscalar(value) else 0


def unfilter(data: bytes, pipeline: list, mask: int, size: int, itemsize: int, what: str) -> bytes:
    """Undo a chunk's filters, newest first; gzip output is bounded by the chunk size."""
    for i in reversed(range(len(pipeline))):
        if mask & (1 << i):
            continue
        fid = pipeline[i]["filter_id"]
        if fid == 3:
            data = data[:-4]
        elif fid == 1:
            inflate = zlib.decompressobj()
            try:
                data = inflate.decompress(data, size + 1)
            except zlib.error as exc:
                raise RefgruError(f"{what}: expected gzip-compressed chunks, got damaged ones ({exc})") from None
        elif fid == 2 and itemsize > 1 and len(data) == size:
            data = np.frombuffer(data, np.uint8).reshape(itemsize, -1).T.tobytes()
    if len(data) != size:
        raise RefgruError(f"{what}: expected chunks of {size} bytes once decoded, got {len(data)}")
    return data


__all__ = ["EXTERNAL_FILES_MSG", "FILTERS", "LAYOUT_MSG", "Declared", "check_dataset", "data_layout", "fill_value",
           "read_chunked", "read_data", "unfilter"]
