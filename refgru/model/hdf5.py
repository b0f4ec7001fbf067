"""A bounded HDF5 reader for untrusted Keras files: pyfive parses, this module decides what is followed and read.

The whole file is one ``bytes`` object. pyfive (a pure-Python HDF5 parser) reads object headers, link
tables, datatypes, dataspaces and attributes through :class:`BoundedReader`, which refuses to read more
than :data:`MAX_METADATA_FACTOR` times the file's size in total, so no B-tree, heap or continuation chain
can make a parse run long. Weight data is never read by pyfive: :meth:`H5File.dataset` checks the
layout message itself and returns a :class:`LazyArray` whose shape and dtype are known before any data
is read; :meth:`LazyArray.read` copies the bytes out of the buffer (contiguous or compact storage) or
decodes chunks with a bounded ``zlib``.

Refused, with a :class:`RefgruError` naming the object, before anything is followed or read: external
links and user-defined links, soft links that loop or climb above the root, external storage
(pyfive alone would read it as zeros), virtual datasets, filters other than gzip, shuffle and
fletcher32, chunk indexes other than the version 1 B-tree, and attributes of types Keras never writes.

This module holds the limits, the bounded reader and :class:`H5File`, which resolves paths and owns the
budgets; the checks live in :mod:`refgru.model.hdf5_objects` (links, attributes) and
:mod:`refgru.model.hdf5_data` (dataset layouts, reading the data), which take the limits as arguments.

Limits (module constants, raise them for an unusual real file): see ``docs/security.md``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pyfive.misc_low_level import SuperBlock

from ..errors import RefgruError
from .guard import guard
from .hdf5_data import EXTERNAL_FILES_MSG, FILTERS, LAYOUT_MSG, check_dataset, read_data
from .hdf5_objects import GROUP_MSGS, Foreign, HeapBudget, Objects, check_attribute, plain_value

MAX_METADATA_FACTOR = 4          # metadata bytes pyfive may read: this many times the file size, plus 1 MiB
READ_COST = 64                   # ... where every read costs this many bytes more than it returns
MAX_OBJECTS = 1 << 16            # object headers parsed per file
MAX_ATTRIBUTE_BYTES = 16 << 20   # one attribute's value (fixed-size data, or all its variable-length strings)
MAX_STRING_BYTES = 16 << 20      # one variable-length string (a model_config)
MAX_CHUNKS = 1 << 16             # chunks of one dataset
MAX_LINK_HOPS = 16               # soft links followed while resolving one path
MAX_WEIGHTS_BYTES = 2 << 30      # all weight arrays read from one file, together


class BoundedReader:
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


class LazyArray:
    """A weight dataset whose ``shape`` and ``dtype`` are known and whose data is read by :meth:`read`."""

    def __init__(self, file: "H5File", obj: Objects, shape: tuple, dtype: np.dtype, what: str):
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
        self.fh = BoundedReader(data, MAX_METADATA_FACTOR * len(data) + (1 << 20), what)
        self._objects: dict[int, Objects] = {}
        self._links: dict[int, dict[str, Any]] = {}
        self._heap_cache: dict = {}
        self.heaps = HeapBudget(data)
        self.weights_left = MAX_WEIGHTS_BYTES
        superblock = SuperBlock(self.fh, 0)
        if superblock._contents.get("base_address", 0):
            raise RefgruError(f"{what}: expected an HDF5 file without a user block, got base address "
                              f"{superblock._contents['base_address']}")
        self.root = self.object(superblock.offset_to_dataobjects, "/")

    def object(self, address: int, path: str) -> Objects:
        """The parsed object header at ``address`` (cached)."""
        if address in self._objects:
            return self._objects[address]
        if len(self._objects) >= MAX_OBJECTS:
            raise RefgruError(f"{self.what}: expected at most {MAX_OBJECTS} HDF5 objects (MAX_OBJECTS), got more")
        if not 0 <= address < len(self.data):
            raise RefgruError(f"{self.what} {path!r}: expected an object inside the file, got address {address} "
                              "(a damaged or truncated file)")
        obj = Objects(self.fh, address, global_heaps=self._heap_cache)
        obj.owner, obj.path = self, path
        self._objects[address] = obj
        return obj

    def links(self, obj: Objects) -> dict[str, Any]:
        """The links of group ``obj``: ``name -> address | soft path | Foreign``."""
        if not obj.is_group:
            raise RefgruError(f"{self.what} {obj.path!r}: expected an HDF5 group, got a dataset or datatype")
        if obj.offset not in self._links:
            self._links[obj.offset] = obj.get_links()
        return self._links[obj.offset]

    def get(self, path: str, base: Objects | None = None, hops: list[int] | None = None) -> Objects | None:
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

    def attrs(self, obj: Objects) -> dict[str, Any]:
        """The attributes of ``obj`` as Python values (``str``, a list of ``str``, or a NumPy array)."""
        return {name: plain_value(value, f"{self.what} {obj.path!r} attribute {name!r}",
                                  max_string=MAX_STRING_BYTES, max_attribute=MAX_ATTRIBUTE_BYTES)
                for name, value in obj.get_attributes().items()}

    def check_attribute(self, obj: Objects, buffer: bytes, offset: int) -> None:
        """Refuse an attribute whose type is unusual or whose declared size is over a limit, before pyfive
        allocates for it (see :func:`refgru.model.hdf5_objects.check_attribute`)."""
        check_attribute(buffer, offset, f"{self.what} {obj.path!r}", self.heaps.charge,
                        max_string=MAX_STRING_BYTES, max_attribute=MAX_ATTRIBUTE_BYTES)

    def dataset(self, obj: Objects, what: str) -> LazyArray:
        """The weight dataset ``obj`` as a :class:`LazyArray`, after every check that needs no data."""
        shape, dtype = check_dataset(obj, what)
        return LazyArray(self, obj, shape, dtype, what)

    def charge_weights(self, nbytes: int, what: str) -> None:
        self.weights_left -= nbytes
        if self.weights_left < 0:
            raise RefgruError(f"{what}: expected weights of at most {MAX_WEIGHTS_BYTES} bytes in all "
                              f"(MAX_WEIGHTS_BYTES), got more")

    def read_data(self, obj: Objects, array: LazyArray) -> np.ndarray:
        """The data of a dataset that :meth:`dataset` accepted."""
        return read_data(self.data, self.fh, obj, array, max_chunks=MAX_CHUNKS)


__all__ = ["EXTERNAL_FILES_MSG", "FILTERS", "GROUP_MSGS", "LAYOUT_MSG", "MAX_ATTRIBUTE_BYTES", "MAX_CHUNKS",
           "MAX_LINK_HOPS", "MAX_METADATA_FACTOR", "MAX_OBJECTS", "MAX_STRING_BYTES", "MAX_WEIGHTS_BYTES",
           "READ_COST", "BoundedReader", "Foreign", "H5File", "LazyArray"]
