"""The registry part of `manage.py seed_demo`: mirror, policy, grants and one open request."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core import mlflow_gateway
from apps.core.audit import record_audit
from apps.core.demo import ensure_team
from apps.registry.exceptions import StateConflict
from apps.registry.models import ApprovalPolicy, PromotionRequest, PromotionState, RegisteredModel
from apps.registry.permissions import MODEL_PERMISSIONS
from apps.registry.selectors import current_holder
from apps.registry.services import policy_snapshot, promotion_request
from apps.registry.sync import registry_sync

DEMO_MODELS = {"fraud-iforest": "fraud", "network-lof": "network"}
DEMO_GATES = "roc_auc >= 0.5"


def seed_registry(*, stdout) -> None:
    """Idempotent: grants and the policy are set again, a request is added only if none is open."""
    try:
        report = registry_sync()
    except mlflow_gateway.MlflowError as exc:
        stdout.write(f"Registry: MLflow unreadable, skipped ({exc})")
        return
    stdout.write(f"Registry: mirrored {report.models} models")

    models = {m.name: m for m in RegisteredModel.objects.filter(name__in=DEMO_MODELS)}
    with transaction.atomic():
        _grant_demo_access(models)
        if "fraud-iforest" in models:
            _set_fraud_policy(models["fraud-iforest"])
    if "fraud-iforest" in models:
        _leave_open_request(models["fraud-iforest"], stdout)


def _grant_demo_access(models: dict) -> None:
    alice = get_user_model().objects.filter(username="alice").first()
    reviewers = ensure_team("reviewers").group
    for name, team_slug in DEMO_MODELS.items():
        model = models.get(name)
        if model is None:
            continue
        if alice is not None:
            MODEL_PERMISSIONS.grant("view", alice, model)
            MODEL_PERMISSIONS.grant("request_promotion", alice, model)
        MODEL_PERMISSIONS.grant("view", reviewers, model)
        MODEL_PERMISSIONS.grant("approve", reviewers, model)
        MODEL_PERMISSIONS.grant("view", ensure_team(team_slug).group, model)


def _set_fraud_policy(model: RegisteredModel) -> None:
    policy, _ = ApprovalPolicy.objects.get_or_create(model=model)
    before = policy_snapshot(policy)
    policy.required_approvals = 2
    policy.metric_gates = DEMO_GATES
    policy.exclude_run_author = False
    policy.rollback_requires_approval = False
    policy.save()
    policy.eligible_teams.set([ensure_team("reviewers").group])
    after = policy_snapshot(policy)
    if before != after:
        record_audit(actor=None, action="policy.updated", obj=model, before=before, after=after)


def _leave_open_request(model: RegisteredModel, stdout) -> None:
    open_states = (PromotionState.REQUESTED, PromotionState.APPROVED, PromotionState.PROMOTING)
    if PromotionRequest.objects.filter(model=model, state__in=open_states).exists():
        return
    alice = get_user_model().objects.filter(username="alice").first()
    candidate = (
        model.versions.filter(deleted_in_mlflow=False)
        .exclude(version=current_holder(model, "production"))
        .order_by("-version")
        .first()
    )
    if alice is None or candidate is None:
        return
    try:
        promotion = promotion_request(
            user=alice,
            model=model,
            version=candidate.version,
            target="production",
            justification="Better recall on the latest validation window; "
            "ready to replace the production detector.",
        )
    except (ValidationError, StateConflict) as exc:
        stdout.write(f"Registry: no demo request ({exc})")
        return
    stdout.write(f"Registry: open request #{promotion.pk} ({promotion})")
