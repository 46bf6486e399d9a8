"""Core tasks. Tasks are thin: load by id, call the service, retry on transient failure."""

from celery import shared_task
from django.contrib.auth import get_user_model

from apps.core.jobs import dispatch_pending
from apps.core.notifications import notify
from apps.core.signals import job_log


@shared_task(bind=True, max_retries=5, default_retry_delay=5)
def send_notification(
    self, *, user_ids: list[int], title: str, body: str = "", level="info", link: str = ""
):
    """Deliver a notification from a worker (used by announcements and by tests of delivery)."""
    users = list(get_user_model().objects.filter(pk__in=user_ids, is_active=True))
    job_log("notifying %d user(s): %s", len(users), title)
    notify(users=users, title=title, body=body, level=level, link=link)
    return len(users)


@shared_task
def dispatch_pending_jobs():
    """Beat: send jobs that were recorded while the broker was unreachable."""
    return dispatch_pending()
