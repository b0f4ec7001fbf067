"""refgru.onnx.run.onnx_gru: ONNX's own GRU node tests, random nodes over every attribute against onnxruntime
(float32) and onnx.reference (float64, the attributes it implements), and the errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import refgru
from refgru.onnx.run import FUNCTIONS, onnx_gru
from tests.helpers import relative_error
from tests.onnx_node_cases import STORED, generated_cases, gru_model, ort_run, peers_folder, reference_run, stored_case

#: onnxruntime's float32 kernel approximates tanh and sigmoid; refgru computes them exactly.
TOLERANCE = {np.dtype("float32"): 1e-5, np.dtype("float64"): 1e-10}
#: ONNX's spelling of each function (onnxruntime matches names in any case).
SPELLING = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "affine": "Affine", "leakyrelu": "LeakyRelu",
            "thresholdedrelu": "ThresholdedRelu", "scaledtanh": "ScaledTanh", "hardsigmoid": "HardSigmoid",
            "elu": "Elu", "softsign": "Softsign", "softplus": "Softplus"}
MEASURED: dict[str, float] = {}  # worst difference per comparison, printed with -s


@pytest.fixture(scope="module")
def onnx():
    return pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def ort():
    return pytest.importorskip("onnxruntime")


def same(what: str, actual: dict[str, np.ndarray], expected: dict[str, np.ndarray], dtype) -> None:
    for name, value in expected.items():
        assert actual[name].shape == value.shape, f"{what} {name}: shape {actual[name].shape} != {value.shape}"
        assert actual[name].dtype == value.dtype, f"{what} {name}: dtype {actual[name].dtype} != {value.dtype}"
        worst, where = relative_error(actual[name], value)
        MEASURED[what] = max(MEASURED.get(what, 0.0), worst)
        assert worst <= TOLERANCE[np.dtype(dtype)], f"{what} {name}: differs by {worst:.3g} at {where}"


def run(model, feeds) -> dict[str, np.ndarray]:
    y, y_h = onnx_gru(model, feeds)
    return {"Y": y, "Y_h": y_h}


def by_output(model, result: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """refgru's (Y, Y_h) under the names of the node's outputs."""
    node = model.graph.node[0]
    return {name: result[role] for role, name in zip(("Y", "Y_h"), node.output, strict=False) if name}


# ------------------------------------------------------------------------------ ONNX's own node tests

@pytest.mark.parametrize("name", [*STORED, "test_gru_reverse", "test_gru_bidirectional"])
def test_onnx_generated_node_cases(onnx, ort, name):
    """ONNX's generator (onnx/backend/test/case/node/gru.py, seeded as ONNX seeds it). None of these nodes
    has sequence_lens, activations or clip, so ONNX's expected outputs (its NumPy helper) are right."""
    model, feeds, expected = generated_cases()[name]
    actual = by_output(model, run(model, feeds))
    same(f"{name} vs ONNX's expected", actual, expected, np.float32)
    if model.graph.node[0].attribute and any(a.name == "layout" and a.i for a in model.graph.node[0].attribute):
        return  # onnxruntime refuses layout=1 (its CPU GRU kernel: "Batchwise ... not supported")
    same(f"{name} vs onnxruntime", actual, ort_run(model, feeds), np.float32)


@pytest.mark.parametrize("name", STORED)
def test_onnx_stored_node_bytes(onnx, name):
    """The last stored bytes of ONNX's node tests (../shared/peers/onnx-gru-node-tests): ONNX's generator
    still makes the same model and inputs, and refgru matches the stored outputs."""
    folder = peers_folder()
    if folder is None:
        pytest.skip("../shared/peers/onnx-gru-node-tests is absent")
    model, feeds, expected = stored_case(folder / name)
    generated, generated_feeds, _ = generated_cases()[name]
    assert generated.graph == model.graph, f"{name}: ONNX's generator now makes another graph"
    for key, value in feeds.items():
        assert np.array_equal(generated_feeds[key], value), f"{name}: regenerated input {key} differs"
    same(f"{name} vs stored .pb", by_output(model, run(model, feeds)), expected, np.float32)


