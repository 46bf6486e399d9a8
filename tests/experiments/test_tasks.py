import time

import pytest
from django.core.cache import cache

from apps.core import mlflow_gateway
from apps.core.models import JobRun
from apps.experiments.models import Run, SyncState
from apps.experiments.sync import LOCK_KEY, sync_mirror
from apps.experiments.tasks import sync_experiments_mirror


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_queued_sync(celery_worker_process, seeded_store, teams):
    cache.delete(LOCK_KEY)
    fraud_runs = seeded_store["t-fraud"]["runs"]

    result = sync_experiments_mirror.delay()

    deadline = time.monotonic() + 90
    while not JobRun.objects.filter(task_id=result.id, status="succeeded").exists():
        assert time.monotonic() < deadline, "the sync task did not finish"
        time.sleep(0.5)
    assert Run.objects.filter(run_id__in=fraud_runs).count() == len(fraud_runs)
    assert SyncState.objects.get().last_success_at is not None


def test_the_task_retries_when_mlflow_is_unreachable():
    assert mlflow_gateway.MlflowUnavailable in sync_experiments_mirror.autoretry_for
    assert sync_experiments_mirror.retry_backoff


@pytest.mark.django_db
def test_an_unreachable_mlflow_is_recorded_and_the_mirror_kept(settings, mirrored):
    before = Run.objects.count()
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"
    cache.delete(LOCK_KEY)

    with pytest.raises(mlflow_gateway.MlflowUnavailable):
        sync_mirror()

    mlflow_gateway._client.cache_clear()
    state = SyncState.objects.get()
    assert state.last_error and state.last_error_at
    assert Run.objects.count() == before
    assert not cache.get(LOCK_KEY)


@pytest.mark.django_db
def test_the_beat_schedule_follows_the_sync_setting(settings):
    from django_celery_beat.models import PeriodicTask

    from apps.experiments.schedule import SYNC_TASK_NAME, ensure_sync_schedule

    settings.EXPERIMENTS_SYNC_SECONDS = 30
    ensure_sync_schedule()

    task = PeriodicTask.objects.get(name=SYNC_TASK_NAME)
    assert task.enabled and task.interval.every == 30 and task.interval.period == "seconds"


@pytest.mark.django_db
def test_seed_demo_mirrors_the_store_at_the_end(seeded_store, teams):
    import io

    from apps.core.seed_hooks import _SEED_HOOKS
    from apps.experiments.seed import sync_after_seed

    cache.delete(LOCK_KEY)
    out = io.StringIO()
    sync_after_seed(stdout=out)

    assert sync_after_seed in _SEED_HOOKS
    assert "Experiments mirror" in out.getvalue()
    assert Run.objects.filter(run_id=seeded_store["t-fraud"]["runs"][0]).exists()
