"""ONNX: export a Keras GRU layer or a loaded model as an ONNX model; read and run an ONNX GRU node.

    :mod:`refgru.onnx.graph`        OnnxGraph: nodes, initializers, names and dtypes of one graph
    :mod:`refgru.onnx.activations`  ONNX_TABLE: the one Keras activation -> ONNX table
    :mod:`refgru.onnx.gru_node`     a GRU / Bidirectional(GRU) as an ONNX GRU node (onnx_activations, gru_layer)
    :mod:`refgru.onnx.model`        EXPORTERS (one per Keras class) and model_graph
    :mod:`refgru.onnx.mask`         a Keras mask around the GRU node: compaction, sequence_lens, Keras's outputs
    :mod:`refgru.onnx.mask_layers`  Keras 3 mask op nodes and the mask rules of layers
    :mod:`refgru.onnx.export`       export_layer, export_model and export_onnx, which dispatches between them
    :mod:`refgru.onnx.node`         reading an ONNX GRU node (attributes, inputs, GRUWeights.from_onnx_node)
    :mod:`refgru.onnx.run`          onnx_gru: run any ONNX GRU node in NumPy (imported on use)

The ``onnx`` package itself is imported only when a model is built.
"""

from __future__ import annotations

from .activations import ONNX_ACTIVATIONS, ONNX_TABLE, OnnxActivation
from .export import LayerOptions, export_layer, export_model, export_onnx
from .graph import OnnxGraph
from .gru_node import gru_layer, onnx_activations
from .model import EXPORTERS, model_graph

__all__ = ["EXPORTERS", "LayerOptions", "ONNX_ACTIVATIONS", "ONNX_TABLE", "OnnxActivation", "OnnxGraph",
           "export_layer", "export_model", "export_onnx", "gru_layer", "model_graph", "onnx_activations"]
