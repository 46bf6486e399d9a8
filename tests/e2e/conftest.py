"""Browser journeys use the data fixtures of the apps they walk through."""

from tests.experiments.conftest import mirrored, seeded_store, teams  # noqa: F401
from tests.registry.conftest import mirrored_model, mlflow_client, second_reviewer  # noqa: F401
