"""Exact weight converters between Keras GRU weights and PyTorch ``nn.GRU`` / the ONNX ``GRU`` operator.

One table, :data:`FRAMEWORKS` (in :mod:`refgru.convert.layouts`), says how each framework stores a
layer: the order of the gate blocks (:data:`LAYOUTS`), the names of its arrays and the Keras arrays they
hold (:data:`TORCH_PARAMETERS`, ONNX's ``B = [b | rb]``), and how it names directions (:data:`DIRECTIONS`).
:func:`reorder` moves gate blocks by that table. NumPy only: the converters work on arrays
(:class:`KerasArrays`) and never import the weights class; ``GRUWeights.to_torch``, ``from_torch``,
``to_onnx`` and ``from_onnx`` call down into them.

    :mod:`refgru.convert.layouts`      the table, reorder, KerasArrays
    :mod:`refgru.convert.torch`        to_torch, from_torch, to_torch_state_dict, from_torch_all, torch_module
    :mod:`refgru.convert.onnx_arrays`  to_onnx, from_onnx
"""

from __future__ import annotations

from .layouts import (
                      DIRECTIONS,
                      FRAMEWORKS,
                      LAYOUTS,
                      TORCH_PARAMETERS,
                      KerasArrays,
                      Layout,
                      export_array,
                      import_array,
                      reorder,
)
from .onnx_arrays import from_onnx, to_onnx
from .torch import (
                      TORCH_ACTIVATIONS,
                      check_torch_activations,
                      from_torch,
                      from_torch_all,
                      to_torch,
                      to_torch_state_dict,
                      torch_module,
)

__all__ = ["DIRECTIONS", "FRAMEWORKS", "KerasArrays", "LAYOUTS", "Layout", "TORCH_ACTIVATIONS", "TORCH_PARAMETERS",
           "check_torch_activations", "export_array", "from_onnx", "from_torch", "from_torch_all", "import_array",
           "reorder", "to_onnx", "to_torch", "to_torch_state_dict", "torch_module"]
