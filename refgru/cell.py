"""Compatibility path: the step math lives in :mod:`refgru.core.cell`, ``gru_step`` in :mod:`refgru.core.api`."""

from .core.api import gru_step
from .core.cell import CellKernel, StepGates, StepGradients, cell, cell_backward, project_inputs

__all__ = ["CellKernel", "StepGates", "StepGradients", "cell", "cell_backward", "gru_step", "project_inputs"]
