"""Config errors of the issue-14 layers (convolution, pooling, normalization, activation, shape layers).

Every bad config gives ONE line of ``RefgruError`` naming the layer, the key, what was expected and what
the file holds. NumPy only: the numbers are checked against Keras by the model zoo (``test_model_zoo.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import raises

from refgru.model import load  # noqa: F401  (fills the registry)
from refgru.model.registry import Context, build


def _build(class_name, cfg, weights=(), version=3):
    ctx = Context(version, build=lambda spec, arrays: build(spec, arrays, ctx))
    return build({"class_name": class_name, "config": {"name": "x", **cfg}}, list(weights), ctx)


def z(*shape):
    return np.full(shape, 0.5, np.float32)


CONV1D = {"filters": 4, "kernel_size": [3], "strides": [1], "padding": "valid", "dilation_rate": [1], "groups": 1,
          "data_format": "channels_last", "use_bias": True, "activation": "relu"}
CONV2D = {**CONV1D, "kernel_size": [3, 3], "strides": [1, 1], "dilation_rate": [1, 1]}
SEP = {**CONV1D, "depth_multiplier": 2}
BN = {"axis": -1, "epsilon": 1e-3, "center": True, "scale": True}
LN = {"axis": [-1], "epsilon": 1e-3, "center": True, "scale": True}

#: ``id: (class, config, weights, keras_version, fragments of the message)``.
CASES = {
    "conv missing kernel_size": ("Conv1D", {k: v for k, v in CONV1D.items() if k != "kernel_size"},
                                 [z(3, 2, 4), z(4)], 3, "layer 'x' (Conv1D) kernel_size|no such key"),
    "conv missing filters": ("Conv2D", {k: v for k, v in CONV2D.items() if k != "filters"}, [], 3,
                             "filters|no such key"),
    "conv kernel shape": ("Conv1D", CONV1D, [z(3, 2, 5), z(4)], 3, "(Conv1D) weights|kernel (3, |, 4)|(3, 2, 5)"),
    "conv bias missing": ("Conv1D", CONV1D, [z(3, 2, 4)], 3, "bias (4,)|1 arrays"),
    "conv no bias but one given": ("Conv2D", {**CONV2D, "use_bias": False}, [z(3, 3, 2, 4), z(4)], 3, "2 arrays"),
    "conv bad padding": ("Conv1D", {**CONV1D, "padding": "full"}, [z(3, 2, 4), z(4)], 3, "padding|'causal'|'full'"),
    "conv2d causal": ("Conv2D", {**CONV2D, "padding": "causal"}, [z(3, 3, 2, 4), z(4)], 3, "padding|'same'|'causal'"),
    "conv bad data_format": ("Conv2D", {**CONV2D, "data_format": "NHWC"}, [z(3, 3, 2, 4), z(4)], 3, "data_format|NHWC"),
    "conv groups": ("Conv1D", {**CONV1D, "groups": 3}, [z(3, 2, 4), z(4)], 3, "groups|a divisor of filters=4|3"),
    "conv strides": ("Conv2D", {**CONV2D, "strides": [1, 0]}, [z(3, 3, 2, 4), z(4)], 3, "strides|an int >= 1|[1, 0]"),
    "conv use_bias": ("Conv1D", {**CONV1D, "use_bias": "yes"}, [], 3, "use_bias|true or false|'yes'"),
    "conv activation": ("Conv1D", {**CONV1D, "activation": "nope"}, [z(3, 2, 4), z(4)], 3, "activation|nope"),
    "depthwise bias": ("DepthwiseConv1D", SEP, [z(3, 2, 2), z(5)], 3, "(DepthwiseConv1D) weights|(4,)|(5,)"),
    "depthwise multiplier": ("DepthwiseConv1D", SEP, [z(3, 2, 3), z(6)], 3, "kernel (3, |(3, 2, 3)"),
    "separable pointwise": ("SeparableConv1D", SEP, [z(3, 2, 2), z(1, 5, 4), z(4)], 3,
                            "(SeparableConv1D) weights|pointwise_kernel of shape (1, 4, 4)|(1, 5, 4)"),
    "separable count": ("SeparableConv1D", SEP, [z(3, 2, 2)], 3, "depthwise_kernel|pointwise_kernel|1 arrays"),
    "pool padding": ("MaxPooling2D", {"pool_size": [2, 2], "strides": None, "padding": "causal"}, [], 3,
                     "(MaxPooling2D) padding|'causal'"),
    "pool size": ("AveragePooling1D", {"pool_size": [2, 2], "strides": None, "padding": "valid"}, [], 3,
                  "pool_size|a list of 1|[2, 2]"),
    "pool weights": ("MaxPooling1D", {"pool_size": 2, "strides": 2, "padding": "valid"}, [z(2)], 3, "no arrays"),
    "global keepdims": ("GlobalAveragePooling1D", {"keepdims": 1, "data_format": "channels_last"}, [], 3,
                        "keepdims|true or false|1 (int)"),
    "bn count": ("BatchNormalization", BN, [z(4), z(4), z(4)], 3, "(BatchNormalization) weights|gamma|3 arrays"),
    "bn shapes": ("BatchNormalization", BN, [z(4), z(4), z(4), z(5)], 3, "of one shape|(5,)"),
    "bn renorm": ("BatchNormalization", {**BN, "renorm": True}, [z(4)] * 4, 2, "renorm|false or null|True"),
    "bn epsilon": ("BatchNormalization", {**BN, "epsilon": "small"}, [z(4)] * 4, 3, "epsilon|a finite number|'small'"),
    "bn axis": ("BatchNormalization", {**BN, "axis": [1, 1]}, [z(4)] * 4, 2, "axis|distinct ints|[1, 1]"),
    "ln rank": ("LayerNormalization", {**LN, "axis": [1, 2]}, [z(4), z(4)], 3, "gamma (|(4,)"),
    "ln rms in tf-keras": ("LayerNormalization", {**LN, "rms_scaling": True}, [z(4)], 2, "rms_scaling|tf-keras|True"),
    "ln rms has no beta": ("LayerNormalization", {**LN, "rms_scaling": True}, [z(4), z(4)], 3, "gamma|2 arrays"),
    "relu max_value": ("ReLU", {"max_value": -1.0, "negative_slope": 0.0, "threshold": 0.0}, [], 3,
                       "(ReLU) max_value|>= 0|-1.0"),
    "relu slope": ("ReLU", {"max_value": None, "negative_slope": None, "threshold": 0.0}, [], 3, "negative_slope"),
    "leaky alpha": ("LeakyReLU", {"alpha": "x"}, [], 2, "(LeakyReLU) alpha|a finite number|'x'"),
    "prelu shape": ("PReLU", {"shared_axes": [1]}, [z(3, 4)], 3, "(PReLU) weights|alpha (1,)|(3, 4)"),
    "prelu axes": ("PReLU", {"shared_axes": [0]}, [z(1, 4)], 3, "shared_axes|batch axis|[0]"),
    "prelu missing": ("PReLU", {"shared_axes": None}, [], 3, "alpha|0 arrays"),
    "elu weights": ("ELU", {"alpha": 1.0}, [z(1)], 3, "(ELU) weights|no arrays"),
    "softmax axis": ("Softmax", {"axis": "last"}, [], 3, "(Softmax) axis|an int or a list|'last'"),
    "thresholded theta": ("ThresholdedReLU", {"theta": float("nan")}, [], 2, "theta|a finite number|nan"),
    "zeropad missing": ("ZeroPadding2D", {"data_format": "channels_last"}, [], 3,
                        "(ZeroPadding2D) padding|no such key"),
    "zeropad bad": ("ZeroPadding1D", {"padding": [1, 2, 3]}, [], 3, "padding|(before, after)|[1, 2, 3]"),
    "crop negative": ("Cropping2D", {"cropping": [[0, -1], [1, 1]]}, [], 3, "cropping|>= 0"),
    "upsampling interpolation": ("UpSampling2D", {"size": [2, 2], "interpolation": "bilinear"}, [], 3,
                                 "interpolation|'nearest'|'bilinear'"),
    "upsampling size": ("UpSampling1D", {"size": 0}, [], 3, "(UpSampling1D) size|>= 1|0"),
    "permute dims": ("Permute", {"dims": [1, 3]}, [], 3, "(Permute) dims|a permutation|[1, 3]"),
    "permute missing": ("Permute", {}, [], 3, "(Permute) dims|no such key"),
    "dot axes": ("Dot", {"axes": [1, 2, 3], "normalize": False}, [], 3, "(Dot) axes|a list of 2 ints"),
    "dot missing": ("Dot", {"normalize": False}, [], 2, "(Dot) axes|no such key"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_config_error_is_one_line(case):
    class_name, cfg, weights, version, fragments = CASES[case]
    message = raises(fragments, _build, class_name, cfg, weights, version)
    assert "\n" not in message and message.startswith("layer 'x'"), message


#: ``(class, config, weights, input)`` whose input the layer cannot take: a RefgruError at call time.
BAD_INPUTS = {
    "conv channels": ("Conv1D", CONV1D, [z(3, 2, 4), z(4)], z(1, 5, 3), "expected 2 channels"),
    "conv too short": ("Conv1D", CONV1D, [z(3, 2, 4), z(4)], z(1, 2, 2), "spatial sizes of at least (3,)"),
    "conv rank": ("Conv2D", CONV2D, [z(3, 3, 2, 4), z(4)], z(1, 5, 2), "rank 4"),
    "crop too much": ("Cropping1D", {"cropping": [2, 3]}, [], z(1, 5, 2), "above the cropping"),
    "permute rank": ("Permute", {"dims": [2, 1]}, [], z(1, 2, 3, 4), "rank 3"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refgru_error(case):
    class_name, cfg, weights, x, fragment = BAD_INPUTS[case]
    layer = _build(class_name, cfg, weights)
    message = raises(fragment, layer.call, x, None, {})
    assert "\n" not in message


def test_masks_follow_compute_mask():
    """Conv, pool and shape layers drop the mask; normalization and activation layers pass it on."""
    mask = np.array([[True, False, True, True, True]])
    x = z(1, 5, 2)
    dropped = [("Conv1D", CONV1D, [z(3, 2, 4), z(4)]), ("MaxPooling1D", {"pool_size": 2, "strides": None}, []),
               ("GlobalAveragePooling1D", {}, []), ("GlobalMaxPooling1D", {}, []),
               ("ZeroPadding1D", {"padding": 1}, []), ("Permute", {"dims": [2, 1]}, [])]
    kept = [("BatchNormalization", BN, [z(2)] * 4), ("LayerNormalization", LN, [z(2), z(2)]), ("ReLU", {}, []),
            ("LeakyReLU", {"negative_slope": 0.2}, []), ("PReLU", {"shared_axes": None}, [z(5, 2)]),
            ("ELU", {}, []), ("Softmax", {"axis": -1}, [])]
    for class_name, cfg, weights in dropped:
        assert _build(class_name, cfg, weights).compute_mask(x, mask) is None, class_name
    for class_name, cfg, weights in kept:
        assert _build(class_name, cfg, weights).compute_mask(x, mask) is mask, class_name


def test_the_config_sweep_covers_every_registered_class():
    """tests/test_config_sweep.py sweeps one Keras layer of each class in its table: the table must name them all."""
    from sweep_table import ALIASES, HANDMADE, LAYERS

    from refgru.model import REGISTRY  # noqa: F401  (load fills the registry)

    assert set(REGISTRY) == set(LAYERS) | set(HANDMADE) | set(ALIASES)
