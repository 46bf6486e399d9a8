"""The job outbox: intent commits with the state change; work survives a broker outage."""

import subprocess
import sys

import pytest
from django.db import transaction

from apps.core.jobs import dispatch_pending, enqueue
from apps.core.models import JobRun, JobStatus, Notification
from apps.core.tasks import send_notification
from tests.conftest import ROOT, subprocess_env, wait_until

ENQUEUE_WITH_REDIS_DOWN = """
from django.db import transaction
from apps.core.jobs import enqueue
from apps.core.tasks import send_notification
with transaction.atomic():
    job = enqueue(send_notification, user_ids=[{user_id}], title="Sent while Redis was down")
print("job", job.pk)
"""


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_action_leaves_no_job(data_scientist):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(send_notification, user_ids=[data_scientist.pk], title="never")
        raise RuntimeError("the service failed")
    assert not JobRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_enqueued_job_is_sent_after_commit_and_runs(celery_worker_process, data_scientist):
    with transaction.atomic():
        job = enqueue(send_notification, user_ids=[data_scientist.pk], title="After commit")
        assert JobRun.objects.get(pk=job.pk).dispatched_at is None

    wait_until(
        lambda: JobRun.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).exists(),
        message="the job to succeed",
    )
    assert Notification.objects.filter(title="After commit").exists()


@pytest.mark.django_db(transaction=True)
def test_work_enqueued_while_redis_is_down_runs_once_it_is_back(
    celery_worker_process, data_scientist
):
    env = {**subprocess_env(), "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            ENQUEUE_WITH_REDIS_DOWN.format(user_id=data_scientist.pk),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "will be sent later" in result.stderr

    job = JobRun.objects.get()
    assert job.dispatched_at is None
    assert job.status == JobStatus.QUEUED

    assert dispatch_pending() == 1
    wait_until(
        lambda: Notification.objects.filter(title="Sent while Redis was down").exists(),
        message="the delayed job to run",
    )
    job.refresh_from_db()
    assert job.dispatched_at is not None
    assert job.status == JobStatus.SUCCEEDED
    assert dispatch_pending() == 0
