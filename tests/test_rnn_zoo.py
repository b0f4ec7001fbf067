"""``refgru.load_model`` against Keras for the LSTM / SimpleRNN / RNN(cell) zoo (``rnn_zoo``).

The machinery of ``test_model_zoo``: two builder processes (``rnn_zoo.py``) build and save the models
in Keras 3 and tf-keras and record Keras's outputs; ONE subprocess in which importing ``tensorflow``,
``keras`` or ``tf_keras`` raises ImportError loads every file with refgru (``model_runs.numpy_side``).
Each test compares one file's numbers (float32 1e-5, float64 1e-10) and output structure with Keras's.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")
pytest.importorskip("tf_keras")
pytest.importorskip("h5py")

import model_runs  # noqa: E402
import rnn_zoo  # noqa: E402
from helpers import relative_error  # noqa: E402
from model_zoo import FORMATS  # noqa: E402
from test_model_zoo import check_against_keras, run_split_zoo  # noqa: E402

WORST: dict[str, float] = {}


def split_work() -> list[list[str]]:
    """Every ``lib:model`` item and ``legacy:all`` in two groups, the tf-keras ones (slower) spread over both."""
    items = [f"{lib}:{name}" for lib in FORMATS for name in rnn_zoo.RNN_ZOO] + ["legacy:all"]
    return [items[0::2], items[1::2]]


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """``(results, expected)``: refgru's and Keras's outputs by id."""
    directory = str(tmp_path_factory.mktemp("rnn_zoo"))
    results, expected, _ = run_split_zoo(directory, "rnn_zoo.py", split_work())
    yield results, expected
    print("\n" + "\n".join(f"max relative difference {v:9.3g}  {k}" for k, v in sorted(WORST.items())))


def test_numpy_side_never_imported_tensorflow(zoo):
    results = zoo[0]
    assert str(results["|blocked"]) == ",".join(model_runs.BLOCKED), "the import blocker was not active"
    assert str(results["|leaked_modules"]) == "", f"imported in the NumPy-only process: {results['|leaked_modules']}"


@pytest.mark.parametrize("key", rnn_zoo.zoo_ids())
def test_matches_keras(zoo, key):
    """Numbers (float32 1e-5, float64 1e-10) and output structure equal Keras's for this file."""
    results, expected = zoo
    for leaf in check_against_keras(results, expected, key):
        name = f"{key.split('/')[1].split('.')[0]} {expected[leaf].dtype}"
        WORST[name] = max(WORST.get(name, 0.0), relative_error(results[leaf], expected[leaf])[0])


def test_stateful_initial_state_rule_differs_between_versions(zoo):
    """The quirk is real: after the first batch, tf-keras ignores the new initial_state and Keras 3 uses it,
    so Keras's own second-batch outputs differ from what the other version's rule would give."""
    results, expected = zoo
    for lib in ("keras", "tf_keras"):
        key = f"{lib}/stateful_initial_state.h5"
        second, after_reset = expected[f"{key}|1.0"], expected[f"{key}|2.0"]
        same = np.allclose(second, after_reset, atol=1e-6)
        # the 2nd batch and the batch after reset_states() get the same inputs: Keras 3 gives the same
        # numbers (it always uses the given state), tf-keras does not (it used the carried state)
        assert same == (lib == "keras"), f"{lib}: second batch {'equals' if same else 'differs from'} the reset one"
