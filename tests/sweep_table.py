"""The table of the config sweep (``tests/test_config_sweep.py``): one Keras layer per registered class.

Kept apart so that the NumPy-only check that the table covers the registry runs without Keras.
"""

from __future__ import annotations

import numpy as np

#: ``class: (factory(layers), input shape(s) without the batch axis)``; tf-keras-only classes are in HANDMADE.
LAYERS = {
    "Activation": (lambda L: L.Activation("tanh"), (5, 3)),
    "AdditiveAttention": (lambda L: L.AdditiveAttention(), [(5, 3), (4, 3)]),
    "Attention": (lambda L: L.Attention(use_scale=True, score_mode="concat"), [(5, 3), (4, 3)]),
    "Add": (lambda L: L.Add(), [(5, 3), (5, 3)]),
    "Average": (lambda L: L.Average(), [(5, 3), (5, 3)]),
    "AveragePooling1D": (lambda L: L.AveragePooling1D(2, padding="same"), (6, 3)),
    "AveragePooling2D": (lambda L: L.AveragePooling2D(2), (4, 4, 2)),
    "BatchNormalization": (lambda L: L.BatchNormalization(), (5, 3)),
    "Bidirectional": (lambda L: L.Bidirectional(L.GRU(2)), (5, 3)),
    "Concatenate": (lambda L: L.Concatenate(), [(5, 3), (5, 2)]),
    "Conv1D": (lambda L: L.Conv1D(4, 3, padding="causal", dilation_rate=2), (6, 2)),
    "Conv2D": (lambda L: L.Conv2D(4, 3, strides=2, groups=2), (6, 6, 2)),
    "Cropping1D": (lambda L: L.Cropping1D((1, 2)), (6, 3)),
    "Cropping2D": (lambda L: L.Cropping2D(1), (5, 5, 2)),
    "Dense": (lambda L: L.Dense(3, activation="relu"), (5, 3)),
    "DepthwiseConv1D": (lambda L: L.DepthwiseConv1D(3, depth_multiplier=2), (6, 2)),
    "Dot": (lambda L: L.Dot(axes=-1, normalize=True), [(5, 3), (4, 3)]),
    "Dropout": (lambda L: L.Dropout(0.3), (5, 3)),
    "ELU": (lambda L: L.ELU(), (5, 3)),
    "Embedding": (lambda L: L.Embedding(10, 4, mask_zero=True), (6,)),
    "Flatten": (lambda L: L.Flatten(), (4, 3, 2)),
    "GRU": (lambda L: L.GRU(3, return_sequences=True), (5, 3)),
    "GaussianDropout": (lambda L: L.GaussianDropout(0.2), (5, 3)),
    "GaussianNoise": (lambda L: L.GaussianNoise(0.2), (5, 3)),
    "GlobalAveragePooling1D": (lambda L: L.GlobalAveragePooling1D(keepdims=True), (5, 3)),
    "GlobalAveragePooling2D": (lambda L: L.GlobalAveragePooling2D(), (4, 4, 2)),
    "GlobalMaxPooling1D": (lambda L: L.GlobalMaxPooling1D(), (5, 3)),
    "GlobalMaxPooling2D": (lambda L: L.GlobalMaxPooling2D(keepdims=True), (4, 4, 2)),
    "InputLayer": (None, (5, 3)),
    "LSTM": (lambda L: L.LSTM(3, return_sequences=True), (5, 3)),
    "LayerNormalization": (lambda L: L.LayerNormalization(rms_scaling=True), (5, 3)),
    "LeakyReLU": (lambda L: L.LeakyReLU(0.2), (5, 3)),
    "Masking": (lambda L: L.Masking(), (5, 3)),
    "MaxPooling1D": (lambda L: L.MaxPooling1D(2), (6, 3)),
    "MaxPooling2D": (lambda L: L.MaxPooling2D(2, padding="same"), (5, 5, 2)),
    "Maximum": (lambda L: L.Maximum(), [(5, 3), (5, 3)]),
    "Minimum": (lambda L: L.Minimum(), [(5, 3), (5, 3)]),
    "MultiHeadAttention": (lambda L: L.MultiHeadAttention(2, 3, value_dim=2), [(5, 3), (4, 3)]),
    "Multiply": (lambda L: L.Multiply(), [(5, 3), (5, 3)]),
    "PReLU": (lambda L: L.PReLU(shared_axes=[1]), (5, 3)),
    "Permute": (lambda L: L.Permute((2, 1)), (5, 3)),
    "RNN": (lambda L: L.RNN([L.GRUCell(2), L.LSTMCell(3)]), (5, 3)),
    "ReLU": (lambda L: L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.1), (5, 3)),
    "RepeatVector": (lambda L: L.RepeatVector(3), (4,)),
    "Reshape": (lambda L: L.Reshape((3, 5)), (5, 3)),
    "SeparableConv1D": (lambda L: L.SeparableConv1D(4, 3, depth_multiplier=2), (6, 2)),
    "SimpleRNN": (lambda L: L.SimpleRNN(3, activation="relu"), (5, 3)),
    "Softmax": (lambda L: L.Softmax(axis=1), (5, 3)),
    "SpatialDropout1D": (lambda L: L.SpatialDropout1D(0.3), (5, 3)),
    "Subtract": (lambda L: L.Subtract(), [(5, 3), (5, 3)]),
    "TimeDistributed": (lambda L: L.TimeDistributed(L.Dense(2)), (5, 3)),
    "UpSampling1D": (lambda L: L.UpSampling1D(2), (5, 3)),
    "UpSampling2D": (lambda L: L.UpSampling2D(2), (3, 3, 2)),
    "ZeroPadding1D": (lambda L: L.ZeroPadding1D(2), (5, 3)),
    "ZeroPadding2D": (lambda L: L.ZeroPadding2D(1), (3, 3, 2)),
}
#: Classes Keras 3 no longer has: their tf-keras / Keras 2 configs, written as those versions save them.
HANDMADE = {
    "ThresholdedReLU": ({"name": "t", "trainable": True, "dtype": "float32", "theta": 0.3}, []),
    "CuDNNGRU": ({"name": "c", "trainable": True, "units": 2, "return_sequences": False, "return_state": False,
                  "go_backwards": False, "stateful": False},
                 [np.ones((3, 6), "float32"), np.ones((2, 6), "float32"), np.ones(12, "float32")]),
    "CuDNNLSTM": ({"name": "c", "trainable": True, "units": 2, "return_sequences": False, "return_state": False,
                   "go_backwards": False, "stateful": False},
                  [np.ones((3, 8), "float32"), np.ones((2, 8), "float32"), np.ones(16, "float32")]),
}
ALIASES = {"AvgPool1D": "AveragePooling1D", "AvgPool2D": "AveragePooling2D", "Convolution1D": "Conv1D",
           "Convolution2D": "Conv2D", "GlobalAvgPool1D": "GlobalAveragePooling1D",
           "GlobalAvgPool2D": "GlobalAveragePooling2D", "GlobalMaxPool1D": "GlobalMaxPooling1D",
           "GlobalMaxPool2D": "GlobalMaxPooling2D", "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D",
           "SeparableConvolution1D": "SeparableConv1D"}