# ------------------------------------------------------------------------------------ random nodes

@st.composite
def nodes(draw, dtype=np.float32, everything: bool = True):
    """A random GRU node: attributes (``everything=False``: only those onnx.reference implements), arrays,
    and which arrays are initializers."""
    direction = draw(st.sampled_from(["forward", "reverse", "bidirectional"]))
    d = 2 if direction == "bidirectional" else 1
    steps, batch, features, units = (draw(st.integers(1, n)) for n in (5, 3, 3, 3))
    layout, lbr = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    attributes = {"direction": direction, "layout": layout, "linear_before_reset": lbr}
    if draw(st.booleans()):
        attributes["hidden_size"] = units
    if not draw(st.booleans()):  # the defaults, left out
        attributes = {k: v for k, v in attributes.items() if v not in (0, "forward")}
    if everything:
        names = draw(st.lists(st.sampled_from(sorted(FUNCTIONS)), min_size=2 * d, max_size=2 * d))
        if draw(st.booleans()) or set(names) != {"sigmoid", "tanh"}:
            attributes["activations"] = [SPELLING[n] for n in names]
        for key, slot in (("activation_alpha", 1), ("activation_beta", 2)):
            takers = sum(FUNCTIONS[n][slot] for n in names)
            given_values = draw(st.lists(st.floats(-1.5, 1.5, width=32), max_size=takers))
            if given_values:
                attributes[key] = given_values
        if draw(st.booleans()):
            attributes["clip"] = draw(st.floats(0.0625, 4.0, width=32))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x_shape = (batch, steps, features) if layout else (steps, batch, features)
    h_shape = (batch, d, units) if layout else (d, batch, units)
    arrays = {"X": rng.normal(size=x_shape), "W": rng.normal(size=(d, 3 * units, features)) * 0.7,
              "R": rng.normal(size=(d, 3 * units, units)) * 0.7}
    arrays["B"] = rng.normal(size=(d, 6 * units)) * 0.5 if draw(st.booleans()) else None
    arrays["initial_h"] = rng.normal(size=h_shape) if draw(st.booleans()) else None
    arrays = {k: None if v is None else v.astype(dtype) for k, v in arrays.items()}
    lengths = st.lists(st.integers(0, steps), min_size=batch, max_size=batch)
    arrays["sequence_lens"] = np.array(draw(lengths), np.int32) if everything and draw(st.booleans()) else None
    present = [k for k, v in arrays.items() if v is not None and k != "X"]
    initializers = tuple(draw(st.lists(st.sampled_from(present), unique=True))) if present else ()
    outputs = draw(st.sampled_from([("Y", "Y_h"), ("", "Y_h"), ("Y",)]))
    return attributes, arrays, initializers, outputs


def as_layout_0(attributes: dict, arrays: dict) -> tuple[dict, dict]:
    """The same node in layout 0 (X and initial_h time-major), for onnxruntime, which refuses layout 1."""
    arrays = dict(arrays, X=arrays["X"].transpose(1, 0, 2))
    if arrays["initial_h"] is not None:
        arrays["initial_h"] = np.ascontiguousarray(arrays["initial_h"].transpose(1, 0, 2))
    return {k: v for k, v in attributes.items() if k != "layout"}, arrays


def float64(arrays: dict) -> dict:
    return {k: None if v is None or v.dtype.kind != "f" else v.astype(np.float64) for k, v in arrays.items()}


