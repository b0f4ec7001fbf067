"""Builders for the convolutions: ``Conv1D``, ``Conv2D``, ``DepthwiseConv1D``, ``SeparableConv1D``.

Config keys read (both Keras versions save them): ``filters``, ``kernel_size``, ``strides``, ``padding``
(``valid``, ``same``, and ``causal`` for the 1D layers), ``dilation_rate``, ``groups``,
``depth_multiplier``, ``data_format``, ``use_bias`` and ``activation``. Arrays:

- ``Conv*``: ``kernel (*K, C / groups, filters)``, ``bias (filters,)``;
- ``DepthwiseConv1D``: ``kernel (K, C, depth_multiplier)``, ``bias (C * depth_multiplier,)``;
- ``SeparableConv1D``: ``depthwise_kernel (K, C, m)``, ``pointwise_kernel (1, C * m, filters)``, ``bias (filters,)``.

Output channel ``c * m + j`` of a depthwise convolution is input channel ``c`` under multiplier ``j``.
Convolutions drop the mask in both versions (they do not support masking; Keras 3 warns, tf-keras is silent).
"""

from __future__ import annotations

from .options import bad, channels_first, choice, flag, ints
from .registry import Simple, activation, as_float, check_weights, layer_dtype, layer_policy, register, variable, where
from .spatial import convolve, from_last, to_last


def _geometry(cfg, cls, n):
    """``(kernel_size, strides, dilation_rate, padding)`` of an ``n``-D convolution."""
    pads = ("valid", "same", "causal") if n == 1 else ("valid", "same")
    return (ints(cfg, cls, "kernel_size", n), ints(cfg, cls, "strides", n, 1), ints(cfg, cls, "dilation_rate", n, 1),
            choice(cfg, cls, "padding", pads, "valid"))


def _conv_layer(cfg, cls, ctx, arrays, conv, use_bias, text):
    """The layer ``activation(conv(x) + bias)`` on channels-last or channels-first inputs."""
    dtype, act, first = layer_dtype(cfg), activation(cfg, "activation", ctx), channels_first(cfg, cls)
    bias, q = variable(cfg, arrays[-1]) if use_bias else None, layer_policy(cfg).round  # q: compute-dtype cast

    def fn(x):
        y = q(conv(to_last(as_float(x, dtype), first)))
        return from_last(q(act(y if bias is None else q(y + bias))), first)
    return Simple(cfg, fn, cls, arrays, supports_masking=False, text=text)


def _conv_builder(cls, n):
    def builder(cfg, weights, ctx):
        filters, groups = ints(cfg, cls, "filters", 1)[0], ints(cfg, cls, "groups", 1, 1)[0]
        if filters % groups:
            raise bad(f"{where(cfg, cls)} groups", f"a divisor of filters={filters}", groups)
        kernel_size, strides, dilation, padding = _geometry(cfg, cls, n)
        use_bias = flag(cfg, cls, "use_bias", True)
        expected = [("kernel", (*kernel_size, None, filters))] + ([("bias", (filters,))] if use_bias else [])
        arrays = check_weights(cfg, cls, weights, expected)
        kernel = variable(cfg, arrays[0])

        def conv(x):
            return convolve(x, kernel, strides, dilation, padding, groups)
        text = f"filters={filters}, kernel={kernel_size}, strides={strides}, padding={padding}, dilation={dilation}" \
            + (f", groups={groups}" if groups > 1 else "")
        return _conv_layer(cfg, cls, ctx, arrays, conv, use_bias, text)
    builder.__name__ = cls.lower()
    return builder


register("Conv1D", "Convolution1D")(_conv_builder("Conv1D", 1))
register("Conv2D", "Convolution2D")(_conv_builder("Conv2D", 2))


def _depthwise(kernel, geometry):
    """The depthwise convolution as a grouped one: ``(K, C, m)`` -> ``(K, 1, C * m)`` with ``C`` groups."""
    kernel_size, strides, dilation, padding = geometry
    k = kernel.reshape(*kernel.shape[:-2], 1, kernel.shape[-2] * kernel.shape[-1])
    return lambda x: convolve(x, k, strides, dilation, padding, kernel.shape[-2])


@register("DepthwiseConv1D")
def depthwise_conv1d(cfg, weights, ctx):
    cls = "DepthwiseConv1D"
    geometry = _geometry(cfg, cls, 1)
    m, use_bias = ints(cfg, cls, "depth_multiplier", 1, 1)[0], flag(cfg, cls, "use_bias", True)
    expected = [("kernel", (geometry[0][0], None, m))]
    arrays = check_weights(cfg, cls, weights, expected + ([("bias", (None,))] if use_bias else []))
    channels = arrays[0].shape[1]
    if use_bias and arrays[1].shape != (channels * m,):
        raise bad(f"{where(cfg, cls)} weights", f"a bias of shape ({channels * m},) for the kernel",
                    got=f"shape {arrays[1].shape}")
    conv = _depthwise(arrays[0].astype(layer_dtype(cfg)), geometry)
    return _conv_layer(cfg, cls, ctx, arrays, conv, use_bias, f"kernel={geometry[0]}, depth_multiplier={m}")


@register("SeparableConv1D", "SeparableConvolution1D")
def separable_conv1d(cfg, weights, ctx):
    cls = "SeparableConv1D"
    geometry = _geometry(cfg, cls, 1)
    filters, m = ints(cfg, cls, "filters", 1)[0], ints(cfg, cls, "depth_multiplier", 1, 1)[0]
    use_bias = flag(cfg, cls, "use_bias", True)
    expected = [("depthwise_kernel", (geometry[0][0], None, m)), ("pointwise_kernel", (1, None, filters))]
    arrays = check_weights(cfg, cls, weights, expected + ([("bias", (filters,))] if use_bias else []))
    channels = arrays[0].shape[1]
    if arrays[1].shape[1] != channels * m:
        raise bad(f"{where(cfg, cls)} weights", f"a pointwise_kernel of shape (1, {channels * m}, {filters})",
                    got=f"shape {arrays[1].shape}")
    dtype = layer_dtype(cfg)
    depthwise, pointwise = _depthwise(arrays[0].astype(dtype), geometry), arrays[1][0].astype(dtype)
    return _conv_layer(cfg, cls, ctx, arrays, lambda x: depthwise(x) @ pointwise, use_bias,
                       f"filters={filters}, kernel={geometry[0]}, depth_multiplier={m}, padding={geometry[3]}")


