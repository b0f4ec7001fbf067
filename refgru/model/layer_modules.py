"""The modules whose ``@register`` builders make up :data:`refgru.model.registry.REGISTRY`.

:func:`register_all` imports them; :mod:`refgru.model.load` calls it, so ``refgru.model.REGISTRY`` holds
every layer once :mod:`refgru.model` is imported. A new ``layers_*`` module is one more name in
:data:`LAYER_MODULES`. This module sits above the registry and the layer modules (each imports
:mod:`refgru.model.registry`), and neither imports it, so there is no import cycle.
"""

from __future__ import annotations

import importlib
from typing import Callable

from .registry import REGISTRY, Layer

#: The ``refgru.model`` modules whose ``@register`` calls fill ``REGISTRY`` and ``KERAS_VAR_GROUPS``.
LAYER_MODULES = ("layers_act", "layers_attention", "layers_basic", "layers_cells", "layers_conv", "layers_norm",
                 "layers_pool", "layers_rnn", "layers_shape")


def register_all() -> dict[str, Callable[..., Layer]]:
    """Import every module of :data:`LAYER_MODULES` (their ``@register`` calls fill ``REGISTRY``) and return
    ``REGISTRY``. Idempotent: a module already imported is not run again."""
    for name in LAYER_MODULES:
        importlib.import_module(f"{__package__}.{name}")
    return REGISTRY
