"""Celery tasks of the experiments app: thin wrappers that call the sync service."""

from celery import shared_task

from apps.core.context import action_context
from apps.core.jobs import enqueue
from apps.core.mlflow_gateway import MlflowUnavailable
from apps.core.signals import job_log
from apps.experiments.sync import sync_mirror


@shared_task(
    bind=True,
    autoretry_for=(MlflowUnavailable,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def sync_experiments_mirror(self):
    """Bring the experiments mirror up to date (resuming an interrupted pass)."""
    with action_context(source="sync", request_id=self.request.id):
        summary = sync_mirror()
    if summary.skipped:
        job_log("another sync was running; nothing to do")
    else:
        job_log(
            "pass %s: %s runs seen, %s written, %s histories, %s removed in %ss",
            summary.pass_number,
            summary.runs_seen,
            summary.runs_written,
            summary.histories_written,
            summary.runs_removed,
            summary.seconds,
        )
    return {"pass": summary.pass_number, "runs_written": summary.runs_written}


def request_sync() -> None:
    """Queue a sync once the caller's transaction commits ("sync now")."""
    enqueue(sync_experiments_mirror)
