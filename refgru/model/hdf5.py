"""A bounded HDF5 reader for untrusted Keras files: pyfive parses, this module decides what is followed and read.

The whole file is one ``bytes`` object. pyfive (a pure-Python HDF5 parser) reads object headers, link
tables, datatypes, dataspaces and attributes through :class:`_Reader`, which refuses to read more than
:data:`MAX_METADATA_FACTOR` times the file's size in total, so no B-tree, heap or continuation chain
can make a parse run long. Weight data is never read by pyfive: :meth:`H5File.dataset` checks the
layout message itself and returns a :class:`LazyArray` whose shape and dtype are known before any data
is read; :meth:`LazyArray.read` copies the bytes out of the buffer (contiguous or compact storage) or
decodes chunks with a bounded ``zlib``.

Refused, with a :class:`RefgruError` naming the object, before anything is followed or read: external
links and user-defined links, soft links that loop or climb above the root, external storage
(pyfive alone would read it as zeros), virtual datasets, filters other than gzip, shuffle and
fletcher32, chunk indexes other than the version 1 B-tree, and attributes of types Keras never writes.

Limits (module constants, raise them for an unusual real file): see ``docs/security.md``.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any

import numpy as np
from pyfive import dataobjects as _do
from pyfive.btree import BTreeV1RawDataChunks
from pyfive.core import UNDEFINED_ADDRESS
from pyfive.datatype_msg import DatatypeMessage
from pyfive.h5py import Empty
from pyfive.misc_low_level import SuperBlock
from pyfive.p5t import P5CompoundType, P5ReferenceType, P5SequenceType, P5StringType, P5VlenStringType

from ..errors import RefgruError
from .files import guard

MAX_METADATA_FACTOR = 4          # metadata bytes pyfive may read: this many times the file size, plus 1 MiB
READ_COST = 64                   # ... where every read costs this many bytes more than it returns
MAX_OBJECTS = 1 << 16            # object headers parsed per file
MAX_ATTRIBUTE_BYTES = 16 << 20   # one attribute's value (fixed-size data, or all its variable-length strings)
MAX_STRING_BYTES = 16 << 20      # one variable-length string (a model_config)
MAX_CHUNKS = 1 << 16             # chunks of one dataset
MAX_LINK_HOPS = 16               # soft links followed while resolving one path
MAX_WEIGHTS_BYTES = 2 << 30      # all weight arrays read from one file, together

FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32"}
EXTERNAL_FILES_MSG, LAYOUT_MSG = 0x0007, 0x0008
GROUP_MSGS = {0x0002, 0x0006, 0x000A, 0x0011}  # link info, link, group info, symbol table (old-style group)


class _Reader:
    """A read-only file over ``bytes`` that refuses to hand out more than ``budget`` bytes in total."""

    def __init__(self, data: bytes, budget: int, what: str):
        self.data, self.pos, self.left, self.what = data, 0, budget, what

    def seek(self, pos: int, whence: int = 0) -> int:
        pos = pos + (self.pos if whence == 1 else len(self.data) if whence == 2 else 0)
        if pos < 0:
            raise RefgruError(f"{self.what}: expected offsets inside the file, got {pos}")
        self.pos = pos
        return pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int | None = -1) -> bytes:
        end = len(self.data) if n is None or n < 0 else min(len(self.data), self.pos + n)
        chunk = self.data[self.pos:end] if end > self.pos else b""
        self.left -= len(chunk) + READ_COST
        if self.left < 0:
            raise RefgruError(f"{self.what}: expected HDF5 metadata of at most {MAX_METADATA_FACTOR} times the "
                              "file size (MAX_METADATA_FACTOR), got structures that refer to each other over and over")
        self.pos += len(chunk)
        return chunk


class Foreign:
    """A link that leads outside the file (external link, type 64) or of a user-defined type."""

    def __init__(self, link_type: int):
        self.link_type = link_type


def _decode_link(data: bytes, offset: int):
    """A link message: ``(creation order, (name, address | soft path | Foreign))``; refuses nothing itself."""
    version, flags = struct.unpack_from("<BB", data, offset)
    if version != 1:
        raise RefgruError(f"HDF5 link: expected a version 1 link message, got version {version}")
    offset += 2
    link_type = data[offset] if flags & 8 else 0
    offset += 1 if flags & 8 else 0
    order = struct.unpack_from("<Q", data, offset)[0] if flags & 4 else None
    offset += 8 if flags & 4 else 0
    encoding = "utf-8" if flags & 16 and data[offset] == 1 else "ascii"
    offset += 1 if flags & 16 else 0
    size_width = 1 << (flags & 3)
    name_size = int.from_bytes(data[offset:offset + size_width], "little")
    offset += size_width
    name = data[offset:offset + name_size].decode(encoding, "replace")
    offset += name_size
    if link_type == 0:
        return order, (name, struct.unpack_from("<Q", data, offset)[0])
    if link_type == 1:
        length = struct.unpack_from("<H", data, offset)[0]
        return order, (name, data[offset + 2:offset + 2 + length].decode(encoding, "replace"))
    return order, (name, Foreign(link_type))


class _Objects(_do.DataObjects):
    """pyfive's object header, with link decoding that reports external links and checked attributes."""

    owner: "H5File"
    path: str

    _decode_link_msg = staticmethod(_decode_link)

    @property
    def is_group(self) -> bool:
        return not self.is_dataset and any(m["type"] in GROUP_MSGS for m in self.msgs)

    def _parse_attribute_msg(self, buffer, offset):
        self.owner.check_attribute(self, buffer, offset)
        return super()._parse_attribute_msg(buffer, offset)


