import os

import pytest
from hypothesis import HealthCheck, settings

# Keras builds a layer per example, so examples are slow and deadlines meaningless. Under CI the
# examples are derandomized, so a run is reproducible; locally each run explores new ones.
settings.register_profile("default", deadline=None, max_examples=int(os.environ.get("REFGRU_EXAMPLES", "40")),
                          derandomize=bool(os.environ.get("CI")), print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("default")


@pytest.fixture(scope="session")
def keras_ref():
    """``tests/keras_ref.py`` (real Keras 3, tf-keras and TensorFlow); the test skips when they are not installed.

    Keras is imported here, not at the top of test modules, so the NumPy-only tests next to it still run.
    """
    return pytest.importorskip("keras_ref")
