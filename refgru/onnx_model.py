"""The module path ``refgru.onnx_model`` of earlier releases; the code lives in :mod:`refgru.onnx.model`."""

from __future__ import annotations

from .onnx.model import EXPORTERS, model_graph

__all__ = ["EXPORTERS", "model_graph"]
