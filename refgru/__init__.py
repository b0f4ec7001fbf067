"""refgru: a pure-NumPy reference implementation of the Keras GRU layer.

``import refgru`` needs only NumPy. Everything that needs more (h5py for model files, matplotlib
for plots, torch or onnx for converters) is imported lazily by the function that uses it.
"""

from __future__ import annotations

import importlib

from .activations import get_activation
from .cell import StepGates, gru_step
from .errors import RefgruError
from .explain import explain
from .layer import gru
from .trace import trace
from .weights import GATES, GRUWeights

__version__ = "0.1.0"

#: Public names that live in modules imported on first use: ``name -> module``.
_LAZY = {
    "load_model": "refgru.model",
    "from_keras": "refgru.model",
    "export_onnx": "refgru.onnx_export",
    "gru_backward": "refgru.backward",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'refgru' has no attribute {name!r}")


__all__ = ["GATES", "GRUWeights", "RefgruError", "StepGates", "explain", "get_activation", "gru", "gru_step", "trace",
           "__version__", *_LAZY]
