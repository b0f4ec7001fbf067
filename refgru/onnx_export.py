"""The module path ``refgru.onnx_export`` of earlier releases; the code lives in :mod:`refgru.onnx`."""

from __future__ import annotations

from .onnx.activations import ONNX_ACTIVATIONS, ONNX_GRU_FUNCTIONS
from .onnx.export import IR_VERSION, OPSET, build_model, export_onnx
from .onnx.gru_node import gru_layer, onnx_activations

__all__ = ["IR_VERSION", "ONNX_ACTIVATIONS", "ONNX_GRU_FUNCTIONS", "OPSET", "build_model", "export_onnx",
           "gru_layer", "onnx_activations"]
