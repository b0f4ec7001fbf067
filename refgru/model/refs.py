"""Tensor references of a model graph: walking, mapping and looking them up among computed values."""

from __future__ import annotations

from typing import Any, Callable, Iterator

from ..errors import RefgruError
from .config import Ref, map_tree


def map_refs(value: Any, fn: Callable[[Ref], Any]) -> Any:
    """``value`` with every :class:`Ref` replaced by ``fn(ref)`` (lists and dicts rebuilt)."""
    return map_tree(value, lambda v: fn(v) if isinstance(v, Ref) else v)


def flatten_refs(value: Any) -> Iterator[Ref]:
    """Every :class:`Ref` in ``value`` (a Ref, or lists and dicts of them), in order."""
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from flatten_refs(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from flatten_refs(v)


def holds_ref(value: Any) -> bool:
    """Whether ``value`` holds a tensor reference anywhere."""
    return next(flatten_refs(value), None) is not None


def tensor(values: dict, ref: Ref, part: int) -> Any:
    """The array (``part=0``) or mask (``part=1``) of ``ref`` among computed ``values``."""
    computed = values[(ref.layer, ref.node)][part]
    if ref.tensor >= len(computed):
        raise RefgruError(f"layer {ref.layer!r}: expected a tensor index below {len(computed)}, got {ref.tensor}")
    return computed[ref.tensor]


__all__ = ["flatten_refs", "holds_ref", "map_refs", "tensor"]
