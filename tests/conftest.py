import os

from hypothesis import HealthCheck, settings

# Keras builds a layer per example, so examples are slow and deadlines meaningless.
settings.register_profile("default", deadline=None, max_examples=int(os.environ.get("REFGRU_EXAMPLES", "40")),
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("default")
