"""The registry seed hook: mirror, demo policy, grants and one open request, idempotently."""

import io

import pytest

from apps.core.demo import seed_people
from apps.registry.demo import seed_registry
from apps.registry.models import PromotionRequest, PromotionState, RegisteredModel
from apps.registry.permissions import MODEL_PERMISSIONS

pytestmark = pytest.mark.django_db


def make_demo_model(client, name, versions, aliases):
    client.create_registered_model(name)
    experiment = client.get_experiment_by_name("seed-tests") or client.get_experiment(
        client.create_experiment("seed-tests")
    )
    for index in range(versions):
        run = client.create_run(experiment.experiment_id, tags={"mlflow.user": "erin"})
        client.log_metric(run.info.run_id, "roc_auc", 0.8 + index / 100)
        client.create_model_version(
            name, source=f"runs:/{run.info.run_id}/m", run_id=run.info.run_id
        )
    for alias, version in aliases.items():
        client.set_registered_model_alias(name, alias, str(version))


def test_the_seed_hook_sets_up_the_demo_governance_once(mlflow_client):
    make_demo_model(mlflow_client, "fraud-iforest", 4, {"production": 2, "staging": 4})
    make_demo_model(mlflow_client, "network-lof", 3, {"production": 2})
    seed_people(password="demo-password")

    seed_registry(stdout=io.StringIO())
    seed_registry(stdout=io.StringIO())

    fraud = RegisteredModel.objects.get(name="fraud-iforest")
    assert fraud.policy.required_approvals == 2
    assert [g.name for g in fraud.policy.eligible_teams.all()] == ["team:reviewers"]
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.all()}
    for name in ("fraud-iforest", "network-lof"):
        model = RegisteredModel.objects.get(name=name)
        assert MODEL_PERMISSIONS.can(users["alice"], "request_promotion", model)
        assert not MODEL_PERMISSIONS.can(users["alice"], "approve", model)
        assert MODEL_PERMISSIONS.can(users["bob"], "approve", model)
        assert MODEL_PERMISSIONS.can(users["carol"], "promote", model)
        assert not MODEL_PERMISSIONS.can(users["eve"], "view", model)
    open_requests = PromotionRequest.objects.filter(state=PromotionState.REQUESTED)
    assert [(p.model.name, p.version.version, p.target) for p in open_requests] == [
        ("fraud-iforest", 4, "production")
    ]
