"""Compatibility path (``refgru demo`` registers from here): the demo is :mod:`refgru.teach.demo`."""

from .teach.demo import CHECK_TOLERANCE, KERAS_LIBS, keras_check, predict, register, run_demo, seed_trace

__all__ = ["CHECK_TOLERANCE", "KERAS_LIBS", "keras_check", "predict", "register", "run_demo", "seed_trace"]
