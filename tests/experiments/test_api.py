import pytest
from rest_framework.test import APIClient

from apps.experiments.models import Run
from tests.experiments.conftest import HISTORY_STEPS

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(data_scientist):
    client = APIClient()
    client.force_authenticate(data_scientist)
    return client


def test_it_lists_only_the_experiments_of_my_teams(api, mirrored):
    response = api.get("/api/v1/experiments/")

    assert response.status_code == 200
    names = [row["name"] for row in response.json()]
    assert "t-fraud" in names
    assert "t-network" not in names and "t-orphan" not in names
    fraud = next(row for row in response.json() if row["name"] == "t-fraud")
    assert fraud["team"] == "fraud" and fraud["run_count"] == 23


def test_it_searches_runs_with_mlflow_syntax(api, mirrored):
    response = api.get(
        "/api/v1/runs/",
        {
            "filter": "params.algorithm = 'iforest'",
            "order_by": "metrics.f1 DESC",
            "page_size": 5,
            "count": "true",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6  # 24 runs, every fourth is iforest; the deleted one is lof
    f1s = [run["metrics"]["f1"] for run in body["results"]]
    assert f1s == sorted(f1s, reverse=True) and len(f1s) == 5
    assert {run["experiment_name"] for run in body["results"]} == {"t-fraud"}


def test_only_the_last_page_counts_unless_asked(api, mirrored):
    first = api.get("/api/v1/runs/", {"page_size": 5}).json()
    counted = api.get("/api/v1/runs/", {"page_size": 5, "count": "true"}).json()
    last = api.get("/api/v1/runs/", {"page_size": 5, "page": 5}).json()

    assert first["count"] is None and first["next"] and len(first["results"]) == 5
    assert counted["count"] == 23 and counted["results"] == first["results"]
    assert last["count"] == 23 and last["next"] is None and len(last["results"]) == 3


def test_pages_follow_each_other_without_gaps(api, mirrored):
    pages = [
        api.get("/api/v1/runs/", {"order_by": "metrics.f1 DESC", "page_size": 7, "page": n})
        for n in (1, 2, 3, 4)
    ]
    paged = [run["run_id"] for page in pages for run in page.json()["results"]]
    whole = api.get("/api/v1/runs/", {"order_by": "metrics.f1 DESC", "page_size": 100}).json()

    assert paged == [run["run_id"] for run in whole["results"]]
    assert [bool(page.json()["next"]) for page in pages] == [True, True, True, False]


def test_a_malformed_filter_answers_400_with_its_position(api, mirrored):
    response = api.get("/api/v1/runs/", {"filter": "metrics.f1 > 0.5 and params.x > '1'"})

    assert response.status_code == 400
    assert response.json()["position"] == 30  # the comparator of the second clause
    assert "comparator" in str(response.json()["filter"])


def test_page_size_is_capped_at_1000(api, mirrored):
    response = api.get("/api/v1/runs/", {"page_size": 5000})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 23


def test_it_shows_a_run_and_its_downsampled_history(api, mirrored):
    run_id = mirrored["t-fraud"]["runs"][0]

    detail = api.get(f"/api/v1/runs/{run_id}/").json()
    history = api.get(f"/api/v1/runs/{run_id}/metrics/val_loss/history/?max_points=10").json()
    zoomed = api.get(
        f"/api/v1/runs/{run_id}/metrics/val_loss/history/?step_min=5&step_max=9"
    ).json()
    single = api.get(f"/api/v1/runs/{run_id}/metrics/f1/history/").json()
    start = history["timestamps"][0]
    by_time = api.get(
        f"/api/v1/runs/{run_id}/metrics/val_loss/history/",
        {"time_min": start + 300, "time_max": start + 500},
    ).json()

    assert detail["metric_points"]["val_loss"] == HISTORY_STEPS
    assert history["count"] == HISTORY_STEPS and history["returned"] <= 10
    assert history["steps"][0] == 0 and history["steps"][-1] == HISTORY_STEPS - 1
    assert zoomed["steps"] == [5, 6, 7, 8, 9]
    assert by_time["axis"] == "time" and by_time["steps"] == [3, 4, 5]
    assert single["count"] == 1
    assert single["values"] == [pytest.approx(Run.objects.get(pk=run_id).metrics["f1"])]


def test_it_compares_runs_marking_differences_and_best_values(api, mirrored):
    run_ids = mirrored["t-fraud"]["runs"][:3]

    body = api.get("/api/v1/compare/", {"runs": ",".join(run_ids)}).json()

    assert [run["run_id"] for run in body["runs"]] == run_ids
    algorithm = next(row for row in body["params"] if row["key"] == "algorithm")
    assert algorithm["differs"] and algorithm["values"] == ["iforest", "lof", "ocsvm"]
    f1 = next(row for row in body["metrics"] if row["key"] == "f1")
    assert f1["direction"] == "max"
    assert f1["values"][f1["best"][0]] == max(f1["values"])
    loss = next(row for row in body["metrics"] if row["key"] == "val_loss")
    assert loss["direction"] == "min"


def test_compare_needs_two_to_fifty_runs(api, mirrored):
    one = api.get("/api/v1/compare/", {"runs": mirrored["t-fraud"]["runs"][0]})
    many = api.get("/api/v1/compare/", {"runs": ",".join(f"r{i}" for i in range(51))})

    assert one.status_code == 400 and many.status_code == 400


def test_compare_histories_returns_one_trace_per_run(api, mirrored):
    run_ids = mirrored["t-fraud"]["runs"][:3]

    body = api.get("/api/v1/compare/histories/", {"runs": ",".join(run_ids), "key": "val_loss"})

    assert [series["run_id"] for series in body.json()] == run_ids


def test_the_endpoints_are_in_the_openapi_schema(client, data_scientist):
    client.force_login(data_scientist)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    for path in (
        "/api/v1/experiments/",
        "/api/v1/runs/",
        "/api/v1/runs/{run_id}/",
        "/api/v1/runs/{run_id}/metrics/{key}/history/",
        "/api/v1/compare/",
    ):
        assert path in schema["paths"]
