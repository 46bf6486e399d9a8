"""Registry API: the same services as the pages, answered in JSON."""

import pytest
from rest_framework.test import APIClient

from apps.registry import services
from apps.registry.models import ApprovalPolicy
from tests.registry.conftest import grant_demo_access

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(mirrored_model, data_scientist):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    ApprovalPolicy.objects.create(model=model, required_approvals=2)
    return model


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_request_goes_through_approvals_to_approved(
    model, data_scientist, reviewer, second_reviewer
):
    created = api(data_scientist).post(
        "/api/v1/promotions/",
        {"model": model.name, "version": 3, "target": "production", "justification": "f1 up"},
        format="json",
    )
    assert created.status_code == 201, created.data
    pk = created.data["id"]
    assert created.data["evidence"]["holder"]["version"] == 1

    first = api(reviewer).post(f"/api/v1/promotions/{pk}/approve/", {"comment": "ok"})
    assert (first.status_code, first.data["state"]) == (200, "requested")
    second = api(second_reviewer).post(f"/api/v1/promotions/{pk}/approve/", {})
    assert (second.status_code, second.data["state"]) == (200, "approved")
    assert [a["reviewer"] for a in second.data["approvals"]] == ["bob", "dan"]


def test_approving_a_decided_request_is_409_with_the_state(
    model, data_scientist, reviewer, second_reviewer
):
    promotion = services.promotion_request(
        user=data_scientist, model=model, version=3, target="production", justification="j"
    )
    api(reviewer).post(f"/api/v1/promotions/{promotion.pk}/reject/", {"comment": "no"})

    response = api(second_reviewer).post(f"/api/v1/promotions/{promotion.pk}/approve/", {})

    assert response.status_code == 409
    assert response.json()["state"] == "rejected"


def test_rejecting_needs_a_comment(model, data_scientist, reviewer):
    promotion = services.promotion_request(
        user=data_scientist, model=model, version=3, target="production", justification="j"
    )

    response = api(reviewer).post(f"/api/v1/promotions/{promotion.pk}/reject/", {"comment": ""})

    assert response.status_code == 400
    assert "comment" in response.json()


def test_the_model_endpoints_show_versions_aliases_history_and_policy(model, data_scientist):
    client = api(data_scientist)

    detail = client.get(f"/api/v1/models/{model.name}/").json()
    versions = client.get(f"/api/v1/models/{model.name}/versions/").json()["results"]
    history = client.get(f"/api/v1/models/{model.name}/alias-history/").json()["results"]
    policy = client.get(f"/api/v1/models/{model.name}/policy/").json()

    assert detail["aliases"] == {"production": 1}
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert history[0]["how"] == "discovered"
    assert (policy["required_approvals"], policy["is_default"]) == (2, False)


def test_an_owner_replaces_the_policy(model, platform_admin, reviewer):
    response = api(platform_admin).put(
        f"/api/v1/models/{model.name}/policy/",
        {
            "required_approvals": 1,
            "eligible_teams": ["team:reviewers"],
            "metric_gates": "f1 >= 0.8",
        },
        format="json",
    )

    assert response.status_code == 200, response.data
    assert response.data["eligible_teams"] == ["team:reviewers"]


def test_a_gate_that_is_not_a_comparison_is_refused(model, platform_admin):
    response = api(platform_admin).put(
        f"/api/v1/models/{model.name}/policy/",
        {"required_approvals": 1, "metric_gates": "f1 >= 0.8; import os"},
        format="json",
    )

    assert response.status_code == 400
    assert "metric_gates" in response.json()


def test_every_registry_endpoint_is_in_the_schema(client, data_scientist):
    client.force_login(data_scientist)

    schema = client.get("/api/schema/?format=json").json()

    for path in (
        "/api/v1/models/",
        "/api/v1/models/{name}/",
        "/api/v1/models/{name}/versions/",
        "/api/v1/models/{name}/alias-history/",
        "/api/v1/models/{name}/policy/",
        "/api/v1/models/{name}/rollback/",
        "/api/v1/promotions/",
        "/api/v1/promotions/{id}/approve/",
        "/api/v1/promotions/{id}/reject/",
    ):
        assert path in schema["paths"], path