@given(nodes())
def test_random_nodes_equal_onnxruntime(onnx, ort, case):
    """Within 1e-5 of onnxruntime; where not (gates such as Relu or Elu leave [0, 1] and the recurrence
    amplifies float32 rounding, or onnxruntime's log(1 + exp(a)) overflows), refgru's float32 result must
    be at least as close as onnxruntime's to the same node run in float64."""
    attributes, arrays, initializers, outputs = case
    attributes = dict(attributes, hidden_size=arrays["R"].shape[-1])  # onnxruntime requires it
    model, feeds = gru_model(attributes, arrays, initializers=initializers, outputs=outputs)
    actual = by_output(model, run(model, feeds))
    if attributes.get("layout"):  # run the time-major twin in onnxruntime and compare in layout 1
        attributes0, arrays0 = as_layout_0(attributes, arrays)
        model0, feeds0 = gru_model(attributes0, arrays0, initializers=initializers, outputs=outputs)
        expected = {k: v.transpose(2, 0, 1, 3) if v.ndim == 4 else v.transpose(1, 0, 2)
                    for k, v in ort_run(model0, feeds0).items()}
    else:
        expected = ort_run(model, feeds)
    if not all(np.isfinite(v).all() for v in expected.values()):
        assert "Softplus" in attributes.get("activations", []), "onnxruntime overflowed without a Softplus"
    what = "random nodes vs onnxruntime"
    for name, value in expected.items():
        assert actual[name].shape == value.shape and actual[name].dtype == value.dtype, f"{what} {name}"
        worst, where = relative_error(actual[name], value)
        MEASURED[what] = max(MEASURED.get(what, 0.0), worst if np.isfinite(worst) else 0.0)
        if worst > TOLERANCE[value.dtype]:
            model64, feeds64 = gru_model(attributes, float64(arrays), initializers=initializers, outputs=outputs)
            exact = by_output(model64, run(model64, feeds64))[name].astype(np.float32)
            ours, theirs = relative_error(actual[name], exact)[0], relative_error(value, exact)[0]
            MEASURED[f"{what}, refgru float32 vs float64 where onnxruntime is > 1e-5 off"] = max(
                MEASURED.get(f"{what}, refgru float32 vs float64 where onnxruntime is > 1e-5 off", 0.0), ours)
            assert ours <= max(theirs, TOLERANCE[value.dtype]), (
                f"{what} {name}: differs by {worst:.3g} at {where}; from float64 refgru {ours:.3g}, onnxruntime "
                f"{theirs:.3g}")


@given(nodes(np.float64, everything=False))
def test_random_nodes_equal_onnx_reference_float64(onnx, case):
    """onnx.reference implements layout, direction, B, initial_h, hidden_size and linear_before_reset
    (it ignores sequence_lens, activations and clip, so those are left out here)."""
    attributes, arrays, initializers, outputs = case
    model, feeds = gru_model(attributes, arrays, initializers=initializers, outputs=outputs)
    same("random nodes vs onnx.reference (float64)", by_output(model, run(model, feeds)),
         reference_run(model, feeds), np.float64)


# ------------------------------------------------------------------------- pinned onnxruntime facts

def small_case(attributes: dict, lengths=None, seed: int = 5, initial_h: bool = True):
    d = 2 if attributes.get("direction") == "bidirectional" else 1
    rng = np.random.default_rng(seed)
    arrays = {"X": rng.normal(size=(4, 3, 2)), "W": rng.normal(size=(d, 9, 2)), "R": rng.normal(size=(d, 9, 3)),
              "B": rng.normal(size=(d, 18)), "initial_h": rng.normal(size=(d, 3, 3)) if initial_h else None}
    arrays = {k: None if v is None else v.astype(np.float32) for k, v in arrays.items()}
    arrays["sequence_lens"] = None if lengths is None else np.array(lengths, np.int32)
    return gru_model({"hidden_size": 3, **attributes}, arrays)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_alpha_beta_defaults_are_onnxruntimes(ort, name):
    """No activation_alpha/beta: onnxruntime's defaults (LeakyRelu 0.01, HardSigmoid 0.2/0.5, Elu 1, else 0;
    ONNX's ThresholdedRelu operator would default alpha to 1). One given alpha goes to the first taker."""
    for attributes in ({"activations": [SPELLING[name]] * 2},
                       {"activations": ["Sigmoid", SPELLING[name]], "activation_alpha": [0.6], "clip": 0.8}):
        if FUNCTIONS[name][1] is False:
            attributes.pop("activation_alpha", None)
        model, feeds = small_case(attributes, [4, 2, 1])
        same(f"defaults of {name} vs onnxruntime", by_output(model, run(model, feeds)), ort_run(model, feeds),
             np.float32)


