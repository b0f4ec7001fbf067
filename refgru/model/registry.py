"""The layer registry: one small builder function per Keras layer class.

A builder takes ``(cfg, weights, ctx)``:

- ``cfg``: the layer's ``config`` dict from the saved model;
- ``weights``: the layer's arrays in the order ``layer.get_weights()`` returns them;
- ``ctx``: a :class:`Context` (the Keras major version, and ``ctx.build`` for wrapped layers);

and returns a :class:`Layer`. Adding a layer is one ``@register("ClassName")`` function plus its test.
Nothing here imports Keras, and nothing from the file is ever executed: a class that is not in
``REGISTRY`` is refused with a :class:`RefgruError` naming the class and the layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..core.activations import get_activation
from ..errors import RefgruError, describe
from .precision import Policy, parse_policy, wrap

#: ``class_name -> builder``; filled by the ``layers_*`` modules through :func:`register` when
#: :func:`refgru.model.layer_modules.register_all` imports them.
REGISTRY: dict[str, Callable[..., "Layer"]] = {}
#: ``class_name -> groups`` under ``layers/<snake_case>/`` that hold a layer's variables in a ``.keras``
#: weights file, in ``get_weights()`` order (or a function of the layer config returning them). Classes not
#: listed use ``("vars",)``.
KERAS_VAR_GROUPS: dict[str, tuple[str, ...]] = {}


@dataclass
class Context:
    """What a builder needs besides its own config: ``keras_version`` (2 or 3) and a way to build
    a wrapped layer: ``build(spec, weights)`` with ``spec`` a ``{"class_name", "config"}`` dict."""

    keras_version: int
    build: Callable[[dict, list], "Layer"]


class Layer:
    """A built layer. Subclasses implement :meth:`call`; masks follow Keras's ``compute_mask``.

    Attributes:
        name, class_name, config: as saved by Keras.
        weights: the arrays ``layer.get_weights()`` returns, in that order.
        label: the name shown by :meth:`refgru.model.Model.gru_layers` (``bidirectional/forward`` for
            the halves of a Bidirectional).
        sublayers: wrapped layers (the two GRUs of a Bidirectional, the layer of a TimeDistributed).
    """

    supports_masking = True

    def __init__(self, cfg: dict, weights: Sequence[np.ndarray] = (), class_name: str = ""):
        self.config = cfg
        self.name = str(cfg.get("name", class_name.lower()))
        self.class_name = class_name or type(self).__name__
        self.weights = list(weights)
        self.label = self.name
        self.sublayers: list[Layer] = []

    def call(self, inputs: Any, mask: Any, kwargs: dict) -> Any:
        """Run the layer on NumPy ``inputs`` (an array or a list), with ``mask`` (bool ``(B, T)`` or None)."""
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        """The output mask: Keras passes the input mask on when the layer supports masking."""
        return mask if self.supports_masking else None

    def reset_states(self) -> None:
        for layer in self.sublayers:
            layer.reset_states()

    @property
    def param_count(self) -> int:
        return int(sum(np.size(w) for w in self.weights))

    def describe(self) -> str:
        """A short text for ``summary()``: the options that change numbers."""
        return ""

    def __repr__(self) -> str:
        return f"<{self.class_name} {self.name!r}>"


class Simple(Layer):
    """A layer given by a function ``fn(x) -> y`` on one input (and its mask rule)."""

    def __init__(self, cfg: dict, fn: Callable, class_name: str, weights=(), supports_masking: bool = True,
                 text: str = ""):
        super().__init__(cfg, weights, class_name)
        self.fn, self.supports_masking, self.text = fn, supports_masking, text

    def call(self, inputs, mask, kwargs):
        return self.fn(inputs)

    def describe(self) -> str:
        return self.text


def register(*class_names: str, var_groups: tuple[str, ...] | None = None):
    """Decorator: ``@register("Dense")`` adds a builder to :data:`REGISTRY`."""
    def add(builder):
        for name in class_names:
            REGISTRY[name] = builder
            if var_groups is not None:
                KERAS_VAR_GROUPS[name] = var_groups
        return builder
    return add


def every_layer(layers: list[Layer]) -> Iterator[Layer]:
    """``layers`` and, depth first, the layers they wrap (Bidirectional halves, nested models' layers)."""
    stack = list(reversed(layers))
    while stack:
        layer = stack.pop()
        yield layer
        stack.extend(reversed(layer.sublayers))


class unexpected:  # noqa: N801  (used as a function: ``with unexpected("x"):``)
    """The last line of defence of ``load_model`` and ``predict``: any error that is not already a
    :class:`RefgruError` (``MemoryError`` from a huge size, ``OverflowError``, ``RecursionError``...)
    becomes one, naming ``what`` and the original error type, so only :class:`RefgruError` escapes.

    A class rather than a ``contextlib.contextmanager``: ``predict`` enters it on every call, and this
    costs a fraction of a generator-based one."""

    __slots__ = ("what",)

    def __init__(self, what: str):
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, traceback) -> bool:
        if exc is None or isinstance(exc, RefgruError) or not isinstance(exc, Exception):
            return False
        reason = (str(exc).splitlines() or [""])[0][:160]
        raise RefgruError(f"{self.what}: expected input refgru can handle, got one that failed with "
                          f"{type(exc).__name__}: {reason!r}") from None


