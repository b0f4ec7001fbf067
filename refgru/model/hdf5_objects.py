"""HDF5 object headers for :mod:`refgru.model.hdf5`: links decoded without following them, attributes checked
before pyfive decodes them.

- :func:`decode_link` replaces pyfive's link decoder so that an external or user-defined link becomes a
  :class:`Foreign` marker (refused by name when a path reaches it) instead of being followed;
- :class:`Objects` is pyfive's object header with that decoder, and it asks its ``owner`` (the
  :class:`~refgru.model.hdf5.H5File`) to check every attribute message before pyfive parses it;
- :func:`check_attribute` refuses, from the attribute message alone, a type Keras never writes or a
  declared size over the limits, and charges every global heap collection a string points into to a
  :class:`HeapBudget` (all collections together may not exceed the file's size);
- :func:`plain_value` turns a parsed attribute into ``str``, a list of ``str``, or a NumPy array.

The limits themselves are module constants of :mod:`refgru.model.hdf5`, which passes them in.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Callable

import numpy as np
from pyfive import dataobjects as _do
from pyfive.datatype_msg import DatatypeMessage
from pyfive.h5py import Empty
from pyfive.p5t import P5CompoundType, P5ReferenceType, P5SequenceType, P5VlenStringType

from ..errors import RefgruError

GROUP_MSGS = {0x0002, 0x0006, 0x000A, 0x0011}  # link info, link, group info, symbol table (old-style group)


class Foreign:
    """A link that leads outside the file (external link, type 64) or of a user-defined type."""

    def __init__(self, link_type: int):
        self.link_type = link_type


def decode_link(data: bytes, offset: int):
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


class Objects(_do.DataObjects):
    """pyfive's object header, with link decoding that reports external links and checked attributes.

    ``owner`` is the file that parsed it (its ``check_attribute(obj, buffer, offset)`` runs before pyfive
    decodes each attribute message); ``path`` names the object in messages."""

    owner: Any
    path: str

    _decode_link_msg = staticmethod(decode_link)

    @property
    def is_group(self) -> bool:
        return not self.is_dataset and any(m["type"] in GROUP_MSGS for m in self.msgs)

    def _parse_attribute_msg(self, buffer, offset):
        self.owner.check_attribute(self, buffer, offset)
        return super()._parse_attribute_msg(buffer, offset)


def attribute_layout(buffer: bytes, offset: int) -> tuple[str, Any, tuple | None, int]:
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


class HeapBudget:
    """The global heap collections of one file (``data``): each is parsed once, and all of them together may
    not exceed the file size."""

    def __init__(self, data: bytes):
        self.data = data
        self.left = len(data)
        self.seen: dict[int, int] = {}

    def charge(self, address: int, what: str) -> None:
        """Charge the collection at ``address`` (once; address 0 means none), or refuse it naming ``what``."""
        if address == 0 or address in self.seen:
            return
        head = self.data[address:address + 16]
        if len(head) < 16 or head[:4] != b"GCOL":
            raise RefgruError(f"{what}: expected a global heap collection at address {address}, got none")
        size = struct.unpack_from("<Q", head, 8)[0]
        self.left -= size
        if self.left < 0 or size > len(self.data) - address:
            raise RefgruError(f"{what}: expected global heap collections that fit in the file, got one of "
                              f"{size} bytes at address {address}")
        self.seen[address] = size


def check_attribute(buffer: bytes, offset: int, where: str, charge_heap: Callable[[int, str], None], *,
                    max_string: int, max_attribute: int) -> None:
    """Refuse the attribute message at ``offset`` of the object ``where`` names if its type is unusual or its
    declared size is over a limit (``MAX_STRING_BYTES``, ``MAX_ATTRIBUTE_BYTES``), before pyfive allocates
    for it; the heap collection of every variable-length string goes to ``charge_heap``."""
    name, ptype, shape, data_offset = attribute_layout(buffer, offset)
    what = f"{where} attribute {name!r}"
    items = math.prod(shape) if shape is not None else 0
    if isinstance(ptype, P5VlenStringType):
        if items * 16 > len(buffer) - data_offset:
            raise RefgruError(f"{what}: expected {items} string references inside the attribute message, "
                              "got a shorter message")
        total = 0
        for i in range(items):
            length, address = struct.unpack_from("<IQ", buffer, data_offset + 16 * i)
            total += length
            if length > max_string or total > max_attribute:
                raise RefgruError(f"{what}: expected strings of at most {max_string} bytes and "
                                  f"{max_attribute} in all (MAX_STRING_BYTES, MAX_ATTRIBUTE_BYTES), got "
                                  f"{max(length, total)} bytes declared")
            charge_heap(address, what)
        return
    dtype = getattr(ptype, "dtype", None)
    if isinstance(ptype, (P5CompoundType, P5ReferenceType, P5SequenceType)) or not isinstance(dtype, np.dtype) \
            or dtype.kind not in "biufS" or dtype.fields is not None or dtype.subdtype is not None:
        raise RefgruError(f"{what}: expected a string or a number, got an attribute of HDF5 type "
                          f"{type(ptype).__name__}")
    size = items * dtype.itemsize
    if size > max_attribute or size > len(buffer) - data_offset:
        raise RefgruError(f"{what}: expected at most {min(max_attribute, len(buffer) - data_offset)} "
                          f"bytes, got {items} items of {dtype.itemsize} bytes declared")


def plain_value(value: Any, what: str, *, max_string: int, max_attribute: int) -> Any:
    """A parsed attribute as ``str``, a list of ``str`` (empty for an empty one), or a NumPy array; strings
    over ``max_string`` bytes, or over ``max_attribute`` in all, are refused naming ``what``."""
    if isinstance(value, Empty) or isinstance(value, np.ndarray) and value.size == 0:
        return []
    if isinstance(value, np.ndarray) and value.dtype == object:
        items = value.reshape(-1).tolist()
        total = sum(len(v) for v in items if isinstance(v, (bytes, str)))
        if total > max_attribute or any(isinstance(v, bytes) and len(v) > max_string for v in items):
            raise RefgruError(f"{what}: expected strings of at most {max_attribute} bytes in all "
                              f"(MAX_ATTRIBUTE_BYTES), got {total} bytes")
        text = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in items]
        return text if value.ndim else text[0]
    if isinstance(value, bytes):
        if len(value) > max_string:
            raise RefgruError(f"{what}: expected a string of at most {max_string} bytes, got {len(value)}")
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        return [v.decode("utf-8", "replace") for v in value.reshape(-1).tolist()]
    return value


__all__ = ["GROUP_MSGS", "Foreign", "HeapBudget", "Objects", "attribute_layout", "check_attribute",
           "decode_link", "plain_value"]
