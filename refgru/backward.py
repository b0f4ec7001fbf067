"""Compatibility path (documented in docs/api.md): ``gru_backward`` lives in :mod:`refgru.core.backward`."""

from .core.backward import GRUGradients, forward_with_cache, gru_backward
from .core.cell import StepGradients, cell_backward

__all__ = ["GRUGradients", "StepGradients", "cell_backward", "forward_with_cache", "gru_backward"]
