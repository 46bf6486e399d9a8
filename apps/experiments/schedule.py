"""The beat schedule of the mirror sync, kept equal to EXPERIMENTS_SYNC_SECONDS.

Called after every `migrate` (post_migrate), so a changed setting takes effect on the
next deploy without a hand-edited row.
"""

from apps.experiments.conf import sync_seconds

SYNC_TASK_NAME = "experiments: sync MLflow mirror"
SYNC_TASK = "apps.experiments.tasks.sync_experiments_mirror"


def ensure_sync_schedule(**kwargs) -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(
        every=sync_seconds(), period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=SYNC_TASK_NAME,
        defaults={"task": SYNC_TASK, "interval": every, "enabled": True},
    )
