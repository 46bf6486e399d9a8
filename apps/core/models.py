from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import models


class Team(models.Model):
    """A team is a Django group with a profile; roles are plain groups (see roles.py)."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="team")
    slug = models.SlugField(unique=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.group.name

    @property
    def name(self):
        return self.group.name


class AuditSource(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    WORKER = "worker", "Worker"
    SYNC = "sync", "Sync"
    CLI = "cli", "Command line"


class AuditQuerySet(models.QuerySet):
    """Refuses bulk changes: the trail is append-only (the database enforces it too)."""

    def update(self, **kwargs):
        raise PermissionDenied("audit entries cannot be changed")

    def delete(self):
        raise PermissionDenied("audit entries cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise PermissionDenied("audit entries cannot be changed")


class AuditEntry(models.Model):
    """One governance action. Written only by apps.core.audit.record_audit.

    Each entry stores the hash of the previous one, so `manage.py verify_audit`
    can prove that nothing was changed, removed or inserted behind the portal's back.
    """

    created_at = models.DateTimeField(db_index=True)
    # No database constraint: deleting a user must never rewrite the trail.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, db_index=True)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, db_index=True)
    object_id = models.CharField(max_length=200, db_index=True)
    object_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=10, choices=AuditSource.choices)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionDenied("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("audit entries cannot be deleted")


class NotificationLevel(models.TextChoices):
    INFO = "info", "Info"
    SUCCESS = "success", "Success"
    WARNING = "warning", "Warning"
    DANGER = "danger", "Critical"


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    level = models.CharField(
        max_length=10, choices=NotificationLevel.choices, default=NotificationLevel.INFO
    )
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread_idx")]

    def __str__(self):
        return self.title

    def as_event(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "level": self.level,
            "link": self.link,
            "created_at": self.created_at.isoformat(),
            "read": self.read_at is not None,
        }


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    RETRYING = "retrying", "Retrying"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class JobRun(models.Model):
    """One execution of a Celery task, recorded so the UI can show its state and log."""

    task_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    # What apps.core.jobs.enqueue needs to (re)send the task when the broker was down.
    kwargs = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=100, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    log = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} [{self.status}]"
