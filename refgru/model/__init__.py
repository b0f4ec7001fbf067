"""Run saved Keras models with NumPy: ``load_model(path)`` and ``from_keras(model)``.

See ``docs/porting.md``. Modules: ``files`` (reading ``.keras``/``.h5``), ``config`` (the graph and the
refusal of code), ``registry`` (one builder per layer class), ``layers_basic``/``layers_rnn`` (the
builders), ``ops`` (Keras 3 mask op nodes), ``model`` (the ``Model`` that runs it), ``summary``.
"""

from __future__ import annotations

from .load import build_model, from_keras, load_model
from .model import Model
from .registry import REGISTRY

__all__ = ["Model", "REGISTRY", "build_model", "from_keras", "load_model"]
