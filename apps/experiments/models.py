"""The read mirror of MLflow experiments and runs.

MLflow stays the source of truth; these tables exist so that search, comparison and
permission checks over thousands of runs are one indexed query on the portal database.
Times are kept as MLflow gives them (milliseconds since the epoch) so that filters such
as `attributes.start_time > 1700000000000` mean the same thing here and in MLflow.
"""

from datetime import UTC, datetime

import numpy as np
from django.db import models

from apps.core.models import Team

# One metric point on disk: step, timestamp (ms), value; little-endian, 24 bytes.
POINT_DTYPE = np.dtype([("step", "<i8"), ("timestamp", "<i8"), ("value", "<f8")])
# Every INDEX_STRIDE-th step of a history is kept beside it, so a zoomed request can find
# the slice it needs without reading the whole array.
INDEX_STRIDE = 1024


def ms_to_datetime(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


class Lifecycle(models.TextChoices):
    ACTIVE = "active", "Active"
    DELETED = "deleted", "Deleted"


class RunStatus(models.TextChoices):
    RUNNING = "RUNNING", "Running"
    SCHEDULED = "SCHEDULED", "Scheduled"
    FINISHED = "FINISHED", "Finished"
    FAILED = "FAILED", "Failed"
    KILLED = "KILLED", "Killed"


class Experiment(models.Model):
    """An MLflow experiment; teams see it through object permissions on this row."""

    experiment_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=500)
    lifecycle_stage = models.CharField(
        max_length=10, choices=Lifecycle.choices, default=Lifecycle.ACTIVE
    )
    artifact_location = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="experiments"
    )
    creation_time = models.BigIntegerField(null=True, blank=True)
    last_update_time = models.BigIntegerField(null=True, blank=True)
    # Refreshed at the end of every sync pass, so the list page needs no aggregate.
    run_count = models.PositiveIntegerField(default=0)
    last_run_time = models.BigIntegerField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def description(self) -> str:
        return self.tags.get("mlflow.note.content", "")

    @property
    def last_activity(self) -> datetime | None:
        return ms_to_datetime(
            max(filter(None, [self.last_run_time, self.last_update_time]), default=None)
        )


class Run(models.Model):
    """One MLflow run with its params, tags and latest metric values as JSON objects."""

    run_id = models.CharField(max_length=64, primary_key=True)
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="runs")
    name = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices)
    user_id = models.CharField(max_length=255, blank=True)
    start_time = models.BigIntegerField(null=True, blank=True)
    end_time = models.BigIntegerField(null=True, blank=True)
    lifecycle_stage = models.CharField(
        max_length=10, choices=Lifecycle.choices, default=Lifecycle.ACTIVE
    )
    artifact_uri = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    # key -> latest value (None for NaN); what MLflow's `metrics.x > v` compares against.
    metrics = models.JSONField(default=dict, blank=True)
    # key -> [step, timestamp] of the latest value: a change here means new history points.
    metric_marks = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=40, blank=True)
    # The sync pass that last saw this run in MLflow; older after a full pass = gone.
    seen_pass = models.PositiveBigIntegerField(default=0)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["experiment", "lifecycle_stage", "-start_time"], name="run_exp_start_idx"
            ),
            models.Index(fields=["-start_time", "run_id"], name="run_start_idx"),
            models.Index(fields=["seen_pass"], name="run_seen_pass_idx"),
        ]
        # PostgreSQL-only GIN indexes on params and tags are added in migration 0002.

    def __str__(self):
        return self.name or self.run_id

    @property
    def started(self) -> datetime | None:
        return ms_to_datetime(self.start_time)

    @property
    def ended(self) -> datetime | None:
        return ms_to_datetime(self.end_time)

    @property
    def duration_seconds(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time) / 1000


class MetricHistory(models.Model):
    """Every logged point of one metric of one run, as one packed array.

    `points` holds POINT_DTYPE records sorted by (step, timestamp); `step_index` holds
    every INDEX_STRIDE-th step so a zoom reads only the records it needs. `overview` is
    the whole history already downsampled, which is what a chart asks for first.
    Metrics logged once live only in Run.metrics; no row is stored for them.
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="histories")
    key = models.CharField(max_length=250)
    count = models.PositiveIntegerField()
    min_step = models.BigIntegerField()
    max_step = models.BigIntegerField()
    points = models.BinaryField()
    step_index = models.BinaryField()
    overview = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="metric_history_run_key_uniq")
        ]

    def __str__(self):
        return f"{self.run_id}/{self.key} ({self.count} points)"


class SyncState(models.Model):
    """Progress of the mirror sync; one row (name "mlflow").

    `cursor` is where an interrupted pass resumes: the pass number, the experiment being
    read and MLflow's page token within it.
    """

    name = models.CharField(max_length=40, unique=True, default="mlflow")
    pass_number = models.PositiveBigIntegerField(default=0)
    cursor = models.JSONField(default=dict, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_summary = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return f"sync {self.name}: pass {self.pass_number}"
