"""Registry governance: the MLflow model mirror, alias history, policies and promotions.

MLflow owns registered models, versions and aliases; the portal mirrors them and adds
what MLflow lacks: who may move an alias, who approved each move, and since when each
version held it.
"""

import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.urls import reverse


class RegisteredModel(models.Model):
    """A registered model mirrored from MLflow; the object that carries the grants."""

    name = models.CharField(max_length=256, unique=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    mlflow_created_at = models.DateTimeField(null=True, blank=True)
    mlflow_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # Set when the model vanished from MLflow; the history stays readable.
    deleted_in_mlflow = models.BooleanField(default=False)
    # Set by an edit in the portal until the write-back task has reached MLflow.
    metadata_pending = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("request_promotion_registeredmodel", "Can request a promotion of this model"),
            ("approve_registeredmodel", "Can approve promotions of this model"),
            ("promote_registeredmodel", "Can promote and roll back this model"),
            ("manage_registeredmodel", "Can edit this model's policy, grants and metadata"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("registry:model-detail", args=[self.name])


class ModelVersion(models.Model):
    """One version of a registered model, with a snapshot of its source run."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    aliases = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=40, blank=True)
    run_id = models.CharField(max_length=64, blank=True, db_index=True)
    experiment_id = models.CharField(max_length=64, blank=True)
    experiment_name = models.CharField(max_length=500, blank=True)
    run_name = models.CharField(max_length=256, blank=True)
    # MLflow user of the source run, compared with usernames for separation of duties.
    run_author = models.CharField(max_length=150, blank=True)
    run_metrics = models.JSONField(default=dict, blank=True)
    run_params = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(null=True, blank=True)
    deleted_in_mlflow = models.BooleanField(default=False)

    class Meta:
        ordering = ["model", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="registry_version_unique"),
        ]

    def __str__(self):
        return f"{self.model.name} v{self.version}"

    def get_absolute_url(self):
        return reverse("registry:version-detail", args=[self.model.name, self.version])


class AssignmentHow(models.TextChoices):
    PORTAL = "portal", "Promotion in the portal"
    ROLLBACK = "rollback", "Roll back (approved)"
    EMERGENCY = "emergency", "Emergency roll back"
    OUTSIDE = "outside", "Changed in MLflow directly"
    DISCOVERED = "discovered", "Found at first sync"


class AliasAssignment(models.Model):
    """A period during which one version held one alias; `ended_at` is null while it holds."""

    model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="alias_assignments"
    )
    alias = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    how = models.CharField(max_length=12, choices=AssignmentHow.choices)
    promotion = models.ForeignKey(
        "PromotionRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Usernames, kept as text so the history survives user removal.
    approvers = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "alias"],
                condition=Q(ended_at__isnull=True),
                name="registry_one_holder_per_alias",
            ),
        ]

    def __str__(self):
        return f"{self.model.name}@{self.alias} = v{self.version}"


class ApprovalPolicy(models.Model):
    """How promotions of one registered model get approved. Models without one use defaults."""

    model = models.OneToOneField(RegisteredModel, on_delete=models.CASCADE, related_name="policy")
    required_approvals = models.PositiveSmallIntegerField(default=1)
    eligible_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    eligible_teams = models.ManyToManyField(Group, blank=True, related_name="+")
    exclude_run_author = models.BooleanField(default=False)
    # One gate per line, e.g. "f1 >= 0.85"; parsed by apps.registry.gates, never evaluated.
    metric_gates = models.TextField(blank=True)
    rollback_requires_approval = models.BooleanField(default=False)
    expiry_hours = models.PositiveIntegerField(default=72)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "approval policies"

    def __str__(self):
        return f"policy of {self.model.name}"


class PromotionKind(models.TextChoices):
    PROMOTION = "promotion", "Promotion"
    ROLLBACK = "rollback", "Roll back"


class PromotionState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"
    PROMOTING = "promoting", "Promoting"
    PROMOTED = "promoted", "Promoted"
    FAILED = "failed", "Failed"


OPEN_STATES = (PromotionState.REQUESTED, PromotionState.APPROVED, PromotionState.PROMOTING)


class PromotionRequest(models.Model):
    """A request to point an alias (environment) at a version, and its way to a decision."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="promotions")
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="promotions")
    target = models.CharField(max_length=64)
    kind = models.CharField(
        max_length=10, choices=PromotionKind.choices, default=PromotionKind.PROMOTION
    )
    emergency = models.BooleanField(default=False)
    justification = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="promotion_requests"
    )
    state = models.CharField(
        max_length=10, choices=PromotionState.choices, default=PromotionState.REQUESTED
    )
    retrying = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    # Run metrics, the holder's metrics, deltas and gate results at request time.
    evidence = models.JSONField(default=dict, blank=True)
    previous_version = models.PositiveIntegerField(null=True, blank=True)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    failure_reason = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "expires_at"], name="registry_promotion_open_idx")]
        constraints = [
            # At most one alias move under way per model and environment.
            models.UniqueConstraint(
                fields=["model", "target"],
                condition=Q(state__in=["approved", "promoting"]),
                name="registry_one_move_in_flight",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.model.name} v{self.version.version} → {self.target}"

    def get_absolute_url(self):
        return reverse("registry:promotion-detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def state_label(self) -> str:
        if self.state == PromotionState.PROMOTING and self.retrying:
            return "Promoting (retrying)"
        return self.get_state_display()


class Decision(models.TextChoices):
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"


class Approval(models.Model):
    """One reviewer's decision on one request; a reviewer decides once."""

    promotion = models.ForeignKey(
        PromotionRequest, on_delete=models.CASCADE, related_name="approvals"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="promotion_reviews"
    )
    decision = models.CharField(max_length=8, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "reviewer"], name="registry_one_review_per_reviewer"
            ),
        ]

    def __str__(self):
        return f"{self.reviewer} {self.decision} #{self.promotion_id}"


class WebhookEvent(models.TextChoices):
    REQUESTED = "promotion.requested", "Promotion requested"
    APPROVED = "promotion.approved", "Promotion approved"
    REJECTED = "promotion.rejected", "Promotion rejected"
    PROMOTED = "promotion.promoted", "Promoted"
    ROLLED_BACK = "model.rolled_back", "Rolled back"


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class Webhook(models.Model):
    """An outbound receiver of governance events, for one model or (model empty) for all."""

    model = models.ForeignKey(
        RegisteredModel, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, default=new_webhook_secret)
    # Empty list: every event.
    events = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.url

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event sent to one webhook, with the outcome of its latest attempt."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return f"{self.event} → {self.webhook.url} [{self.state}]"
