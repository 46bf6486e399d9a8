"""Registry fixtures: registered models in the run's real MLflow store, mirrored by the sync."""

import uuid

import pytest
from django.conf import settings
from mlflow import MlflowClient

from apps.core.demo import ensure_team
from apps.registry.permissions import MODEL_PERMISSIONS
from apps.registry.sync import registry_sync

DEFAULT_METRICS = (
    {"f1": 0.71, "precision": 0.70, "recall": 0.72, "roc_auc": 0.90},
    {"f1": 0.80, "precision": 0.78, "recall": 0.82, "roc_auc": 0.93},
    {"f1": 0.86, "precision": 0.85, "recall": 0.87, "roc_auc": 0.95},
)


@pytest.fixture(scope="session")
def mlflow_client():
    return MlflowClient(
        tracking_uri=settings.MLFLOW_TRACKING_URI, registry_uri=settings.MLFLOW_TRACKING_URI
    )


def create_mlflow_model(
    client, *, prefix="model", metrics=DEFAULT_METRICS, aliases=None, author="alice"
) -> str:
    """A registered model with one version per metrics dict; returns its unique name."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    experiment = client.get_experiment_by_name("registry-tests")
    experiment_id = (
        experiment.experiment_id if experiment else client.create_experiment("registry-tests")
    )
    client.create_registered_model(name, description=f"{prefix} for tests", tags={"team": "t"})
    for index, values in enumerate(metrics, start=1):
        run = client.create_run(
            experiment_id, run_name=f"{name}-run-{index}", tags={"mlflow.user": author}
        )
        for key, value in values.items():
            client.log_metric(run.info.run_id, key, value)
        client.set_terminated(run.info.run_id)
        client.create_model_version(
            name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
        )
    for alias, version in (aliases or {"production": 1}).items():
        client.set_registered_model_alias(name, alias, str(version))
    return name


@pytest.fixture
def mirrored_model(db, mlflow_client):
    """A mirrored model (v1 in production, v1..v3) whose grants follow the demo:
    the data scientist may view and request, the reviewers team may view and approve."""

    def make(**kwargs):
        from apps.registry.models import RegisteredModel

        name = create_mlflow_model(mlflow_client, **kwargs)
        registry_sync(names=[name])
        return RegisteredModel.objects.get(name=name)

    return make


def grant_demo_access(model, *, data_scientist=None):
    reviewers = ensure_team("reviewers").group
    MODEL_PERMISSIONS.grant("view", reviewers, model)
    MODEL_PERMISSIONS.grant("approve", reviewers, model)
    if data_scientist is not None:
        MODEL_PERMISSIONS.grant("view", data_scientist, model)
        MODEL_PERMISSIONS.grant("request_promotion", data_scientist, model)


@pytest.fixture
def second_reviewer(db):
    from apps.core.roles import REVIEWER
    from tests.conftest import make_user

    return make_user("dan", role=REVIEWER, teams=["reviewers"])
