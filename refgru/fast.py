"""Compatibility path: the fused tanh/sigmoid kernel is :mod:`refgru.core.fused`."""

from .core.fused import FUSE_INPUTS_MAX_MACS, FusedKernel, FusedWeights, fuse, fused_weights

__all__ = ["FUSE_INPUTS_MAX_MACS", "FusedKernel", "FusedWeights", "fuse", "fused_weights"]
