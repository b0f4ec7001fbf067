"""Benchmarks: refgru's GRU forward pass against Keras, PyTorch and onnxruntime.

Run ``python -m benchmarks.run`` (``--quick`` for a short run); see docs/benchmarks.md. Each engine
runs in its own subprocess (:mod:`benchmarks.engines`), the memory probe too (:mod:`benchmarks.memory`).
"""
