"""``GRUOptions``: every option of a Keras GRU layer, checked and resolved once by :func:`resolve`.

:func:`refgru.gru`, :func:`refgru.trace`, :func:`refgru.explain` and :func:`refgru.gru_backward` take
these options as ``**options`` and call :func:`resolve` once; everything below them receives the
resulting :class:`GRUOptions`. The options :meth:`refgru.model.Model.gru_layers` returns for a layer
are accepted as they are, ``units``, ``use_bias`` and ``stateful`` included, so a loaded model's
``hard_sigmoid`` layer is never run, traced or explained as ``sigmoid``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, TypeVar

import numpy as np

from ..errors import error
from .activation_fns import sigmoid
from .activations import ResolvedActivation, check_keras_version, resolve_activation
from .arrays import LayerArrays
from .checks import check_flag
from .precision import REDUCED
from .weights import GRUWeights, as_weights

#: The boolean options, with their defaults.
FLAGS = {"return_sequences": False, "return_state": False, "go_backwards": False, "zero_output_for_mask": False,
         "stateful": False}
#: Any layer's weights (``GRUWeights``, ``LSTMWeights``, ``SimpleRNNWeights``): what
#: :meth:`RecurrentOptions.check_weights` takes and returns.
_W = TypeVar("_W", bound=LayerArrays)
#: Every option name :func:`resolve` accepts.
OPTION_NAMES = ("reset_after", "activation", "recurrent_activation", "keras_version", "units", "use_bias",
                "compute_dtype", *FLAGS)


@dataclass(frozen=True, kw_only=True)
class RecurrentOptions:
    """The options every recurrent layer here shares (:class:`GRUOptions` and
    :class:`refgru.core.rnn_api.CellOptions`), resolved; keyword-only, so each subclass keeps its own
    fields first.

    Attributes:
        keras_version: 2 (tf-keras) or 3 (Keras 3).
        return_sequences, return_state, go_backwards, zero_output_for_mask: as in :func:`refgru.gru`.
        stateful: accepted for ``Model.gru_layers()`` configs; one call has no state to keep, so it
            changes nothing (pass the kept state as ``initial_state``).
        units, use_bias: ``None``, or what the weights must have (checked by :meth:`check_weights`).
    """

    keras_version: int
    return_sequences: bool
    return_state: bool
    go_backwards: bool
    zero_output_for_mask: bool
    stateful: bool
    units: int | None
    use_bias: bool | None

    def check_weights(self, w: _W) -> _W:
        """``w`` itself, once its ``units`` and ``use_bias`` match the ones asked for (``None``: any)."""
        if self.units is not None and w.units != self.units:
            raise error("units", f"{w.units} (the weights' units)", self.units)
        if self.use_bias is not None and w.use_bias != self.use_bias:
            raise error("use_bias", f"{w.use_bias} (the weights {'have' if w.use_bias else 'have no'} bias)",
                        self.use_bias)
        return w


@dataclass(frozen=True)
class GRUOptions(RecurrentOptions):
    """The options of one GRU layer, resolved: those of :class:`RecurrentOptions` (``keras_version``,
    ``return_sequences``, ``return_state``, ``go_backwards``, ``zero_output_for_mask``, ``stateful``, ``units``,
    ``use_bias``; keyword-only) and these.

    Attributes:
        activation, recurrent_activation: :class:`refgru.core.activations.ResolvedActivation`
            (``name``, ``forward``, ``vjp``) for the candidate ``hh`` and for the gates ``z``, ``r``.
        reset_after: ``True``, ``False`` or ``None`` (inferred from the bias shape by :meth:`bind`).
        compute_dtype: ``None`` (compute in the weights' dtype), ``"float16"`` or ``"bfloat16"``: every op
            rounded to that dtype as Keras computes under a mixed-precision policy (:mod:`refgru.core.precision`).
    """

    activation: ResolvedActivation
    recurrent_activation: ResolvedActivation
    reset_after: bool | None
    compute_dtype: str | None = None

    def bind(self, weights: Sequence[np.ndarray] | GRUWeights) -> GRUWeights:
        """``weights`` as :class:`GRUWeights`, checked against ``reset_after``, ``units`` and ``use_bias``."""
        return self.check_weights(as_weights(weights, self.reset_after))

    @property
    def is_tanh_sigmoid(self) -> bool:
        """Whether the candidate is ``tanh`` and the gates ``sigmoid``: the layer the fused kernel computes."""
        return self.activation.forward is np.tanh and self.recurrent_activation.forward is sigmoid


def check_units(units: object) -> int | None:
    """``units`` as an ``int``, or ``None``; anything else than a positive integer or ``None`` is an error."""
    if units is not None and (isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1):
        raise error("units", "a positive integer or None", units)
    return None if units is None else int(units)


def resolve_flags(options: Mapping[str, object]) -> dict[str, bool]:
    """Each of :data:`FLAGS` from ``options`` (its default when absent), checked to be ``True`` or ``False``."""
    return {name: check_flag(name, options.get(name, default)) for name, default in FLAGS.items()}


def resolve(*, reset_after: bool | None = None, activation: object = "tanh", recurrent_activation: object = "sigmoid",
            keras_version: int = 3, units: int | None = None, use_bias: bool | None = None,
            compute_dtype: str | None = None, **flags: object) -> GRUOptions:
    """Check every option once and return a :class:`GRUOptions`.

    Arguments:
        reset_after: ``None`` infers it from the bias shape; see :class:`refgru.GRUWeights`.
        activation: the candidate activation (Keras name, ``None`` for linear, or a callable), default ``"tanh"``.
        recurrent_activation: the gate activation for ``z`` and ``r``, default ``"sigmoid"``.
        keras_version: 3 (Keras 3) or 2 (tf-keras); decides ``hard_sigmoid`` and the container type.
        units, use_bias: optional; when given, the weights must match.
        compute_dtype: ``None``, ``"float32"`` or ``"float64"`` (the weights' dtype), ``"float16"`` or ``"bfloat16"``.
        flags: ``return_sequences``, ``return_state``, ``go_backwards``, ``zero_output_for_mask`` and
            ``stateful``, each ``True`` or ``False`` (default ``False``).
    """
    unknown = sorted(set(flags) - set(FLAGS))
    if unknown:
        raise error("options", f"GRU options among {', '.join(OPTION_NAMES)}", got=repr(unknown[0]))
    keras_version = check_keras_version(keras_version)
    if reset_after is not None and not isinstance(reset_after, (bool, np.bool_)):
        raise error("reset_after", "True, False or None", reset_after)
    units = check_units(units)
    if use_bias is not None:
        use_bias = check_flag("use_bias", use_bias)
    if compute_dtype not in (None, "float32", "float64", *REDUCED):
        raise error("compute_dtype", f"None or one of float32, float64, {', '.join(REDUCED)}", compute_dtype)
    values = resolve_flags(flags)
    return GRUOptions(activation=resolve_activation(activation, keras_version, "activation"),
                      recurrent_activation=resolve_activation(recurrent_activation, keras_version,
                                                              "recurrent_activation"),
                      reset_after=None if reset_after is None else bool(reset_after), keras_version=keras_version,
                      units=units, use_bias=use_bias,
                      compute_dtype=compute_dtype if compute_dtype in REDUCED else None, **values)


__all__ = ["FLAGS", "GRUOptions", "OPTION_NAMES", "RecurrentOptions", "check_units", "resolve", "resolve_flags"]
