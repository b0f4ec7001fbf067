"""Compatibility path: the derivatives sit next to the forward functions in :data:`refgru.core.activations.TABLE`."""

from .core.activation_vjps import Vjp
from .core.activations import DERIVATIVES, get_derivative

__all__ = ["DERIVATIVES", "Vjp", "get_derivative"]
