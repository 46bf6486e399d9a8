"""Beat entries of the registry: the MLflow mirror sync and the expiry of undecided requests.

Kept in django-celery-beat rows, written after every `migrate` (post_migrate) so a changed
REGISTRY_SYNC_SECONDS takes effect on the next deploy.
"""

from apps.registry.conf import sync_interval_seconds

SCHEDULE = {
    "registry: sync MLflow models": ("apps.registry.tasks.sync_registry", sync_interval_seconds),
    "registry: expire undecided requests": ("apps.registry.tasks.expire_promotions", lambda: 300),
    "registry: resume stalled promotions": (
        "apps.registry.tasks.resume_stalled_promotions",
        lambda: 300,
    ),
}


def ensure_registry_schedule(**kwargs) -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, (task, seconds) in SCHEDULE.items():
        every, _ = IntervalSchedule.objects.get_or_create(
            every=seconds(), period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": every, "enabled": True}
        )
