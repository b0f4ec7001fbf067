"""``refgru.trace``: every per-step value checked against real Keras, plus the table, plot and docs.

The Keras tests get the gate values out of Keras as a black box, through the layer's output alone.
See :func:`keras_gates`.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_close, random_weights
from hypothesis import given, settings
from hypothesis import strategies as st

import refgru
from refgru.errors import RefgruError
from refgru.teach import seed_question as seed
from refgru.teach.trace import FIELDS, Trace

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def kr():
    """``keras_ref`` (real Keras 3 and tf-keras); the test is skipped when they are not installed."""
    return pytest.importorskip("keras_ref")


# ---------------------------------------------------------------- black-box gate recovery from Keras

def _shifted(kr, version: int, name: str):
    """The activation ``name`` of Keras ``version`` plus 1: ``t -> act(t) + 1``."""
    act = kr.LIBS[version].activations.get(name)
    return lambda t: act(t) + 1.0


def _swap_zr(weights: list[np.ndarray]) -> list[np.ndarray]:
    """The same weights with the z and r column blocks swapped in every array."""
    out = []
    for a in weights:
        u = a.shape[-1] // 3
        out.append(np.concatenate([a[..., u : 2 * u], a[..., :u], a[..., 2 * u :]], axis=-1))
    return out


def _input_only(weights: list[np.ndarray], reset_after: bool) -> list[np.ndarray]:
    """The same input weights with every recurrent term zeroed: U = 0 and, with reset_after, rb = 0."""
    out = [weights[0], np.zeros_like(weights[1])] + [b.copy() for b in weights[2:]]
    if len(out) == 3 and reset_after:
        out[2][1] = 0
    return out


def keras_gates(kr, version, weights, x, h0, dtype, reset_after, activation, recurrent_activation, h_tm1=None):
    """Per-step values of a Keras GRU, read off the Keras layer's output alone.

    The only thing this uses is ``keras_ref.keras_gru``, the real ``GRU`` layer of Keras
    ``version``, run for one step from a given state. ``K(w, act, ract)`` below is that one-step
    output. All the ``(b, t)`` pairs run at once as a batch of length-1 sequences: the input is
    ``x[b, t]``, and the initial state is ``h_tm1``, Keras's own ``return_sequences`` output of the
    step before.

    - ``z``: the output is ``h = z * h_tm1 + (1 - z) * act(a_h)``, and ``z`` does not depend on
      ``act``. Run the step again with the activation ``t -> act(t) + 1``, a callable made from
      Keras's own activation. Then ``h' - h = 1 - z``, so ``z = 1 - (h' - h)``.
    - ``hh``: once ``z`` is known, ``hh = (h - z * h_tm1) / (1 - z)``. Entries with ``z`` within
      1e-3 of 1 are skipped there, since ``hh`` has no effect on ``h`` at those entries.
    - ``r``: ``z`` and ``r`` have the same formula with their own slices, in both variants. So the
      ``z`` of a GRU whose z and r column blocks are swapped in all three arrays is the original
      ``r``.
    - ``a_z`` and ``a_r``: the same with ``recurrent_activation="linear"``. ``a_h``: ``hh``
      with ``activation="linear"`` and the true ``z``.
    - ``x_z``, ``x_r`` and ``x_h``: the same on weights whose recurrent terms are zero
      (``U = 0``, ``rb = 0``), so that the pre-activations are just ``x_t @ W + b``.
    - ``rec_*``: ``pre_* - x_*``.
    """
    batch, steps, features = x.shape
    u = weights[1].shape[0]
    run = lambda w, ins, h, act, ract, **kw: kr.keras_gru(  # noqa: E731
        version, w, ins, initial_state=h, dtype=dtype, reset_after=reset_after, activation=act,
        recurrent_activation=ract, **kw)
    if h_tm1 is None:
        seq = run(weights, x, h0, activation, recurrent_activation, return_sequences=True)
        h_tm1 = np.concatenate([h0[:, None], seq[:, :-1]], axis=1)
    h_tm1 = h_tm1.reshape(batch * steps, u)
    x1 = x.reshape(batch * steps, 1, features)

    def z_of(w, act, ract):
        base = run(w, x1, h_tm1, act, ract)
        shifted = run(w, x1, h_tm1, _shifted(kr, version, act), ract)
        return 1 - (shifted - base), base

    def hh_of(w, act):
        z, base = z_of(w, act, recurrent_activation)
        return (base - z * h_tm1) / (1 - z), z

    w0 = _input_only(weights, reset_after)
    out = {}
    out["z"], base = z_of(weights, activation, recurrent_activation)
    out["hh"] = (base - out["z"] * h_tm1) / (1 - out["z"])
    out["r"], _ = z_of(_swap_zr(weights), activation, recurrent_activation)
    out["a_z"], _ = z_of(weights, activation, "linear")
    out["a_r"], _ = z_of(_swap_zr(weights), activation, "linear")
    out["a_h"] = (run(weights, x1, h_tm1, "linear", recurrent_activation) - out["z"] * h_tm1) / (1 - out["z"])
    out["x_z"], _ = z_of(w0, activation, "linear")
    out["x_r"], _ = z_of(_swap_zr(w0), activation, "linear")
    out["x_h"], z0 = hh_of(w0, "linear")
    for g in "zrh":
        out[f"rec_{g}"] = out[f"a_{g}"] - out[f"x_{g}"]
    keep = {"hh": np.abs(1 - out["z"]) > 1e-3, "a_h": np.abs(1 - out["z"]) > 1e-3, "x_h": np.abs(1 - z0) > 1e-3}
    keep["rec_h"] = keep["a_h"] & keep["x_h"]
    shape = lambda a: a.reshape(batch, steps, u)  # noqa: E731
    if "seq" in locals():
        out["h"] = seq.reshape(batch * steps, u)
    return {k: shape(v) for k, v in out.items()}, {k: shape(v) for k, v in keep.items()}


def assert_trace_matches(tr: Trace, expected: dict, keep: dict, label: str) -> None:
    for name, value in expected.items():
        actual = getattr(tr, name)
        if name in keep:  # entries where z == 1 (a saturated hard_sigmoid): hh does not reach Keras's output
            actual, value = actual[keep[name]], value[keep[name]]
        assert_close(f"{label} {name}", actual, value)


# ---------------------------------------------------------------- tests against Keras

@st.composite
def cases(draw, gates: bool):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batch, steps = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    input_dim, units = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    reset_after, use_bias = draw(st.booleans()), draw(st.booleans())
    dtype = "float64" if gates else draw(st.sampled_from(["float32", "float64"]))
    act = draw(st.sampled_from(["tanh", "linear", "softsign"] if gates else ["tanh", "linear", "relu", "softsign"]))
    ract = draw(st.sampled_from(["sigmoid", "hard_sigmoid"] if gates else ["sigmoid", "hard_sigmoid", "tanh"]))
    weights = random_weights(rng, input_dim, units, reset_after=reset_after, use_bias=use_bias, dtype=dtype)
    x = rng.normal(size=(batch, steps, input_dim)).astype(dtype)
    h0 = rng.normal(size=(batch, units)).astype(dtype) * 0.5 if draw(st.booleans()) else np.zeros((batch, units), dtype)
    return weights, x, h0, dtype, reset_after, act, ract


@pytest.mark.parametrize("version", [3, 2])
@settings(max_examples=15)
@given(case=cases(gates=False))
def test_h_matches_keras_outputs(kr, version, case):
    """Trace ``h`` equals the return_sequences output of Keras; its last step equals the layer's output."""
    weights, x, h0, dtype, reset_after, act, ract = case
    config = dict(reset_after=reset_after, activation=act, recurrent_activation=ract, dtype=dtype)
    sequence = kr.keras_gru(version, weights, x, initial_state=h0, return_sequences=True, **config)
    output = kr.keras_gru(version, weights, x, initial_state=h0, **config)
    tr = refgru.trace(x, weights, initial_state=h0, reset_after=reset_after, activation=act,
                      recurrent_activation=ract, keras_version=version)
    assert_close(f"Keras {version} return_sequences", tr.h, sequence)
    assert_close(f"Keras {version} output", tr.state, output)


@pytest.mark.parametrize("version", [3, 2])
@settings(max_examples=8)
@given(case=cases(gates=True))
def test_gates_match_keras(kr, version, case):
    """z, r, hh, every pre-activation and its input/recurrent parts, as Keras computes them (float64)."""
    weights, x, h0, dtype, reset_after, act, ract = case
    expected, keep = keras_gates(kr, version, weights, x, h0, dtype, reset_after, act, ract)
    tr = refgru.trace(x, weights, initial_state=h0, reset_after=reset_after, activation=act,
                      recurrent_activation=ract, keras_version=version)
    assert set(expected) == set(FIELDS)
    assert_trace_matches(tr, expected, keep, f"Keras {version} reset_after={reset_after} {act}/{ract}")


@pytest.mark.parametrize("version", [3, 2])
def test_seed_trace_matches_keras(kr, version):
    """The tutorial's numbers: the seed GRU on seed.X, gate by gate, against Keras (float32)."""
    h0 = np.zeros((1, 2), np.float32)
    expected, keep = keras_gates(kr, version, seed.WEIGHTS, seed.X, h0, "float32", True, "linear", "sigmoid")
    tr = refgru.trace(seed.X, seed.WEIGHTS, activation="linear", keras_version=version)
    assert all(mask.all() for mask in keep.values())  # every entry compared
    assert_trace_matches(tr, expected, keep, f"seed, Keras {version}")
    np.testing.assert_allclose(expected["z"][0, 0], [0.4204, 0.4891], atol=5e-5)   # tutorial, step 0
    np.testing.assert_allclose(expected["h"][0, -1], [0.3409, -0.0468], atol=5e-5)  # tutorial, last state


def test_recovery_is_not_vacuous(kr):
    """keras_gates really reads Keras: a changed rb_h changes the recovered hh but not z (Keras 3)."""
    rng = np.random.default_rng(5)
    weights = random_weights(rng, 2, 2, dtype="float64")
    x, h0 = rng.normal(size=(1, 2, 2)), rng.normal(size=(1, 2))
    base, _ = keras_gates(kr, 3, weights, x, h0, "float64", True, "tanh", "sigmoid")
    weights[2][1, 4:] += 0.5
    changed, _ = keras_gates(kr, 3, weights, x, h0, "float64", True, "tanh", "sigmoid")
    assert np.allclose(base["z"][:, 0], changed["z"][:, 0]) and np.allclose(base["x_h"], changed["x_h"])
    assert not np.allclose(base["hh"], changed["hh"]) and not np.allclose(base["rec_h"], changed["rec_h"])


# ---------------------------------------------------------------- NumPy-only behaviour

def test_single_sequence_is_batch_row():
    rng = np.random.default_rng(0)
    weights = random_weights(rng, 3, 2, reset_after=False)
    x = rng.normal(size=(2, 4, 3)).astype(np.float32)
    h0 = rng.normal(size=(2, 2)).astype(np.float32)
    batch = refgru.trace(x, weights, initial_state=h0)
    single = refgru.trace(x[1], weights, initial_state=h0[1])
    assert single.single and not batch.single and (single.batch, batch.batch) == (1, 2)
    for name in FIELDS:
        assert getattr(single, name).shape == (4, 2) and getattr(batch, name).shape == (2, 4, 2)
        # equal up to float32 rounding: BLAS may sum a 1-row and a 2-row matmul differently
        np.testing.assert_allclose(getattr(single, name), getattr(batch, name)[1], rtol=1e-6, atol=1e-7, err_msg=name)
    np.testing.assert_array_equal(single.h_tm1[0], h0[1])
    np.testing.assert_array_equal(batch.h_tm1[:, 1:], batch.h[:, :-1])
    assert single.sequence(0)["z"] is single.z and np.array_equal(batch.sequence(1)["x"], x[1])


def test_table_shows_the_trace_values():
    tr = refgru.trace(seed.X, seed.WEIGHTS, activation="linear")
    lines = tr.table().splitlines()
    assert "reset_after=True" in lines[0] and "activation='linear'" in lines[0]
    assert lines[1].split() == ["t", "x_t", "j", "h_tm1", "a_z", "z", "a_r", "r", "a_h", "hh", "h"]
    rows = lines[3:9]
    for t in range(3):
        for j in range(2):
            cells = rows[2 * t + j].split()[-8:]
            values = [tr.h_tm1, tr.a_z, tr.z, tr.a_r, tr.r, tr.a_h, tr.hh, tr.h]
            assert cells == [f"{float(v[0, t, j]):+.4f}" for v in values], (t, j)
    assert "rb_h" in tr.table() and "r * (h_tm1 @ U_h + rb_h)" in tr.table()
    parts = tr.table(parts=True).splitlines()[1].split()
    assert {"x_z", "rec_z", "x_h", "rec_h"} <= set(parts)
    old = refgru.trace(seed.X, seed.WEIGHTS[:2], reset_after=False)
    assert "(r * h_tm1) @ U_h" in old.table() and "rb_z" not in old.table()
    assert str(tr) == tr.table(0)


def test_plot_writes_the_gates(tmp_path):
    pytest.importorskip("matplotlib")
    tr = refgru.trace(seed.X, seed.WEIGHTS, activation="linear")
    fig = tr.plot(tmp_path / "gates.png")
    assert (tmp_path / "gates.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = fig.axes
    assert [ax.get_title().split()[0] for ax in axes] == ["update", "reset", "candidate", "state"]
    for ax, name in zip(axes, ["z", "r", "hh", "h"], strict=False):
        for j, line in enumerate(ax.get_lines()):
            np.testing.assert_array_equal(line.get_ydata(), getattr(tr, name)[0, :, j])


def test_bad_input_names_the_argument():
    with pytest.raises(RefgruError, match=r"^x: expected shape \(T, input_dim\)"):
        refgru.trace(np.zeros(3), seed.WEIGHTS)
    with pytest.raises(RefgruError, match=r"^x: expected features = 1"):
        refgru.trace(np.zeros((3, 2)), seed.WEIGHTS)
    with pytest.raises(RefgruError, match=r"^initial_state: expected shape \(2,\)"):
        refgru.trace(np.zeros((3, 1)), seed.WEIGHTS, initial_state=np.zeros((1, 2)))
    with pytest.raises(RefgruError, match=r"^activation: expected"):
        refgru.trace(np.zeros((3, 1)), seed.WEIGHTS, activation="nope")
    with pytest.raises(RefgruError, match=r"^sequence: expected an index in \[0, 1\)"):
        refgru.trace(np.zeros((3, 1)), seed.WEIGHTS).table(sequence=1)


def test_fields_are_every_value_a_step_computes():
    """FIELDS are the cell's StepGates values (its fields and its pre-activation properties), each recorded in a
    Trace field of that name: the trace keeps every value of a step and invents none."""
    import dataclasses

    step_values = set(refgru.StepGates._fields) | {
        name for name, value in vars(refgru.StepGates).items() if isinstance(value, property)}
    assert len(set(FIELDS)) == len(FIELDS) and set(FIELDS) == step_values
    assert set(FIELDS) <= {field.name for field in dataclasses.fields(Trace)}


def test_trace_is_a_function_and_its_module_is_teach_trace():
    """No shadowing: refgru.trace is the function, its module is refgru.teach.trace, and there is no module
    refgru.trace that an import could confuse with the function."""
    import importlib

    import refgru.teach.trace as module

    assert callable(refgru.trace) and refgru.trace is module.trace
    assert isinstance(module.trace(seed.X, seed.WEIGHTS), Trace)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("refgru.trace")


MASKED_CASES = [("gaps", False, True), ("leading", True, False), ("trailing", False, False), ("full_row", True, True),
                ("random", True, False)]


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("kind, go_backwards, zero_output_for_mask", MASKED_CASES)
def test_masked_backwards_trace_matches_keras(kr, version, kind, go_backwards, zero_output_for_mask):
    """Masks (gaps, leading, trailing, a fully masked row), go_backwards, zero_output_for_mask and hard_sigmoid:
    the trace's h is Keras's return_sequences output, its final state Keras's state, the state each step starts
    from is Keras's state after the steps before (Keras run on the processed prefix), and every gate of every
    step (masked steps too: Keras computes and discards them) is what Keras computes from that state."""
    from helpers import make_mask

    rng = np.random.default_rng(abs(hash((kind, go_backwards, version))) % 2**32)
    batch, steps, features, units = 3, 4, 2, 2
    weights = random_weights(rng, features, units, dtype="float64")
    x, h0 = rng.normal(size=(batch, steps, features)), rng.normal(size=(batch, units)) * 0.5
    mask = make_mask(kind, rng, batch, steps)
    opts = dict(activation="tanh", recurrent_activation="hard_sigmoid", go_backwards=go_backwards,
                zero_output_for_mask=zero_output_for_mask)
    tr = refgru.trace(x, weights, initial_state=h0, mask=mask, keras_version=version, return_state=True, **opts)
    seq, state = kr.keras_gru(version, weights, x, mask=mask, initial_state=h0, dtype="float64",
                              return_sequences=True, return_state=True, **opts)
    assert_close(f"Keras {version} {kind} return_sequences", tr.h, seq)
    assert_close(f"Keras {version} {kind} state", tr.state, state)
    assert_close(f"gru() {kind}", tr.h, refgru.gru(x, weights, initial_state=h0, mask=mask, keras_version=version,
                                                   return_sequences=True, **opts))
    order = (lambda a: a[:, ::-1]) if go_backwards else (lambda a: a)
    x_p, m_p = order(x), order(mask)
    h_tm1 = [h0]
    for t in range(1, steps):  # the processed prefix of t steps, as Keras sees it
        part = slice(steps - t, None) if go_backwards else slice(0, t)
        _, s = kr.keras_gru(version, weights, x[:, part], mask=mask[:, part], initial_state=h0, dtype="float64",
                            return_state=True, **opts)
        h_tm1.append(s)
    h_tm1 = np.stack(h_tm1, axis=1)
    assert_close(f"Keras {version} {kind} h_tm1", tr.h_tm1, h_tm1)
    np.testing.assert_array_equal(tr.keep, m_p)
    np.testing.assert_array_equal(tr.x, x_p)
    expected, keep = keras_gates(kr, version, weights, x_p, h0, "float64", True, "tanh", "hard_sigmoid", h_tm1=h_tm1)
    assert min(int(k.sum()) for k in keep.values()) >= batch * steps // 2  # most entries compared
    assert_trace_matches(tr, expected, keep, f"Keras {version} {kind} go_backwards={go_backwards}")


# ---------------------------------------------------------------- the docs: printed output and prose numbers

FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def run_markdown(path: Path) -> list[tuple[str, str, str]]:
    """Run the python blocks of ``path`` in order in one namespace (in the current directory).

    Returns ``(code, expected, printed)`` for each python block that is directly followed (only
    blank lines between) by a ```text block: that text block is the output the block must print.
    """
    text = path.read_text()
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    namespace: dict = {"__name__": "__doc__"}
    checked = []
    for i, (lang, code, _, end) in enumerate(blocks):
        if lang != "python":
            continue
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(code, f"{path.name} block {i}", "exec"), namespace)
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        if after and after[0] == "text" and not text[end : after[2]].strip():
            checked.append((code, after[1], buffer.getvalue()))
    return checked


@pytest.mark.parametrize("page", ["tutorial.md", "confusions.md"])
def test_doc_output_blocks_are_what_the_code_prints(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    checked = run_markdown(DOCS / page)
    assert len(checked) >= 3
    for code, expected, printed in checked:
        assert printed == expected, f"{page}: the output block after\n{code}\ndiffers from what it prints"


def test_tutorial_prose_numbers_come_from_the_code():
    """Every number with 3+ decimals in the tutorial's prose is printed or asserted by its code blocks."""
    text = (DOCS / "tutorial.md").read_text()
    fenced = "".join(m.group(2) for m in FENCE.finditer(text))
    prose = FENCE.sub("", text)
    numbers = set(re.findall(r"-?\d+\.\d{3,}", prose))
    assert len(numbers) >= 15
    missing = sorted(n for n in numbers if n not in fenced)
    assert not missing, f"tutorial prose numbers not printed or asserted by any block: {missing}"
