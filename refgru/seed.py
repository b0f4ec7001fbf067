"""Compatibility path: the seed question's model is :mod:`refgru.teach.seed_question`."""

from .teach.seed_question import BIAS, CONFIG, DENSE_BIAS, DENSE_KERNEL, KERNEL, RECURRENT_KERNEL, WEIGHTS, X

__all__ = ["BIAS", "CONFIG", "DENSE_BIAS", "DENSE_KERNEL", "KERNEL", "RECURRENT_KERNEL", "WEIGHTS", "X"]