def _attribute_layout(buffer: bytes, offset: int) -> tuple[str, Any, tuple | None, int]:
    """``(name, ptype, shape, data offset)`` of an attribute message, as pyfive will parse it."""
    version = buffer[offset]
    if version == 1:
        _, _, name_size, type_size, space_size = struct.unpack_from("<BBHHH", buffer, offset)
        offset, pad = offset + 8, 8
    elif version == 3:
        _, _, name_size, type_size, space_size, _ = struct.unpack_from("<BBHHHB", buffer, offset)
        offset, pad = offset + 9, 1
    else:
        raise RefgruError(f"HDF5 attribute: expected a version 1 or 3 attribute message, got version {version}")
    name = buffer[offset:offset + name_size].strip(b"\x00").decode("utf-8", "replace")
    offset += -(-name_size // pad) * pad
    ptype = DatatypeMessage(buffer, offset).ptype
    offset += -(-type_size // pad) * pad
    shape, _ = _do.determine_data_shape(buffer, offset)
    return name, ptype, shape, offset + -(-space_size // pad) * pad


class LazyArray:
    """A weight dataset whose ``shape`` and ``dtype`` are known and whose data is read by :meth:`read`."""

    def __init__(self, file: "H5File", obj: _Objects, shape: tuple, dtype: np.dtype, what: str):
        self.file, self._obj, self.shape, self.dtype, self.what = file, obj, shape, dtype, what
        self.ndim, self.size = len(shape), math.prod(shape)
        self.nbytes = self.size * dtype.itemsize

    def __repr__(self) -> str:
        return f"<dataset {self.what}: shape {self.shape}, dtype {self.dtype}>"

    def read(self) -> np.ndarray:
        """The array, after charging its size to the file's weight budget."""
        self.file.charge_weights(self.nbytes, self.what)
        with guard(self.what):
            return self.file.read_data(self._obj, self)


class H5File:
    """An HDF5 file held in memory as ``data``; ``what`` names it in messages."""

    def __init__(self, data: bytes, what: str):
        self.data, self.what = data, what
        self.fh = _Reader(data, MAX_METADATA_FACTOR * len(data) + (1 << 20), what)
        self._objects: dict[int, _Objects] = {}
        self._links: dict[int, dict[str, Any]] = {}
        self._heaps: dict[int, int] = {}
        self._heap_cache: dict = {}
        self.heap_left = len(data)
        self.weights_left = MAX_WEIGHTS_BYTES
        superblock = SuperBlock(self.fh, 0)
        if superblock._contents.get("base_address", 0):
            raise RefgruError(f"{what}: expected an HDF5 file without a user block, got base address "
                              f"{superblock._contents['base_address']}")
        self.root = self.object(superblock.offset_to_dataobjects, "/")

    def object(self, address: int, path: str) -> _Objects:
        """The parsed object header at ``address`` (cached)."""
        if address in self._objects:
            return self._objects[address]
        if len(self._objects) >= MAX_OBJECTS:
            raise RefgruError(f"{self.what}: expected at most {MAX_OBJECTS} HDF5 objects (MAX_OBJECTS), got more")
        if not 0 <= address < len(self.data):
            raise RefgruError(f"{self.what} {path!r}: expected an object inside the file, got address {address} "
                              "(a damaged or truncated file)")
        obj = _Objects(self.fh, address, global_heaps=self._heap_cache)
        obj.owner, obj.path = self, path
        self._objects[address] = obj
        return obj

    def links(self, obj: _Objects) -> dict[str, Any]:
        """The links of group ``obj``: ``name -> address | soft path | Foreign``."""
        if not obj.is_group:
            raise RefgruError(f"{self.what} {obj.path!r}: expected an HDF5 group, got a dataset or datatype")
        if obj.offset not in self._links:
            self._links[obj.offset] = obj.get_links()
        return self._links[obj.offset]

    def get(self, path: str, base: _Objects | None = None, hops: list[int] | None = None) -> _Objects | None:
        """The object at ``path`` (relative to ``base``, default the root), or None if a link is missing.

        ``hops`` counts the soft links followed for one call from outside, nested resolutions included."""
        hops = [0] if hops is None else hops
        node = self.root if base is None or path.startswith("/") else base
        parts = [p for p in path.split("/") if p not in ("", ".")]
        for i, part in enumerate(parts):
            here = (node.path.rstrip("/") + "/" + part)
            if part == "..":
                raise RefgruError(f"{self.what} {here!r}: expected a path inside the file, got '..'")
            target = self.links(node).get(part)
            if target is None:
                return None
            if isinstance(target, Foreign):
                kind = "an external link (to another file)" if target.link_type == 64 else \
                    f"a user-defined link of type {target.link_type}"
                raise RefgruError(f"{self.what} {here!r}: expected an object stored in this file, got {kind}, "
                                  "which refgru never follows")
            if isinstance(target, str):
                hops[0] += 1
                if hops[0] > MAX_LINK_HOPS:
                    raise RefgruError(f"{self.what} {here!r}: expected at most {MAX_LINK_HOPS} soft links in a row "
                                      "(MAX_LINK_HOPS), got more (a loop?)")
                node = self.get(target, node, hops)
                if node is None:
                    return None
            else:
                node = self.object(target, here)
            if i < len(parts) - 1 and not node.is_group:
                return None
        return node

    def attrs(self, obj: _Objects) -> dict[str, Any]:
        """The attributes of ``obj`` as Python values (``str``, a list of ``str``, or a NumPy array)."""
        return {name: self._plain(value, f"{self.what} {obj.path!r} attribute {name!r}")
                for name, value in obj.get_attributes().items()}

    def check_attribute(self, obj: _Objects, buffer: bytes, offset: int) -> None:
        """Refuse an attribute whose type is unusual or whose declared size is over a limit, before pyfive
        allocates for it."""
        name, ptype, shape, data_offset = _attribute_layout(buffer, offset)
        what = f"{self.what} {obj.path!r} attribute {name!r}"
        items = math.prod(shape) if shape is not None else 0
        if isinstance(ptype, P5VlenStringType):
            if items * 16 > len(buffer) - data_offset:
                raise RefgruError(f"{what}: expected {items} string references inside the attribute message, "
                                  "got a shorter message")
            total = 0
            for i in range(items):
                length, address = struct.unpack_from("<IQ", buffer, data_offset + 16 * i)
                total += length
                if length > MAX_STRING_BYTES or total > MAX_ATTRIBUTE_BYTES:
                    raise RefgruError(f"{what}: expected strings of at most {MAX_STRING_BYTES} bytes and "
                                      f"{MAX_ATTRIBUTE_BYTES} in all (MAX_STRING_BYTES, MAX_ATTRIBUTE_BYTES), got "
                                      f"{max(length, total)} bytes declared")
                self._charge_heap(address, what)
            return
        dtype = getattr(ptype, "dtype", None)
        if isinstance(ptype, (P5CompoundType, P5ReferenceType, P5SequenceType)) or not isinstance(dtype, np.dtype) \
                or dtype.kind not in "biufS" or dtype.fields is not None or dtype.subdtype is not None:
            raise RefgruError(f"{what}: expected a string or a number, got an attribute of HDF5 type "
                              f"{type(ptype).__name__}")
        size = items * dtype.itemsize
        if size > MAX_ATTRIBUTE_BYTES or size > len(buffer) - data_offset:
            raise RefgruError(f"{what}: expected at most {min(MAX_ATTRIBUTE_BYTES, len(buffer) - data_offset)} "
                              f"bytes, got {items} items of {dtype.itemsize} bytes declared")

    def _charge_heap(self, address: int, what: str) -> None:
        """A global heap collection is parsed once; all of them together may not exceed the file size."""
        if address == 0 or address in self._heaps:
            return
        head = self.data[address:address + 16]
        if len(head) < 16 or head[:4] != b"GCOL":
            raise RefgruError(f"{what}: expected a global heap collection at address {address}, got none")
        size = struct.unpack_from("<Q", head, 8)[0]
        self.heap_left -= size
        if self.heap_left < 0 or size > len(self.data) - address:
            raise RefgruError(f"{what}: expected global heap collections that fit in the file, got one of "
                              f"{size} bytes at address {address}")
        self._heaps[address] = size

    def _plain(self, value: Any, what: str) -> Any:
        if isinstance(value, Empty) or isinstance(value, np.ndarray) and value.size == 0:
            return []
        if isinstance(value, np.ndarray) and value.dtype == object:
            items = value.reshape(-1).tolist()
            total = sum(len(v) for v in items if isinstance(v, (bytes, str)))
            if total > MAX_ATTRIBUTE_BYTES or any(isinstance(v, bytes) and len(v) > MAX_STRING_BYTES for v in items):
                raise RefgruError(f"{what}: expected strings of at most {MAX_ATTRIBUTE_BYTES} bytes in all "
                                  f"(MAX_ATTRIBUTE_BYTES), got {total} bytes")
            text = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in items]
            return text if value.ndim else text[0]
        if isinstance(value, bytes):
            if len(value) > MAX_STRING_BYTES:
                raise RefgruError(f"{what}: expected a string of at most {MAX_STRING_BYTES} bytes, got {len(value)}")
            return value.decode("utf-8", "replace")
        if isinstance(value, np.ndarray) and value.dtype.kind == "S":
            return [v.decode("utf-8", "replace") for v in value.reshape(-1).tolist()]
        return value

    def dataset(self, obj: _Objects, what: str) -> LazyArray:
        """The weight dataset ``obj`` as a :class:`LazyArray`, after every check that needs no data."""
        if not obj.is_dataset:
            raise RefgruError(f"{what}: expected an HDF5 dataset, got a group")
        types = {m["type"] for m in obj.msgs}
        if EXTERNAL_FILES_MSG in types:
            raise RefgruError(f"{what}: expected a dataset stored in the model file, got external storage "
                              "(data in other files), which refgru never reads")
        layout = obj.find_msg_type(LAYOUT_MSG)
        if len(layout) != 1:
            raise RefgruError(f"{what}: expected one data layout message, got {len(layout)}")
        version, layout_class = self._layout(obj)
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
        return LazyArray(self, obj, tuple(int(d) for d in shape), dtype.newbyteorder("="), what)

    @staticmethod
    def _layout(obj: _Objects) -> tuple[int, int]:
        offset = obj.find_msg_type(LAYOUT_MSG)[0]["offset_to_message"]
        version, a, b = struct.unpack_from("<BBB", obj.msg_data, offset)
        if version not in (1, 2, 3, 4):
            raise RefgruError(f"HDF5 {obj.path!r}: expected a data layout message of version 1-4, got {version}")
        return version, (b if version < 3 else a)

    def charge_weights(self, nbytes: int, what: str) -> None:
        self.weights_left -= nbytes
        if self.weights_left < 0:
            raise RefgruError(f"{what}: expected weights of at most {MAX_WEIGHTS_BYTES} bytes in all "
                              f"(MAX_WEIGHTS_BYTES), got more")

    def read_data(self, obj: _Objects, array: LazyArray) -> np.ndarray:
        """The data of a dataset that :meth:`dataset` accepted."""
        version, layout_class = self._layout(obj)
        offset = obj.find_msg_type(LAYOUT_MSG)[0]["offset_to_message"]
        stored = obj.ptype.dtype
        if layout_class == 2:
            return self._read_chunked(obj, array, stored)
        if layout_class == 0 and version >= 3:
            size = struct.unpack_from("<H", obj.msg_data, offset + 2)[0]
            raw, start = obj.msg_data, offset + 4
        elif layout_class == 1:
            prop = obj._get_data_message_properties(offset)[3]
            raw, start = self.data, struct.unpack_from("<Q", obj.msg_data, prop)[0]
            size = len(self.data) - start if start != UNDEFINED_ADDRESS else 0
        else:
            raise RefgruError(f"{array.what}: expected contiguous, compact or chunked storage, got layout class "
                              f"{layout_class} (version {version})")
        if start == UNDEFINED_ADDRESS or size < array.nbytes or start + array.nbytes > len(raw):
            raise RefgruError(f"{array.what}: expected {array.nbytes} bytes of data stored in the file, got "
                              "storage that is missing or runs past the end of the file")
        values = np.frombuffer(raw, stored, array.size, start).reshape(array.shape)
        return values.astype(array.dtype)

    def _read_chunked(self, obj: _Objects, array: LazyArray, stored: np.dtype) -> np.ndarray:
        obj._get_chunk_params()
        chunk = tuple(int(c) for c in obj._chunks or ())  # pyfive drops the trailing element-size dimension
        if len(chunk) != array.ndim or any(c < 1 for c in chunk):
            raise RefgruError(f"{array.what}: expected a chunk shape of rank {array.ndim}, got {obj._chunks}")
        chunk_bytes = math.prod(chunk) * array.dtype.itemsize
        grid = math.prod(-(-s // c) for s, c in zip(array.shape, chunk, strict=True))
        if grid > MAX_CHUNKS or chunk_bytes > max(array.nbytes, 1 << 20):
            raise RefgruError(f"{array.what}: expected at most {MAX_CHUNKS} chunks (MAX_CHUNKS) no larger than the "
                              f"array, got {grid} chunks of shape {chunk}")
        out = np.full(array.shape, _fill(obj), array.dtype)
        if obj._chunk_address == UNDEFINED_ADDRESS or array.size == 0:
            return out
        tree = BTreeV1RawDataChunks(self.fh, obj._chunk_address, obj._chunk_dims)
        entries = [(key, address) for node in tree.all_nodes.get(0, [])
                   for key, address in zip(node["keys"], node["addresses"], strict=False)]
        if len(entries) > grid:
            raise RefgruError(f"{array.what}: expected at most {grid} chunks, got an index listing {len(entries)}")
        pipeline = obj.filter_pipeline or []
        for key, address in entries:
            start = tuple(int(s) for s in key["chunk_offset"][:-1])
            if any(s % c or s >= d for s, c, d in zip(start, chunk, array.shape, strict=True)) \
                    or address + key["chunk_size"] > len(self.data):
                raise RefgruError(f"{array.what}: expected chunks inside the array and the file, got one at {start}")
            raw = _unfilter(self.data[address:address + key["chunk_size"]], pipeline, key["filter_mask"],
                            chunk_bytes, array.dtype.itemsize, array.what)
            block = np.frombuffer(raw, stored).reshape(chunk)
            region = tuple(slice(s, min(s + c, d)) for s, c, d in zip(start, chunk, array.shape, strict=True))
            out[region] = block[tuple(slice(0, r.stop - r.start) for r in region)]
        return out


def _fill(obj: _Objects) -> Any:
    value = obj.fillvalue if obj.find_msg_type(_do.FILLVALUE_MSG_TYPE) else 0
    return value if np.isscalar(value) else 0


def _unfilter(data: bytes, pipeline: list, mask: int, size: int, itemsize: int, what: str) -> bytes:
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