def test_reverse_with_sequence_lens_reads_each_valid_prefix_backwards(ort):
    """onnxruntime reverses each sequence's first sequence_lens[b] steps; Y is zero past the length and
    Y_h is zero for a length of 0 (ONNX leaves that case undefined)."""
    model, feeds = small_case({"direction": "bidirectional", "linear_before_reset": 1}, [4, 0, 2])
    actual, expected = run(model, feeds), ort_run(model, feeds)
    same("reverse with sequence_lens vs onnxruntime", actual, expected, np.float32)
    assert not actual["Y"][2:, :, 2].any() and not actual["Y"][:, :, 1].any() and not actual["Y_h"][:, 1].any()
    short, _ = small_case({"direction": "reverse", "linear_before_reset": 1})  # the prefix alone, as its own node
    prefix = dict(feeds, X=feeds["X"][:2, 2:], initial_h=feeds["initial_h"][1:, 2:], W=feeds["W"][1:],
                  R=feeds["R"][1:], B=feeds["B"][1:])
    y, y_h = onnx_gru(short.graph.node[0], {k: v for k, v in prefix.items() if k != "sequence_lens"})
    # B = 1 runs the fused row loop and B = 3 the column loop (refgru/core/columns.py): equal up to the fast
    # path's rounding bound (tests/test_fast_path.py: 8 eps per step, relative to max(1, |h|)), 2 steps here.
    bound = 8 * 2 * np.finfo(np.float32).eps
    np.testing.assert_allclose(y[:, 0, 0], actual["Y"][:2, 1, 2], rtol=0, atol=bound)
    np.testing.assert_allclose(y_h[0, 0], actual["Y_h"][1, 2], rtol=0, atol=bound)


def test_node_proto_and_feeds_of_every_input(onnx):
    model, feeds = small_case({"clip": 1.5}, [3, 4, 1])
    node = model.graph.node[0]
    y, y_h = onnx_gru(node, feeds)
    expected = run(model, feeds)
    assert np.array_equal(y, expected["Y"]) and np.array_equal(y_h, expected["Y_h"])


# ------------------------------------------------------------------------------------------ errors

