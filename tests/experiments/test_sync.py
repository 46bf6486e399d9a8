import pytest
from mlflow.entities import Metric

from apps.experiments.models import Experiment, MetricHistory, Run, SyncState
from apps.experiments.permissions import EXPERIMENT_PERMISSIONS
from apps.experiments.sync import SyncInterrupted, sync_mirror
from tests.experiments.conftest import HISTORY_STEPS, seed_experiment

pytestmark = pytest.mark.django_db


def test_it_mirrors_experiments_runs_and_histories(private_store, teams):
    seeded = seed_experiment(private_store, "fraud-x", "fraud", 8, seed=3)

    summary = sync_mirror()

    assert summary.runs_seen == 8 and summary.runs_written == 8
    experiment = Experiment.objects.get(experiment_id=seeded["id"])
    assert experiment.team == teams["fraud"]
    assert experiment.run_count == 8
    run = Run.objects.get(run_id=seeded["runs"][0])
    assert run.params["algorithm"] == "iforest"
    assert run.tags["team"] == "fraud"
    assert set(run.metrics) >= {"f1", "roc_auc", "val_loss"}
    history = MetricHistory.objects.get(run=run, key="val_loss")
    assert history.count == HISTORY_STEPS
    # Single-point metrics stay in Run.metrics only.
    assert not MetricHistory.objects.filter(key="f1").exists()
    assert SyncState.objects.get().last_success_at is not None


def test_it_grants_view_to_the_experiment_team(private_store, teams, data_scientist, outsider):
    seed_experiment(private_store, "fraud-y", "fraud", 2, seed=4)
    seed_experiment(private_store, "iot-y", "iot", 2, seed=5)

    sync_mirror()

    visible = EXPERIMENT_PERMISSIONS.visible_to(data_scientist)
    assert list(visible.values_list("name", flat=True)) == ["fraud-y"]
    assert not EXPERIMENT_PERMISSIONS.visible_to(outsider).exists()


def test_a_second_sync_writes_nothing(private_store, teams):
    seed_experiment(private_store, "fraud-z", "fraud", 5, seed=6)
    sync_mirror()

    again = sync_mirror()

    assert again.runs_seen == 5
    assert again.runs_written == 0
    assert again.histories_written == 0


def test_it_reflects_updated_deleted_restored_and_purged_runs(private_store, teams):
    seeded = seed_experiment(private_store, "fraud-u", "fraud", 4, seed=7)
    sync_mirror()
    changed, deleted, purged = seeded["runs"][:3]

    private_store.log_batch(changed, metrics=[Metric("val_loss", 0.01, 1_800_000_000_000, 99)])
    private_store.set_tag(changed, "note", "retrained")
    private_store.delete_run(deleted)
    private_store.delete_run(purged)
    _purge(purged)
    summary = sync_mirror()

    assert summary.runs_written == 2
    assert Run.objects.get(run_id=changed).tags["note"] == "retrained"
    assert MetricHistory.objects.get(run_id=changed, key="val_loss").count == HISTORY_STEPS + 1
    assert Run.objects.get(run_id=deleted).lifecycle_stage == "deleted"
    assert not Run.objects.filter(run_id=purged).exists()
    assert Experiment.objects.get(name="fraud-u").run_count == 2

    private_store.restore_run(deleted)
    sync_mirror()
    assert Run.objects.get(run_id=deleted).lifecycle_stage == "active"


def _purge(run_id):
    """What `mlflow gc` does to a deleted run, through the store."""
    from apps.core import mlflow_gateway

    mlflow_gateway.client()._tracking_client.store._hard_delete_run(run_id)


def test_an_interrupted_pass_resumes_where_it_stopped(private_store, teams):
    seed_experiment(private_store, "fraud-r", "fraud", 9, seed=8)
    seed_experiment(private_store, "network-r", "network", 4, seed=9)

    seen_before_crash = []

    def crash_after_two_pages(summary):
        if summary.pages == 2:
            seen_before_crash.append(summary.runs_seen)
            raise SyncInterrupted

    with pytest.raises(SyncInterrupted):
        sync_mirror(page_size=3, after_page=crash_after_two_pages)
    assert 0 < Run.objects.count() == seen_before_crash[0] < 13
    state = SyncState.objects.get()
    assert state.cursor["experiment"]
    assert state.last_success_at is None

    resumed = sync_mirror(page_size=3)

    assert resumed.resumed and resumed.pass_number == state.pass_number
    assert resumed.runs_seen == 13 - seen_before_crash[0]  # the remaining pages only
    assert Run.objects.count() == 13
    assert resumed.runs_removed == 0
    assert SyncState.objects.get().cursor == {}
