import os

from hypothesis import HealthCheck, settings

# Keras builds a layer per example, so examples are slow and deadlines meaningless. Under CI the
# examples are derandomized, so a run is reproducible; locally each run explores new ones.
settings.register_profile("default", deadline=None, max_examples=int(os.environ.get("REFGRU_EXAMPLES", "40")),
                          derandomize=bool(os.environ.get("CI")), print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("default")