def raises(argument: str, call) -> None:
    with pytest.raises(refgru.RefgruError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{argument}: expected"), message


def test_bad_input_is_refused_naming_the_argument(onnx):
    from onnx import helper

    model, feeds = small_case({}, [4, 2, 1])

    def node(**attributes):
        m, f = small_case(attributes, [4, 2, 1])
        return lambda: onnx_gru(m, f)

    raises("node_or_model", lambda: onnx_gru("GRU", feeds))
    raises("node_or_model", lambda: onnx_gru(helper.make_node("LSTM", ["X"], ["Y"]), feeds))
    two = helper.make_model(helper.make_graph([model.graph.node[0]] * 2, "g", [], []))
    raises("node_or_model", lambda: onnx_gru(two, feeds))
    raises("node_or_model", node(output_sequence=1))
    raises("direction", node(direction="sideways"))
    raises("layout", node(layout=2))
    raises("linear_before_reset", node(linear_before_reset=3))
    raises("clip", node(clip=0.0))
    raises("hidden_size", node(hidden_size=0))
    raises("W", node(hidden_size=4))
    raises("activations", node(activations=["Sigmoid"]))
    raises("activations", node(activations=["Sigmoid", "Selu"]))
    raises("activation_alpha", node(activations=["Sigmoid", "Tanh"], activation_alpha=[0.5]))
    raises("activation_beta", node(activations=["LeakyRelu", "Elu"], activation_beta=[0.5]))
    raises("direction", node(direction=1))
    raises("inputs", lambda: onnx_gru(model, {k: v for k, v in feeds.items() if k != "R"}))
    raises("inputs", lambda: onnx_gru(model, dict(feeds, Z=feeds["X"])))
    raises("inputs", lambda: onnx_gru(model, list(feeds.values())))
    raises("sequence_lens", lambda: onnx_gru(model, dict(feeds, sequence_lens=np.array([5, 1, 1], np.int32))))
    raises("sequence_lens", lambda: onnx_gru(model, dict(feeds, sequence_lens=np.array([4.0, 1, 1]))))
    raises("sequence_lens", lambda: onnx_gru(model, dict(feeds, sequence_lens=np.array([4, 1], np.int32))))
    raises("W", lambda: onnx_gru(model, dict(feeds, W=feeds["W"].astype(np.float64))))
    raises("initial_h", lambda: onnx_gru(model, dict(feeds, initial_h=feeds["initial_h"][:, :2])))
    raises("X", lambda: onnx_gru(model, dict(feeds, X=feeds["X"][:0])))
    raises("X", lambda: onnx_gru(model, dict(feeds, X=[[1.0], [2.0, 3.0]])))
    old, old_feeds = gru_model({}, {k: feeds.get(k) for k in ("X", "W", "R")}, opset=5)
    raises("node_or_model", lambda: onnx_gru(old, old_feeds))
    m13, f13 = gru_model({"layout": 0}, {k: feeds.get(k) for k in ("X", "W", "R")}, opset=13)
    raises("layout", lambda: onnx_gru(m13, f13))
    constant, constant_feeds = gru_model({}, {k: feeds.get(k) for k in ("X", "W", "R")}, initializers=("W",))
    raises("inputs", lambda: onnx_gru(constant, dict(constant_feeds, W=feeds["W"])))


def test_report_measured_differences():
    """Runs last: prints the worst difference of every comparison above (pytest -s)."""
    for what, worst in sorted(MEASURED.items()):
        print(f"{what}: max relative difference {worst:.3g}")


# ------------------------------------------------------------------------- GRUWeights.from_onnx_node

@pytest.mark.parametrize("name", STORED)
def test_weights_from_onnx_node_read_every_attribute(onnx, name):
    """ONNX's own nodes leave linear_before_reset out (ONNX's default 0): from_onnx_node reads the node,
    and refgru.gru with those weights gives ONNX's expected outputs; assuming 1 would be off."""
    model, feeds, expected = generated_cases()[name]
    node = model.graph.node[0]
    layout = {a.name: a.i for a in node.attribute}.get("layout", 0)
    x = feeds["X"] if layout else feeds["X"].transpose(1, 0, 2)
    w = refgru.GRUWeights.from_onnx_node(model, feeds)
    assert not w.reset_after and "linear_before_reset" not in [a.name for a in node.attribute]
    h0 = None if "initial_h" not in feeds else feeds["initial_h"][:, 0] if layout else feeds["initial_h"][0]
    y, h = refgru.gru(x, w, return_sequences=True, return_state=True, initial_state=h0)
    got = {"Y": y[:, :, None] if layout else y.transpose(1, 0, 2)[:, None], "Y_h": h[:, None] if layout else h[None]}
    same(f"{name} from_onnx_node + refgru.gru vs ONNX's expected", by_output(model, got), expected, np.float32)
    assert refgru.GRUWeights.from_onnx_node(node, feeds).to_keras()[0].shape == w.kernel.shape  # a bare NodeProto
    if name == "test_gru_seq_length":  # the silent default of earlier releases: off by 4.3e-3
        wrong = refgru.GRUWeights.from_onnx(feeds["W"], feeds["R"], feeds["B"], linear_before_reset=1)
        assert np.abs(refgru.gru(x, wrong) - h).max() > 1e-3


def test_weights_from_onnx_node_refuse_what_weights_cannot_hold(onnx):
    model, feeds = small_case({}, [4, 2, 1])

    def weights(**attributes):
        m, f = small_case(attributes, [4, 2, 1])
        return lambda: refgru.GRUWeights.from_onnx_node(m, f)

    assert weights(activations=["sigmoid", "TANH"])().units == 3
    raises("activations", weights(activations=["HardSigmoid", "Tanh"]))
    raises("clip", weights(clip=2.0))
    raises("W", weights(hidden_size=4))
    raises("node_or_model", lambda: refgru.GRUWeights.from_onnx_node(model.graph, feeds))
    raises("inputs", lambda: refgru.GRUWeights.from_onnx_node(model, {k: v for k, v in feeds.items() if k != "R"}))
