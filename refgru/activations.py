"""Compatibility path: the activations live in :mod:`refgru.core.activations` (the table) and
:mod:`refgru.core.activation_fns` (the forward functions)."""

from .core.activation_fns import (
                                  GELU_RSQRT2,
                                  LEAKY_RELU_SLOPE,
                                  SELU_ALPHA,
                                  SELU_SCALE,
                                  elu,
                                  gelu,
                                  hard_sigmoid_keras2,
                                  hard_sigmoid_keras3,
                                  log_softmax,
                                  selu,
                                  sigmoid,
                                  silu,
                                  softmax,
                                  softplus,
                                  sparsemax,
)
from .core.activations import ACTIVATIONS, TABLE, Activation, ActivationEntry, check_keras_version, get_activation

__all__ = ["ACTIVATIONS", "GELU_RSQRT2", "LEAKY_RELU_SLOPE", "SELU_ALPHA", "SELU_SCALE", "TABLE", "Activation",
           "ActivationEntry", "check_keras_version", "elu", "gelu", "get_activation", "hard_sigmoid_keras2",
           "hard_sigmoid_keras3", "log_softmax", "selu", "sigmoid", "silu", "softmax", "softplus", "sparsemax"]
