"""Record every Celery task run in JobRun, and mark work done by workers in the audit source."""

import logging

from celery import signals
from django.db import DatabaseError, close_old_connections
from django.db.models import F
from django.utils import timezone

from apps.core.context import set_context
from apps.core.models import JobRun, JobStatus

logger = logging.getLogger(__name__)


@signals.after_task_publish.connect
def job_queued(sender=None, headers=None, **kwargs):
    task_id = (headers or {}).get("id")
    if not task_id:
        return
    try:
        job, created = JobRun.objects.get_or_create(
            task_id=task_id, defaults={"name": sender or "?", "dispatched_at": timezone.now()}
        )
        if not created and job.dispatched_at is None:
            JobRun.objects.filter(pk=job.pk).update(dispatched_at=timezone.now())
    except DatabaseError:
        logger.warning("could not record queued task %s", task_id, exc_info=True)


@signals.task_prerun.connect
def job_started(task_id=None, task=None, **kwargs):
    close_old_connections()
    set_context(source="worker", request_id=task_id or "")
    job, _ = JobRun.objects.get_or_create(task_id=task_id, defaults={"name": task.name})
    JobRun.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1
    )


@signals.task_success.connect
def job_succeeded(sender=None, **kwargs):
    _finish(sender.request.id, JobStatus.SUCCEEDED)


@signals.task_failure.connect
def job_failed(task_id=None, exception=None, **kwargs):
    _finish(task_id, JobStatus.FAILED, error=f"{type(exception).__name__}: {exception}")


@signals.task_retry.connect
def job_retrying(request=None, reason=None, **kwargs):
    JobRun.objects.filter(task_id=request.id).update(
        status=JobStatus.RETRYING, error=str(reason)[:2000]
    )


@signals.worker_ready.connect
def send_jobs_left_behind(**kwargs):
    """A worker that (re)starts sends what could not be queued while the broker was down."""
    from apps.core.jobs import dispatch_pending

    try:
        dispatch_pending()
    except DatabaseError:
        logger.warning("could not dispatch pending jobs at worker start", exc_info=True)


@signals.task_postrun.connect
def job_closed(**kwargs):
    close_old_connections()


def _finish(task_id, status, error=""):
    JobRun.objects.filter(task_id=task_id).update(
        status=status, finished_at=timezone.now(), error=error[:2000]
    )


def job_log(message: str, *args) -> None:
    """Append a line to the running task's log (shown on the Jobs page); no-op outside tasks."""
    from celery import current_task

    task_id = getattr(getattr(current_task, "request", None), "id", None)
    line = {"at": timezone.now().isoformat(), "message": message % args if args else message}
    logger.info(line["message"])
    if not task_id:
        return
    job = JobRun.objects.filter(task_id=task_id).first()
    if job is not None:
        job.log = [*job.log, line]
        job.save(update_fields=["log"])