def escape(value: Any, limit: int = 80) -> str:
    """``value`` quoted for a one-line message: ``repr`` escapes newlines and every non-printable character."""
    text = value if isinstance(value, str) else str(value)
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def where(cfg: dict, class_name: Any = None) -> str:
    """``layer 'gru' (GRU)``: how error messages name a layer (both names escaped)."""
    name = cfg.get("name", "?") if isinstance(cfg, dict) else "?"
    return f"layer {escape(name)}" + (f" ({escape(class_name)[1:-1]})" if class_name else "")


def build(spec: dict, weights: Sequence[np.ndarray], ctx: Context) -> Layer:
    """Build the layer that ``spec = {"class_name", "config"}`` describes, or raise :class:`RefgruError`."""
    class_name = spec.get("class_name")
    cfg = spec.get("config")
    if not isinstance(cfg, dict):
        raise RefgruError(f"{where({}, class_name)} config: expected a dict, got {describe(cfg)}")
    builder = REGISTRY.get(class_name)
    if builder is None:
        supported = ", ".join(sorted(REGISTRY))
        raise RefgruError(f"{where(cfg, class_name)}: expected a supported layer class ({supported}), "
                          f"got unsupported class {escape(class_name)}")
    try:
        layer = builder(cfg, list(weights), ctx)
    except RefgruError:
        raise
    except Exception as exc:  # noqa: BLE001  (a config value of the wrong type or size, in any builder)
        raise RefgruError(f"{where(cfg, class_name)} config: expected the keys and values Keras saves for "
                          f"{class_name}, got a config it cannot be built from ({type(exc).__name__}: {exc})") from None
    layer.class_name = class_name
    if class_name == "InputLayer":  # an input's dtype is no policy
        return layer
    return wrap(layer, layer_policy(policy_config(class_name, cfg)))


def policy_config(class_name: str, cfg: dict) -> dict:
    """``cfg`` with the ``dtype`` that describes the layer's computation. Keras 2.0 saved an ``Embedding``'s
    ``dtype`` as its *input's* (``"int32"``); its embeddings are float32, so that dtype reads as float32."""
    dtype = cfg.get("dtype")
    if class_name == "Embedding" and isinstance(dtype, str) and dtype.startswith(("int", "uint")):
        return {**cfg, "dtype": "float32"}
    return cfg


def weights_mismatch(message: str, expected: list[tuple[str, tuple]]) -> RefgruError:
    """The error of :func:`check_weights`; its ``expected`` attribute is what it asked for (``[(name, shape)]``),
    which is how a nested ``.h5`` model's flat array list is split among its layers."""
    exc = RefgruError(message)
    exc.expected = expected
    return exc


