"""``Model``: a loaded Keras model run with NumPy, node by node, with Keras's mask propagation.

Masks travel with tensors as Keras attaches ``_keras_mask``: a layer that supports masking passes its
input mask on (or computes one: ``Masking``, ``Embedding(mask_zero=True)``, a merge); others drop it.
A layer receives the mask of its first argument, except that Keras 3 fills the mask in only when a
single argument holds tensors (a GRU given ``initial_state`` gets no implicit mask), and an explicit
``mask=`` in a Keras 3 node (its op nodes ``NotEqual``/``Any``...) wins over the implicit one.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import streaming
from ..errors import RefgruError, describe
from .config import Graph, Ref
from .feeds import model_feeds
from .layers_rnn import GRULayer
from .nested import NestedModel
from .refs import flatten_refs, holds_ref, map_refs, tensor
from .registry import Layer, escape, every_layer, unexpected, where


class Model:
    """A saved Keras model, run with NumPy. Build it with :func:`refgru.load_model` or :func:`refgru.from_keras`.

    Attributes:
        name: the model's name; ``kind``: ``Sequential`` or ``Functional``.
        keras_version: 2 (tf-keras semantics, e.g. its ``hard_sigmoid``) or 3, from the saving Keras.
        layers: the built layers in config order (Keras 3 op nodes excluded).
        input_names, output_names: the input and output layer names.
    """

    def __init__(self, graph: Graph, built: dict[str, Any], keras_version: int, version_string: str = "",
                 source: str = ""):
        self.graph, self._built = graph, built
        self.name, self.kind = graph.name, graph.kind
        self.keras_version, self.version_string, self.source = keras_version, version_string, source
        self._entries = {e.name: e for e in graph.entries}
        self.layers: list[Layer] = [built[e.name] for e in graph.entries if not e.op]
        self._by_name: dict[str, Layer] = {}
        for layer in self.layers:
            self._by_name.setdefault(layer.name, layer)
        self._inputs = list(flatten_refs(graph.inputs))
        self.input_names = [r.layer for r in self._inputs]
        self.output_names = [r.layer for r in flatten_refs(graph.outputs)]
        for ref in self._inputs:
            if self._entries[ref.layer].class_name != "InputLayer":
                raise RefgruError(f"input_layers: expected InputLayer names, got {ref.layer!r}")
        # tf-keras numbers the calls of a nested model that starts with an InputLayer from 1 in a config
        # (its node 0 links its own inputs to its outputs; tf_keras functional._should_skip_first_node)
        self._first_node = {e.name: 1 for e in graph.entries
                            if e.graph is not None and e.graph.explicit_input and keras_version == 2
                            and graph.kind == "Functional"}  # a Sequential's own references are refgru's
        # Keras 3 numbers a nested Functional's calls from 1 in output_layers only (functional.get_tensor)
        self._outputs = map_refs(graph.outputs, lambda r: Ref(r.layer, r.node - 1, r.tensor) if keras_version == 3
                                 and r.node > 0 and self._entries[r.layer].class_name == "Functional"
                                 and graph.kind == "Functional" else r)
        self._order = self._schedule()
        self._plans = {key: self._plan(key) for key in self._order if self._entries[key[0]].class_name != "InputLayer"}
        #: Whether a layer carries state from call to call (a stateful GRU, LSTM or SimpleRNN, nested ones included).
        self.stateful = any(getattr(layer, "stateful", False) is True for layer in every_layer(self.layers))
        #: Return several outputs as a tuple (set by ``from_keras`` for a Keras 3 model built with a tuple).
        self.tuple_outputs = False
        #: ``strict=False`` loads: ``[(layer path, class, reason)]`` of the layers refgru cannot run, and the
        #: one-line error that running the model raises.
        self.problems: list[tuple[str, str, str]] = []
        self.unusable: RefgruError | None = None

    def get_layer(self, name: str) -> Layer:
        """The layer called ``name`` (a dict lookup: linear-time loops over layers stay linear)."""
        layer = self._by_name.get(name) if isinstance(name, str) else None
        if layer is None:
            names = list(self._by_name)
            shown = ", ".join(escape(n) for n in names[:10]) + (", ..." if len(names) > 10 else "")
            raise RefgruError(f"name: expected the name of one of the {len(self.layers)} layers ({shown}), "
                              f"got {escape(name)}")
        return layer

    def _schedule(self) -> list[tuple[str, int]]:
        """The ``(layer, node)`` calls the outputs need, each after the calls it reads (iterative DFS)."""
        order, state = [], {}
        stack = [((r.layer, r.node), False) for r in flatten_refs(self._outputs)]
        while stack:
            key, done = stack.pop()
            if done:
                state[key] = 2
                order.append(key)
            elif state.get(key) != 2:
                if state.get(key) == 1:
                    raise RefgruError(f"model config: expected an acyclic graph, got a cycle at layer {key[0]!r}")
                state[key] = 1
                stack.append((key, True))
                if self._entries[key[0]].class_name != "InputLayer":
                    call = self._node(key)
                    stack.extend(((r.layer, r.node), False) for r in flatten_refs([call.args, call.kwargs]))
        depth = dict.fromkeys(order, 0)  # Keras runs the calls farthest from the outputs first (its MHA's mask
        for key in reversed(order):      # removal depends on the order): consumers come before producers here
            if self._entries[key[0]].class_name != "InputLayer":
                for r in flatten_refs([self._node(key).args, self._node(key).kwargs]):
                    depth[(r.layer, r.node)] = max(depth[(r.layer, r.node)], depth[key] + 1)
        return sorted(order, key=lambda key: -depth[key])

    def _node(self, key: tuple[str, int]):
        calls, first = self._entries[key[0]].calls, self._first_node.get(key[0], 0)
        if not first <= key[1] < len(calls) + first:
            raise RefgruError(f"layer {key[0]!r}: expected a node index in [{first}, {len(calls) + first}), "
                              f"got {key[1]}")
        return calls[key[1] - first]

    def _values(self, feeds: list[np.ndarray], masks: list | None = None) -> dict:
        """Run every scheduled call; ``values[(layer, node)] = (outputs, masks)``, lists by tensor index."""
        if self.unusable is not None:
            raise self.unusable
        values: dict[tuple[str, int], tuple[list, list]] = {}
        for ref, x, m in zip(self._inputs, feeds, masks or [None] * len(feeds), strict=True):
            values[(ref.layer, 0)] = ([self._built[ref.layer].call(x, None, {})], [m])
        for key in self._order:
            if key not in values:
                values[key] = self._run_node(key, values)
        return values

    def _output_refs(self, values: dict) -> Any:
        """The output refs; a Sequential outputs every tensor of its last layer (a nested model may have several)."""
        if self.kind != "Sequential":
            return self._outputs
        last = self._outputs
        count = len(values[(last.layer, last.node)][0])
        return last if count == 1 else [Ref(last.layer, last.node, i) for i in range(count)]

    def run_masked(self, feeds: list, masks: list) -> tuple[list, list]:
        """As a layer of another model: the flat outputs and their masks, given input arrays and masks."""
        values = self._values(feeds, masks)
        outputs = list(flatten_refs(self._output_refs(values)))
        return [tensor(values, r, 0) for r in outputs], [tensor(values, r, 1) for r in outputs]

    def _run(self, feeds: list[np.ndarray]) -> Any:
        values = self._values(feeds)
        outputs = map_refs(self._output_refs(values), lambda r: tensor(values, r, 0))
        if isinstance(outputs, list) and len(outputs) == 1:
            return outputs[0]  # both Keras versions return a lone output as an array, even from [output]
        return tuple(outputs) if self.tuple_outputs and isinstance(outputs, list) else outputs

    def _run_node(self, key: tuple[str, int], values: dict) -> tuple[list, list]:
        entry, built = self._entries[key[0]], self._built[key[0]]
        if entry.class_name == "InputLayer":
            raise RefgruError(f"input_layers: expected every InputLayer the outputs use, got {key[0]!r} missing")
        call, single, tensor_args = self._plans[key]
        if single is not None:  # one tensor argument and no keywords (most calls): no structure to map
            args, kwargs, arg_masks = [tensor(values, single, 0)], {}, [[tensor(values, single, 1)], {}]
        else:
            args = map_refs(call.args, lambda r: tensor(values, r, 0))
            kwargs = map_refs(call.kwargs, lambda r: tensor(values, r, 0))
            arg_masks = map_refs([call.args, call.kwargs], lambda r: tensor(values, r, 1))
        try:
            if entry.op:
                return [built(*args, **kwargs)], [None]
            result = self._call_layer(built, tensor_args, args, kwargs, arg_masks[0][0], arg_masks)
            for ref in flatten_refs([call.args, call.kwargs]) if getattr(built, "clears_input_masks", False) else ():
                values[(ref.layer, ref.node)][1][ref.tensor] = None  # Keras 3 MultiHeadAttention drops them
            return result
        except RefgruError as exc:
            if str(exc).startswith(("layer ", "op ")):
                raise
            raise RefgruError(f"{where(entry.config, entry.class_name)} {exc}") from None
        except Exception as exc:  # noqa: BLE001  (MemoryError, OverflowError... from sizes in the file or x)
            reason = (str(exc).splitlines() or [""])[0][:160]
            raise RefgruError(f"{where(entry.config, entry.class_name)} input: expected arrays this layer accepts, "
                              f"got {describe(args[0] if args else None)} ({type(exc).__name__}: {reason!r})") from None

    def _plan(self, key: tuple[str, int]) -> tuple[Any, Ref | None, int]:
        """What a call's structure alone tells, worked out once: ``(call, its lone tensor argument or None,
        how many arguments other than ``mask=`` hold tensors)``."""
        call = self._node(key)
        single = call.args[0] if len(call.args) == 1 and isinstance(call.args[0], Ref) and not call.kwargs else None
        others = [v for k, v in call.kwargs.items() if k != "mask"]
        return call, single, sum(holds_ref(a) for a in call.args + others)

    def _call_layer(self, layer: Layer, tensor_args: int, args: list, kwargs: dict, implicit: Any,
                    arg_masks: Any = None) -> tuple[list, list]:
        """Call ``layer`` with the mask Keras would give it; return its outputs and output masks as lists.
        ``tensor_args``: how many arguments but ``mask=`` hold tensors; ``arg_masks``: ``[masks of the
        call's args, masks of its kwargs]``, passed on as ``kwargs["input_masks"]``."""
        explicit = kwargs.get("mask")
        if explicit is not None:
            call_mask = explicit
        elif self.keras_version == 3 and tensor_args > 1:
            call_mask = None  # Keras 3 fills in the mask only when a single argument holds tensors
        else:
            call_mask = implicit
        extra = {k: v for k, v in kwargs.items() if k not in ("mask", "training")} if kwargs else {}
        if len(args) > 1:
            extra["args"] = args[1:]
        if arg_masks is not None:
            extra["input_masks"] = arg_masks
        out = layer.call(args[0], call_mask, extra)
        masks = layer.compute_mask(args[0], implicit if explicit is None else explicit)
        if not isinstance(out, list):
            return [out], [masks]
        return out, masks if isinstance(masks, list) else [masks] + [None] * (len(out) - 1)

    def _feeds(self, x: Any) -> list[np.ndarray]:
        return model_feeds(self, x)

    def __call__(self, x: Any) -> Any:
        """Run the model on ``x`` (an array, a list of arrays, or a dict by input name) in one batch."""
        with unexpected("x"):
            return self._run(self._feeds(x))

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto") -> Any:
        """Keras's ``model.predict``: outputs with the structure Keras returns (see ``docs/porting.md``).

        Runs in batches (``docs/scale.md``); the results do not depend on the batch size, except that a
        stateful GRU, LSTM or SimpleRNN carries its state from batch to batch as in Keras.

        Arguments:
            x: ``(B, ...)`` array, or a list / dict of them for several inputs. A ``dask.array.Array``
                (or a list / dict of them) gives lazy dask arrays, computed block by block
                (:func:`refgru.streaming.predict_dask`; a stateful model is refused there).
            batch_size: rows per batch. ``None``: as many as fit a 128 MB working-memory budget
                (measured on the first rows); all rows at once for a stateful model.
            verbose: ``"auto"`` (a progress bar on stderr when it is a terminal), 0, 1 or 2, as Keras.
        """
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise RefgruError(f"batch_size: expected a positive int or None, got {describe(batch_size)}")
        if streaming.is_dask(x):
            return streaming.predict_dask(self, x, batch_size)
        with unexpected("x"):
            feeds = self._feeds(x)
            xs = feeds[0] if len(feeds) == 1 else dict(zip(self.input_names, feeds, strict=True))
            rows = len(feeds[0])
            if batch_size is None:
                batch_size = rows if self.stateful else streaming.pick_batch_size(self, streaming.DEFAULT_BUDGET,
                                                                                  sample=xs, n_rows=rows)

            def run(batch: Any) -> Any:  # rows of the feeds checked above: no need to check them again
                return self._run([batch[name] for name in self.input_names] if len(feeds) > 1 else [batch])
            return streaming.predict_arrays(run, xs, batch_size, verbose)

    def reset_states(self) -> None:
        """Forget the state that stateful recurrent layers carry between calls."""
        for layer in self.layers:
            layer.reset_states()

    def gru_layers(self) -> list[tuple[str, Any, dict]]:
        """``[(label, GRUWeights, config)]`` for every GRU, in layer order.

        ``label`` is the layer name, or ``<name>/forward`` and ``<name>/backward`` for a Bidirectional;
        ``config`` holds ``activation``, ``recurrent_activation``, ``keras_version``, ``reset_after``,
        ``units``, ``use_bias``, ``return_sequences``, ``return_state``, ``go_backwards``, ``stateful``
        and ``zero_output_for_mask``.
        """
        found, stack = [], [(layer, "") for layer in reversed(self.layers)]
        while stack:
            layer, prefix = stack.pop()
            if isinstance(layer, GRULayer):
                found.append((prefix + layer.label, layer.w, layer.options()))
            inner = f"{prefix}{layer.name}/" if isinstance(layer, NestedModel) else prefix
            stack.extend((sub, inner) for sub in reversed(layer.sublayers))
        return found

    def layer_outputs(self, x: Any) -> dict[str, Any]:
        """Every layer's output on ``x`` by layer name; see :func:`refgru.model.inspect.layer_outputs`."""
        from .inspect import layer_outputs

        return layer_outputs(self, x)

    def trace(self, x: Any, layer: str | None = None):
        """The :class:`refgru.Trace` of GRU ``layer`` (a name or ``<bidirectional>/forward|backward``;
        ``None``: the only GRU) as it runs inside the model on ``x``: its input from the layers before it,
        its mask, initial state and direction as the model gives them. See :mod:`refgru.model.inspect`."""
        from .inspect import trace_layer

        return trace_layer(self, x, layer)

    def summary(self, print_fn: Callable[[str], None] | None = print) -> str:
        """Print (with ``print_fn``) and return a table of layers, parameters, inputs and options."""
        from .summary import summary_text

        text = summary_text(self)
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self) -> str:
        return (f"<refgru Model {self.name!r}: {self.kind}, {len(self.layers)} layers, "
                f"Keras {self.keras_version} semantics>")
