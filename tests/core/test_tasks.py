"""Tasks run in a real Celery worker over the real Redis broker; their runs are recorded."""

import uuid

import pytest

from apps.core.models import JobRun, JobStatus, Notification
from apps.core.tasks import send_notification
from tests.conftest import start_worker, stop_process, wait_until


@pytest.mark.django_db(transaction=True)
def test_a_worker_delivers_a_notification_and_the_job_is_recorded(
    celery_worker_process, data_scientist
):
    result = send_notification.delay(user_ids=[data_scientist.pk], title="Sync finished")

    notification = wait_until(
        lambda: Notification.objects.filter(recipient=data_scientist).first(),
        message="the notification",
    )
    assert notification.title == "Sync finished"
    job = wait_until(
        lambda: JobRun.objects.filter(task_id=result.id, status=JobStatus.SUCCEEDED).first(),
        message="the job to succeed",
    )
    assert job.name == "apps.core.tasks.send_notification"
    assert job.attempts == 1
    assert job.started_at <= job.finished_at
    assert job.log[0]["message"] == "notifying 1 user(s): Sync finished"


@pytest.mark.django_db(transaction=True)
def test_work_queued_while_no_worker_runs_is_done_when_one_starts(data_scientist, tmp_path):
    queue = f"resume-{uuid.uuid4().hex[:8]}"
    result = send_notification.apply_async(
        kwargs={"user_ids": [data_scientist.pk], "title": "Queued while down"}, queue=queue
    )
    assert JobRun.objects.get(task_id=result.id).status == JobStatus.QUEUED
    assert not Notification.objects.exists()

    worker = start_worker(queue, tmp_path / "worker.log")
    try:
        wait_until(
            lambda: Notification.objects.filter(title="Queued while down").exists(),
            message="the queued task to run",
        )
    finally:
        stop_process(worker)
    assert JobRun.objects.get(task_id=result.id).status == JobStatus.SUCCEEDED


@pytest.mark.django_db
def test_jobs_page_is_for_platform_admins(client, platform_admin, data_scientist):
    JobRun.objects.create(
        task_id="t-1",
        name="apps.core.tasks.send_notification",
        status=JobStatus.FAILED,
        error="ValueError: boom",
    )
    client.force_login(data_scientist)
    assert client.get("/jobs/").status_code == 403

    client.force_login(platform_admin)
    page = client.get("/jobs/")
    assert page.status_code == 200
    assert b"ValueError: boom" in page.content
