"""A user without a grant sees none of an experiment's runs, through any page or endpoint."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _pages(store):
    fraud = store["t-fraud"]
    run_id = fraud["runs"][0]
    pair = ",".join(fraud["runs"][:2])
    return {
        "run": reverse("experiments:run-detail", args=[run_id]),
        "artifact": reverse("experiments:artifact-download", args=[run_id, "notes/readme.txt"]),
        "compare": f"{reverse('experiments:compare')}?runs={pair}",
        "compare-csv": f"{reverse('experiments:compare-csv')}?runs={pair}",
        "api-run": f"/api/v1/runs/{run_id}/",
        "api-history": f"/api/v1/runs/{run_id}/metrics/val_loss/history/",
        "api-compare": f"/api/v1/compare/?runs={pair}",
        "api-compare-histories": f"/api/v1/compare/histories/?runs={pair}&key=val_loss",
    }


def test_an_outsider_gets_404_for_every_run_page_and_endpoint(client, outsider, mirrored):
    client.force_login(outsider)

    statuses = {name: client.get(url).status_code for name, url in _pages(mirrored).items()}

    assert statuses == dict.fromkeys(statuses, 404)


def test_an_outsider_finds_nothing_in_lists_and_searches(client, outsider, mirrored):
    client.force_login(outsider)
    api = APIClient()
    api.force_authenticate(outsider)
    fraud_id = mirrored["t-fraud"]["id"]

    experiments_page = client.get(reverse("experiments:list")).content.decode()
    runs_page = client.get(reverse("experiments:runs"), {"filter": "metrics.f1 > 0"})
    experiment_runs = client.get(reverse("experiments:runs"), {"experiment": fraud_id})

    assert "t-fraud" not in experiments_page
    assert "0 runs" in runs_page.content.decode()
    assert experiment_runs.status_code == 404
    assert api.get("/api/v1/experiments/").json() == []
    assert api.get("/api/v1/runs/", {"experiment": fraud_id}).json()["count"] == 0


def test_a_data_scientist_cannot_reach_another_teams_runs(client, data_scientist, mirrored):
    client.force_login(data_scientist)
    network_run = mirrored["t-network"]["runs"][0]
    mixed = ",".join([mirrored["t-fraud"]["runs"][0], network_run])

    assert client.get(reverse("experiments:run-detail", args=[network_run])).status_code == 404
    assert client.get(reverse("experiments:compare"), {"runs": mixed}).status_code == 404
    assert client.get(f"/api/v1/runs/{network_run}/").status_code == 404


def test_reviewers_and_admins_see_every_experiment(client, reviewer, platform_admin, mirrored):
    network_run = mirrored["t-network"]["runs"][0]
    for user in (reviewer, platform_admin):
        client.force_login(user)
        assert client.get(f"/api/v1/runs/{network_run}/").status_code == 200


def test_the_api_requires_authentication(mirrored):
    assert APIClient().get("/api/v1/runs/").status_code == 401
