import pytest
from django.urls import reverse

from apps.experiments.models import Run

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, data_scientist):
    client.force_login(data_scientist)
    return client


def test_the_list_shows_my_teams_experiments_with_counts(alice_client, mirrored):
    page = alice_client.get(reverse("experiments:list")).content.decode()

    assert "t-fraud" in page and "t-network" not in page
    assert "Mirror last synced" in page


def test_the_runs_page_filters_with_mlflow_syntax(alice_client, mirrored):
    fraud = mirrored["t-fraud"]["id"]
    response = alice_client.get(
        reverse("experiments:runs"),
        {"experiment": fraud, "filter": "params.algorithm = 'lof'", "columns": "metrics.f1"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "lof-fraud-01" in page and "iforest-fraud-00" not in page


def test_the_column_pickers_list_the_runs_keys_but_not_mlflows_own_tags(alice_client, mirrored):
    fraud = mirrored["t-fraud"]["id"]
    keys = alice_client.get(reverse("experiments:runs"), {"experiment": fraud}).context["keys"]

    assert keys.params == ["algorithm", "contamination", "kernel", "n_estimators"]
    assert keys.metrics == ["f1", "fit_time_seconds", "roc_auc", "val_loss"]
    assert "stage" in keys.tags and "team" in keys.tags
    assert not [key for key in keys.tags if key.startswith("mlflow.")]


def test_the_runs_table_shows_each_picked_columns_value(alice_client, mirrored):
    fraud = mirrored["t-fraud"]["id"]
    response = alice_client.get(
        reverse("experiments:runs"),
        {
            "experiment": fraud,
            "columns": "params.kernel,metrics.f1,tags.stage,attributes.status",
            "order_by": "attributes.start_time ASC",
        },
    )

    first_run, cells = response.context["rows"][0]
    stored = Run.objects.get(run_id=first_run.run_id)
    assert first_run.run_id == mirrored["t-fraud"]["runs"][0]
    assert [(column.id, value) for column, value in cells] == [
        ("params.kernel", stored.params["kernel"]),
        ("metrics.f1", stored.metrics["f1"]),
        ("tags.stage", stored.tags["stage"]),
        ("attributes.status", stored.status),
    ]
    # Run 1 logged no kernel: its cell is empty, not an error.
    second_run, second_cells = response.context["rows"][1]
    assert "kernel" not in Run.objects.get(run_id=second_run.run_id).params
    assert second_cells[0][1] is None


def test_a_filter_error_is_shown_under_the_box_with_its_position(alice_client, mirrored):
    response = alice_client.get(
        reverse("experiments:runs"), {"filter": "metrics.f1 > 0.5 or metrics.f1 < 0.2"}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="filter-error"' in page and 'data-position="17"' in page


def test_the_run_page_shows_params_metrics_and_artifacts(alice_client, mirrored):
    run_id = mirrored["t-fraud"]["runs"][0]

    page = alice_client.get(reverse("experiments:run-detail", args=[run_id])).content.decode()

    assert "iforest" in page and "val_loss" in page and "notes" in page


def test_an_artifact_downloads_through_the_portal(alice_client, mirrored):
    run_id = mirrored["t-fraud"]["runs"][0]
    url = reverse("experiments:artifact-download", args=[run_id, "notes/readme.txt"])

    response = alice_client.get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"notes for t-fraud"


def test_artifact_paths_cannot_leave_the_run(alice_client, mirrored):
    run_id = mirrored["t-fraud"]["runs"][0]
    url = reverse("experiments:artifact-download", args=[run_id, "../../etc/passwd"])

    assert alice_client.get(url).status_code == 404


def test_compare_shows_tables_and_chart_data(alice_client, mirrored):
    run_ids = ",".join(mirrored["t-fraud"]["runs"][:3])

    page = alice_client.get(reverse("experiments:compare"), {"runs": run_ids}).content.decode()

    assert 'id="compare-data"' in page and "val_loss" in page
    assert 'class="differs"' in page and "best" in page


def test_compare_exports_csv(alice_client, mirrored):
    run_ids = mirrored["t-fraud"]["runs"][:2]
    url = reverse("experiments:compare-csv")

    body = alice_client.get(url, {"runs": ",".join(run_ids), "table": "params"}).content.decode()

    lines = body.splitlines()
    assert lines[1] == "run_id," + ",".join(run_ids)
    assert any(line.startswith("algorithm,iforest,lof") for line in lines)


def test_sync_now_queues_a_sync_after_commit(alice_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = alice_client.post(reverse("experiments:sync-now"), {"next": "https://evil.x/"})

    assert response.status_code == 302 and response["Location"] == reverse("experiments:list")
    assert len(callbacks) == 1


def test_sync_now_only_accepts_post(alice_client):
    assert alice_client.get(reverse("experiments:sync-now")).status_code == 405


def test_runs_of_a_deleted_run_are_hidden_by_default(alice_client, mirrored):
    deleted = mirrored["t-fraud"]["runs"][-1]
    assert Run.objects.get(pk=deleted).lifecycle_stage == "deleted"

    page = alice_client.get(reverse("experiments:runs")).content.decode()

    assert deleted not in page
