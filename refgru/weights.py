"""Compatibility path: ``GRUWeights`` is in :mod:`refgru.core.weights`, ``as_numeric`` in :mod:`refgru.core.checks`."""

from .core.checks import as_numeric
from .core.weights import GATES, GRUWeights, NamedSlices, as_weights

__all__ = ["GATES", "GRUWeights", "NamedSlices", "as_numeric", "as_weights"]