def _fits(shape: tuple, expected: tuple) -> bool:
    return len(shape) == len(expected) and all(e is None or e == d for d, e in zip(shape, expected, strict=True))


def check_weights(cfg: dict, class_name: str, weights: Sequence[Any],
                  expected: list[tuple[str, tuple]]) -> list[np.ndarray]:
    """Check that ``weights`` match ``expected = [(name, shape)]`` (``None`` in a shape matches any size),
    then read them.

    A weight read from a file is a lazy dataset (:class:`refgru.model.hdf5.LazyArray`) with ``shape`` and
    ``dtype`` but no data yet: its data is read only here, after its declared shape matched the config,
    so a file cannot make refgru allocate for an array its config does not ask for."""
    def text(shapes):
        return ", ".join(str(tuple("?" if d is None else d for d in s)) for s in shapes) or "none"
    shapes = [tuple(np.shape(w)) for w in weights]
    ok = len(shapes) == len(expected) and all(_fits(s, e) for s, (_, e) in zip(shapes, expected, strict=True))
    if not ok:
        names = ", ".join(f"{n} {text([s])}" for n, s in expected) or "no arrays"
        shown = text(shapes[:8]) + (", ..." if len(shapes) > 8 else "")
        raise weights_mismatch(f"{where(cfg, class_name)} weights: expected {names} from its config, "
                               f"got {len(shapes)} arrays of shapes {shown}", expected)
    arrays = [w.read() if callable(getattr(w, "read", None)) else np.asarray(w) for w in weights]
    for (name, _), array in zip(expected, arrays, strict=True):
        if array.dtype.kind not in "biuf":
            raise RefgruError(f"{where(cfg, class_name)} weights: expected a numeric {name}, got {describe(array)}")
    return arrays


def layer_policy(cfg: dict, default: str = "float32") -> Policy:
    """The dtype :class:`~refgru.model.precision.Policy` of a layer config (a string, or a policy dict)."""
    return parse_policy(cfg.get("dtype"), f"{where(cfg)} dtype", default)


def layer_dtype(cfg: dict, default: str = "float32") -> np.dtype:
    """The NumPy dtype a layer computes on: its compute dtype, or float32 for float16/bfloat16 compute,
    whose values refgru carries rounded in float32 (:mod:`refgru.model.precision`)."""
    return layer_policy(cfg, default).carrier


def variable(cfg: dict, array: np.ndarray) -> np.ndarray:
    """A weight as the layer's ``call`` reads it: cast to the compute dtype (Keras's autocast of variables)."""
    return layer_policy(cfg).round(array)


def activation_name(cfg: dict, key: str, default: str) -> str | None:
    """The activation name in ``cfg[key]``: a string, or Keras 3's ``{"class_name": "function"}`` form."""
    spec = cfg.get(key, default)
    if isinstance(spec, dict) and spec.get("module", "keras.activations").startswith(("keras", "tf_keras")) \
            and spec.get("class_name") == "function" and isinstance(spec.get("config"), str):
        spec = spec["config"]
    if spec is not None and not isinstance(spec, str):
        raise RefgruError(f"{where(cfg)} {key}: expected the name of a built-in Keras activation, "
                          f"got {describe(spec)} (custom activations are code, which refgru does not run)")
    return spec


def activation(cfg: dict, key: str, ctx: Context, default: str = "linear") -> Callable[[np.ndarray], np.ndarray]:
    """Resolve ``cfg[key]`` to a NumPy activation of Keras ``ctx.keras_version``."""
    return get_activation(activation_name(cfg, key, default), ctx.keras_version, f"{where(cfg)} {key}")


def as_float(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Cast ``x`` to the layer's compute dtype, as Keras autocasts layer inputs."""
    return np.asarray(x).astype(dtype, copy=False)
