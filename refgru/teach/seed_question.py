"""The model from the question that started refgru (``shared/seed-question.md``).

``GRU(units=2, input_shape=(3, 1), activation='linear')`` followed by ``Dense(1)``. The GRU arrays
are the ones ``get_weights()`` printed in the question; its bias was the all-zero ``(2, 6)`` array
of a fresh Keras GRU (``reset_after=True``, the default since tf.keras 2.0).
"""

from __future__ import annotations

import numpy as np

KERNEL = np.array([[-0.64266175, -0.0870676, -0.25356603, -0.03685969, 0.22260845, -0.04923642]], dtype=np.float32)
RECURRENT_KERNEL = np.array([
    [0.01929092, -0.4932567, 0.3723044, -0.6559699, -0.33790302, 0.27062896],
    [-0.4214194, 0.46456426, 0.27233726, -0.00461334, -0.6533575, -0.32483965],
], dtype=np.float32)
BIAS = np.zeros((2, 6), dtype=np.float32)

#: The three arrays exactly as ``model.layers[0].get_weights()`` printed them.
WEIGHTS = [KERNEL, RECURRENT_KERNEL, BIAS]
#: The question's printout of those arrays, verbatim (``print("Shape = ", initial_weights)``, wrapped as posted);
#: ``refgru.weights_from_text(PRINTED)`` gives :data:`WEIGHTS`, and ``refgru explain --text`` explains it.
PRINTED = """Shape = [array([[-0.64266175, -0.0870676 , -0.25356603, -0.03685969, 0.22260845,
-0.04923642]], dtype=float32), array([[ 0.01929092, -0.4932567 , 0.3723044 , -0.6559699 , -0.33790302,
0.27062896],
[-0.4214194 , 0.46456426, 0.27233726, -0.00461334, -0.6533575 ,
-0.32483965]], dtype=float32), array([[0., 0., 0., 0., 0., 0.],
[0., 0., 0., 0., 0., 0.]], dtype=float32)]
"""
#: The GRU layer's non-default configuration in the question.
CONFIG = {"activation": "linear"}
#: The question's Dense(1) weights were not printed; these fixed values stand in for them.
DENSE_KERNEL = np.array([[0.8], [-0.5]], dtype=np.float32)
DENSE_BIAS = np.array([0.1], dtype=np.float32)
#: A 3-step, 1-feature input of shape (1, 3, 1), like the question's input_shape=(3, 1).
X = np.array([[[0.5], [-1.0], [2.0]]], dtype=np.float32)
