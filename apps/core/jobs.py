"""enqueue(): a transactional outbox in front of Celery.

The job row is written in the caller's transaction, so the intent to run a task commits
or rolls back with the state change that needs it. After the commit the task is sent to
the broker. If Redis is down then, the row stays undispatched, and `dispatch_pending`
sends it later (from beat every DISPATCH_PENDING_SECONDS, and whenever a worker starts).
Tasks sent this way must be idempotent: a job may be sent twice if a crash lands between
the send and the mark.
"""

import logging
import uuid

from celery import current_app
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from apps.core.models import JobRun

logger = logging.getLogger(__name__)


def enqueue(task, *, queue: str = "", **kwargs) -> JobRun:
    """Record a run of `task` with JSON-serialisable kwargs; send it once the caller commits."""
    job = JobRun.objects.create(
        task_id=uuid.uuid4().hex, name=task.name, kwargs=kwargs, queue=queue
    )
    transaction.on_commit(lambda: dispatch(job.pk))
    return job


def dispatch(job_id: int) -> bool:
    """Send one undispatched job to the broker; False when the broker cannot be reached."""
    job = JobRun.objects.filter(pk=job_id, dispatched_at__isnull=True).first()
    if job is None:
        return True

    options = {"queue": job.queue} if job.queue else {}
    try:
        current_app.send_task(job.name, kwargs=job.kwargs, task_id=job.task_id, **options)
    except OperationalError:
        logger.warning("broker unreachable; job %s (%s) will be sent later", job.pk, job.name)
        return False

    JobRun.objects.filter(pk=job.pk, dispatched_at__isnull=True).update(
        dispatched_at=timezone.now()
    )
    logger.info("job %s (%s) sent to the broker", job.pk, job.name)
    return True


def dispatch_pending(limit: int = 500) -> int:
    """Send jobs that could not be sent when they were enqueued; returns how many went."""
    pending = JobRun.objects.filter(dispatched_at__isnull=True).order_by("id")
    sent = 0
    for job_id in pending.values_list("pk", flat=True)[:limit]:
        if not dispatch(job_id):
            break
        sent += 1
    return sent
