"""Compatibility path: ``gru`` lives in :mod:`refgru.core.api`; the sequence rules in :mod:`refgru.core.masking`
and :mod:`refgru.core.sequence`."""

from .core.api import gru
from .core.cell import PROJECTION_CHUNK_ELEMENTS
from .core.checks import check_initial_state, check_input, check_mask

__all__ = ["PROJECTION_CHUNK_ELEMENTS", "check_initial_state", "check_input", "check_mask", "gru"]
