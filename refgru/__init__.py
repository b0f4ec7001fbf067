"""refgru: a pure-NumPy reference implementation of the Keras GRU layer.

``import refgru`` needs only NumPy. The layout: :mod:`refgru.core` (the math, the one sequence driver),
:mod:`refgru.teach` (explain, trace, demo), :mod:`refgru.model` (model files), the converters and the CLI.

``refgru.trace`` and ``refgru.explain`` are the functions; their modules are :mod:`refgru.teach.trace`
and :mod:`refgru.teach.explain` (there is no module ``refgru.trace``, so ``import refgru.trace`` fails
instead of handing out a function). Everything that needs more (h5py for model files, matplotlib
for plots, torch or onnx for converters) is imported lazily by the function that uses it.
"""

from __future__ import annotations

import importlib

from .core.activations import get_activation
from .core.api import gru, gru_step
from .core.cell import StepGates
from .core.lstm import LSTMWeights
from .core.options import GRUOptions
from .core.rnn_api import lstm, simple_rnn
from .core.simple_rnn import SimpleRNNWeights
from .core.weights import GATES, GRUWeights
from .errors import RefgruError
from .teach.explain import Explanation, explain
from .teach.trace import Trace, trace
from .weights_text import infer_gru, weights_from_text

__version__ = "0.1.0"

#: Public names that live in modules imported on first use: ``name -> module``.
_LAZY = {
    "load_model": "refgru.model",
    "from_keras": "refgru.model",
    "export_onnx": "refgru.onnx_export",
    "onnx_gru": "refgru.onnx.run",
    "gru_backward": "refgru.core.backward",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'refgru' has no attribute {name!r}")


__all__ = ["GATES", "GRUOptions", "GRUWeights", "Explanation", "LSTMWeights", "RefgruError", "SimpleRNNWeights",
           "StepGates", "Trace", "explain", "get_activation", "gru", "gru_step", "infer_gru", "lstm", "simple_rnn",
           "trace", "weights_from_text", "__version__", *_LAZY]
