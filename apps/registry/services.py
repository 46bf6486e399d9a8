"""Registry governance actions. Each runs in one transaction, locks the rows it changes,
writes an audit entry per transition, and queues outside work with transaction.on_commit.

Callers fetch the model or request with the permission helpers first (404 when invisible);
these functions check the action permissions themselves, so pages and API share them.
"""

import logging
from datetime import timedelta

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core import mlflow_gateway
from apps.core.audit import record_audit
from apps.core.jobs import enqueue
from apps.core.models import NotificationLevel
from apps.registry import conf
from apps.registry.announce import announce
from apps.registry.exceptions import StateConflict
from apps.registry.gates import GateSyntaxError, evaluate_gates, parse_gates
from apps.registry.models import (
    OPEN_STATES,
    AliasAssignment,
    Approval,
    ApprovalPolicy,
    AssignmentHow,
    Decision,
    ModelVersion,
    PromotionKind,
    PromotionRequest,
    PromotionState,
    RegisteredModel,
    Webhook,
    WebhookEvent,
)
from apps.registry.permissions import GRANTABLE_ACTIONS, MODEL_PERMISSIONS
from apps.registry.selectors import (
    current_holder,
    eligible_reviewers,
    policy_for,
    previous_holder,
    reviewer_refusal,
)
from apps.registry.targets import check_webhook_target
from apps.registry.webhooks import promotion_payload, webhook_emit

logger = logging.getLogger(__name__)

IN_FLIGHT = (PromotionState.APPROVED, PromotionState.PROMOTING)


# --- helpers -------------------------------------------------------------------------


def _locked_promotion(promotion_id: int) -> PromotionRequest:
    return (
        PromotionRequest.objects.select_for_update(of=("self",))
        .select_related("model", "version", "requested_by")
        .get(pk=promotion_id)
    )


def _locked_model(model_id: int) -> RegisteredModel:
    return RegisteredModel.objects.select_for_update().get(pk=model_id)


def _transition(promotion: PromotionRequest, state: str, *, actor, action: str, **details):
    """Move a request to `state` and audit it (caller holds the row lock)."""
    before = {"state": promotion.state}
    promotion.state = state
    promotion.save()
    record_audit(
        actor=actor, action=action, obj=promotion, before=before, after={"state": state, **details}
    )


def _require_state(promotion: PromotionRequest, *states: str) -> None:
    if promotion.state not in states:
        raise StateConflict(
            f"Request #{promotion.pk} is {promotion.state_label.lower()}.", state=promotion.state
        )


def _expire_if_due(promotion: PromotionRequest) -> bool:
    due = promotion.expires_at is not None and promotion.expires_at <= timezone.now()
    if promotion.state != PromotionState.REQUESTED or not due:
        return False
    _transition(promotion, PromotionState.EXPIRED, actor=None, action="promotion.expired")
    announce(
        users=[promotion.requested_by],
        title=f"Request expired: {promotion.model.name} v{promotion.version.version}",
        body=f"No decision before {promotion.expires_at:%Y-%m-%d %H:%M} UTC.",
        level=NotificationLevel.WARNING,
        link=promotion.get_absolute_url(),
    )
    return True


def _enqueue_promotion(promotion_id: int) -> None:
    from apps.registry.tasks import promote_version

    # Recorded in the decision's transaction and sent after it commits; while Redis is down
    # the job waits in the outbox (apps/core/jobs.py) and the decision still stands.
    enqueue(promote_version, promotion_id=promotion_id)


def _require_environment(target: str) -> None:
    if target not in conf.environments():
        allowed = ", ".join(conf.environments())
        raise ValidationError({"target": f"Unknown environment {target!r}; use one of {allowed}."})


def _refuse_in_flight(model: RegisteredModel, target: str, *, states=OPEN_STATES) -> None:
    other = PromotionRequest.objects.filter(model=model, target=target, state__in=states).first()
    if other is not None:
        raise StateConflict(
            f"Request #{other.pk} for {target} is still {other.state_label.lower()}.",
            state=other.state,
        )


def build_evidence(*, version: ModelVersion, target: str, policy: ApprovalPolicy) -> dict:
    """The run's metrics, the current holder's metrics, their deltas and the gate results."""
    holder_number = current_holder(version.model, target)
    holder = version.model.versions.filter(version=holder_number).first()
    holder_metrics = holder.run_metrics if holder else {}
    deltas = {
        name: value - holder_metrics[name]
        for name, value in version.run_metrics.items()
        if name in holder_metrics
    }
    gates = evaluate_gates(parse_gates(policy.metric_gates), version.run_metrics)
    return {
        "captured_at": timezone.now().isoformat(),
        "run_id": version.run_id,
        "run_name": version.run_name,
        "run_author": version.run_author,
        "metrics": version.run_metrics,
        "holder": {"version": holder_number, "metrics": holder_metrics} if holder else None,
        "deltas": deltas,
        "gates": [result.as_dict() for result in gates],
    }


def _notify_reviewers(promotion: PromotionRequest, policy: ApprovalPolicy) -> None:
    verb = "Roll back" if promotion.kind == PromotionKind.ROLLBACK else "Review"
    announce(
        users=eligible_reviewers(promotion, policy),
        title=f"{verb} requested: {promotion.model.name} v{promotion.version.version} "
        f"→ {promotion.target}",
        body=f"{promotion.requested_by.username}: {promotion.justification[:200]}",
        link=promotion.get_absolute_url(),
    )


# --- requesting ------------------------------------------------------------------------


def promotion_request(
    *, user, model: RegisteredModel, version: int, target: str, justification: str
) -> PromotionRequest:
    """Ask for `version` to take alias `target`; notifies the eligible reviewers.

    Refused when the version is gone, already holds the alias, fails a metric gate, or
    another request for the same environment is still open.
    """
    MODEL_PERMISSIONS.require(user, "request_promotion", model)
    _require_environment(target)
    justification = (justification or "").strip()
    if not justification:
        raise ValidationError({"justification": "Say why this version should be promoted."})

    with transaction.atomic():
        model = _locked_model(model.pk)
        model_version = model.versions.filter(version=version, deleted_in_mlflow=False).first()
        if model_version is None:
            raise ValidationError({"version": f"{model.name} has no version {version}."})
        holder = current_holder(model, target)
        if holder == model_version.version:
            raise ValidationError({"version": f"v{version} already holds {target}."})
        _refuse_in_flight(model, target)

        policy = policy_for(model)
        evidence = build_evidence(version=model_version, target=target, policy=policy)
        failing = [gate["gate"] for gate in evidence["gates"] if not gate["passed"]]
        if failing:
            raise ValidationError({"version": f"Fails the policy gates: {', '.join(failing)}."})

        promotion = PromotionRequest.objects.create(
            model=model,
            version=model_version,
            target=target,
            justification=justification,
            requested_by=user,
            evidence=evidence,
            previous_version=holder,
            required_approvals=policy.required_approvals,
            expires_at=timezone.now() + timedelta(hours=policy.expiry_hours),
        )
        record_audit(
            actor=user,
            action="promotion.requested",
            obj=promotion,
            after={"version": version, "target": target, "justification": justification},
        )
        _notify_reviewers(promotion, policy)
        webhook_emit(
            event=WebhookEvent.REQUESTED,
            model=model,
            payload=promotion_payload(WebhookEvent.REQUESTED, promotion, actor=user),
        )
    logger.info("promotion %s requested by %s", promotion.pk, user.username)
    return promotion


# --- decisions -------------------------------------------------------------------------


def promotion_approve(*, user, promotion_id: int, comment: str = "") -> PromotionRequest:
    """Record an approval; the one that meets the policy approves the request and queues
    the promote task. Concurrent approvals serialise on the request's row lock."""
    with transaction.atomic():
        promotion = _locked_promotion(promotion_id)
        MODEL_PERMISSIONS.require(user, "approve", promotion.model)
        expired = _expire_if_due(promotion)
        if not expired:
            _add_approval(user, promotion, comment.strip())
    if expired:
        raise StateConflict(f"Request #{promotion.pk} has expired.", state=promotion.state)
    return promotion


def _add_approval(user, promotion: PromotionRequest, comment: str) -> None:
    _require_state(promotion, PromotionState.REQUESTED)
    policy = policy_for(promotion.model)
    refusal = reviewer_refusal(user, promotion, policy)
    if refusal:
        raise PermissionDenied(refusal)
    if promotion.approvals.filter(reviewer=user).exists():
        raise StateConflict("You have already reviewed this request.", state=promotion.state)

    Approval.objects.create(
        promotion=promotion, reviewer=user, decision=Decision.APPROVE, comment=comment
    )
    count = promotion.approvals.filter(decision=Decision.APPROVE).count()
    record_audit(
        actor=user,
        action="promotion.approval_added",
        obj=promotion,
        after={"comment": comment, "approvals": count, "required": promotion.required_approvals},
    )
    name = f"{promotion.model.name} v{promotion.version.version} → {promotion.target}"
    if count < promotion.required_approvals:
        announce(
            users=[promotion.requested_by],
            title=f"{user.username} approved {name}",
            body=f"{count} of {promotion.required_approvals} approvals. {comment[:200]}",
            link=promotion.get_absolute_url(),
        )
        return

    _refuse_in_flight(promotion.model, promotion.target, states=IN_FLIGHT)
    promotion.decided_at = timezone.now()
    _transition(
        promotion, PromotionState.APPROVED, actor=user, action="promotion.approved", approvals=count
    )
    announce(
        users=[promotion.requested_by],
        title=f"Approved: {name}",
        body=f"Final approval by {user.username}. Promoting now.",
        level=NotificationLevel.SUCCESS,
        link=promotion.get_absolute_url(),
    )
    webhook_emit(
        event=WebhookEvent.APPROVED,
        model=promotion.model,
        payload=promotion_payload(WebhookEvent.APPROVED, promotion, actor=user),
    )
    _enqueue_promotion(promotion.pk)


def promotion_reject(*, user, promotion_id: int, comment: str) -> PromotionRequest:
    """One eligible reviewer's rejection (with a reason) decides the request."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": "Say why you reject the request."})

    with transaction.atomic():
        promotion = _locked_promotion(promotion_id)
        MODEL_PERMISSIONS.require(user, "approve", promotion.model)
        expired = _expire_if_due(promotion)
        if not expired:
            _reject(user, promotion, comment)
    if expired:
        raise StateConflict(f"Request #{promotion.pk} has expired.", state=promotion.state)
    return promotion


def _reject(user, promotion: PromotionRequest, comment: str) -> None:
    _require_state(promotion, PromotionState.REQUESTED)
    refusal = reviewer_refusal(user, promotion, policy_for(promotion.model))
    if refusal:
        raise PermissionDenied(refusal)
    if promotion.approvals.filter(reviewer=user).exists():
        raise StateConflict("You have already reviewed this request.", state=promotion.state)

    Approval.objects.create(
        promotion=promotion, reviewer=user, decision=Decision.REJECT, comment=comment
    )
    promotion.decided_at = timezone.now()
    _transition(
        promotion, PromotionState.REJECTED, actor=user, action="promotion.rejected", comment=comment
    )
    announce(
        users=[promotion.requested_by],
        title=f"Rejected: {promotion.model.name} v{promotion.version.version} → {promotion.target}",
        body=f"{user.username}: {comment[:200]}",
        level=NotificationLevel.WARNING,
        link=promotion.get_absolute_url(),
    )
    webhook_emit(
        event=WebhookEvent.REJECTED,
        model=promotion.model,
        payload=promotion_payload(WebhookEvent.REJECTED, promotion, actor=user),
    )


def promotion_cancel(*, user, promotion_id: int) -> PromotionRequest:
    """The requester (or a model manager) withdraws a request nobody has decided yet."""
    with transaction.atomic():
        promotion = _locked_promotion(promotion_id)
        is_owner = MODEL_PERMISSIONS.can(user, "manage", promotion.model)
        if promotion.requested_by_id != user.pk and not is_owner:
            raise PermissionDenied("Only the requester or a model manager may cancel.")
        _require_state(promotion, PromotionState.REQUESTED)
        promotion.decided_at = timezone.now()
        _transition(promotion, PromotionState.CANCELLED, actor=user, action="promotion.cancelled")
    return promotion


def promotions_expire_due() -> int:
    """Expire every undecided request past its deadline (run by beat); returns how many."""
    due = PromotionRequest.objects.filter(
        state=PromotionState.REQUESTED, expires_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    expired = 0
    for promotion_id in list(due):
        with transaction.atomic():
            expired += _expire_if_due(_locked_promotion(promotion_id))
    return expired


def promotions_resume_stalled(*, older_than: timedelta | None = None) -> list[int]:
    """Queue the promote task again for approved or promoting requests that have not moved
    for longer than the longest retry delay (their task message was lost); returns their ids.
    A duplicate is harmless: the task is idempotent and serialised by row locks."""
    limit = older_than or timedelta(seconds=conf.promote_retry_cap_seconds() + 300)
    stalled = list(
        PromotionRequest.objects.filter(
            state__in=IN_FLIGHT, updated_at__lt=timezone.now() - limit
        ).values_list("pk", flat=True)
    )
    from apps.registry.tasks import promote_version

    for promotion_id in stalled:
        promote_version.delay(promotion_id)
    if stalled:
        logger.warning("queued stalled promotions again: %s", stalled)
    return stalled


# --- roll back -------------------------------------------------------------------------


def model_rollback(*, user, model: RegisteredModel, target: str, reason: str) -> PromotionRequest:
    """Return `target` to the version that held it before the current holder.

    With a policy that lets roll backs through at once, the request is approved on the
    spot (the emergency path) and the promote task runs; otherwise it awaits reviewers.
    """
    MODEL_PERMISSIONS.require(user, "promote", model)
    _require_environment(target)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "A roll back needs a reason."})

    with transaction.atomic():
        model = _locked_model(model.pk)
        holder = current_holder(model, target)
        if holder is None:
            raise ValidationError({"target": f"No version holds {target}."})
        previous = previous_holder(model, target)
        if previous is None:
            raise ValidationError({"target": f"No earlier version of {target} to return to."})
        _refuse_in_flight(model, target, states=IN_FLIGHT)

        policy = policy_for(model)
        emergency = not policy.rollback_requires_approval
        promotion = PromotionRequest.objects.create(
            model=model,
            version=previous,
            target=target,
            kind=PromotionKind.ROLLBACK,
            emergency=emergency,
            justification=reason,
            requested_by=user,
            evidence=build_evidence(version=previous, target=target, policy=ApprovalPolicy()),
            previous_version=holder,
            required_approvals=0 if emergency else policy.required_approvals,
            state=PromotionState.APPROVED if emergency else PromotionState.REQUESTED,
            decided_at=timezone.now() if emergency else None,
            expires_at=None if emergency else timezone.now() + timedelta(hours=policy.expiry_hours),
        )
        record_audit(
            actor=user,
            action="rollback.emergency" if emergency else "rollback.requested",
            obj=promotion,
            before={"alias": target, "version": holder},
            after={"alias": target, "version": previous.version, "reason": reason},
        )
        if emergency:
            _enqueue_promotion(promotion.pk)
        else:
            _notify_reviewers(promotion, policy)
            webhook_emit(
                event=WebhookEvent.REQUESTED,
                model=model,
                payload=promotion_payload(WebhookEvent.REQUESTED, promotion, actor=user),
            )
    logger.info("roll back %s of %s@%s by %s", promotion.pk, model.name, target, user.username)
    return promotion


# --- the promote step (Celery task) -------------------------------------------------------


def promotion_perform(*, promotion_id: int) -> str:
    """Move the alias in MLflow for an approved request; safe to run any number of times.

    Raises MlflowUnavailable for the task to retry; every other outcome is recorded on the
    request. Returns the request's state afterwards.
    """
    with transaction.atomic():
        promotion = _locked_promotion(promotion_id)
        if promotion.state == PromotionState.APPROVED:
            _transition(
                promotion, PromotionState.PROMOTING, actor=None, action="promotion.promoting"
            )
        if promotion.state != PromotionState.PROMOTING:
            return promotion.state
        promotion.attempts += 1
        promotion.save(update_fields=["attempts", "updated_at"])

    with transaction.atomic():
        promotion = _locked_promotion(promotion_id)
        if promotion.state != PromotionState.PROMOTING:
            return promotion.state
        # Held while MLflow is written, so the sync never mistakes this move for an outside one.
        model = _locked_model(promotion.model_id)
        refusal = _promotion_refusal(promotion, model)
        if refusal:
            _fail(promotion, refusal)
            return promotion.state
        _move_alias(promotion, model)
    return promotion.state


def _promotion_refusal(promotion: PromotionRequest, model: RegisteredModel) -> str:
    """Why the alias must not move ("" when it may); MlflowUnavailable propagates."""
    number = promotion.version.version
    try:
        mlflow_gateway.get_model_version(model.name, number)
    except mlflow_gateway.MlflowUnavailable:
        raise
    except mlflow_gateway.MlflowError as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return f"Version {number} of {model.name} was deleted in MLflow."
        return f"MLflow refused to read version {number}: {exc}"[:500]
    if promotion.kind == PromotionKind.ROLLBACK or not promotion.version.run_id:
        return ""

    run = mlflow_gateway.get_run(promotion.version.run_id)
    gates = parse_gates(policy_for(model).metric_gates)
    failing = [r.gate for r in evaluate_gates(gates, dict(run.data.metrics)) if not r.passed]
    if failing:
        return f"Fails the policy gates at promotion time: {', '.join(failing)}."
    return ""


def _move_alias(promotion: PromotionRequest, model: RegisteredModel) -> None:
    """Point the alias at the version unless it already does, tag both versions, record
    the assignment and finish the request (caller holds both row locks)."""
    number, alias = promotion.version.version, promotion.target
    mlflow_holder = mlflow_gateway.get_registered_model(model.name).aliases.get(alias)
    mlflow_holder = int(mlflow_holder) if mlflow_holder is not None else None
    open_row = AliasAssignment.objects.filter(
        model=model, alias=alias, ended_at__isnull=True
    ).first()

    if mlflow_holder != number:
        mlflow_gateway.set_model_alias(model.name, alias, number)
        logger.info(
            "moved %s@%s from v%s to v%s (request %s)",
            model.name,
            alias,
            mlflow_holder,
            number,
            promotion.pk,
        )
    previous = mlflow_holder if mlflow_holder not in (None, number) else None
    if previous is None and open_row is not None and open_row.version != number:
        previous = open_row.version
    now = timezone.now()
    mlflow_gateway.set_model_version_tag(model.name, number, "env", alias)
    if previous is not None:
        mlflow_gateway.set_model_version_tag(
            model.name,
            previous,
            f"portal.replaced.{alias}",
            f"by v{number} at {now:%Y-%m-%dT%H:%M:%SZ} (request {promotion.pk})",
        )

    if open_row is None or open_row.version != number:
        _record_assignment(promotion, model, open_row, now)
    _refresh_version_aliases(model, alias, number)

    promotion.promoted_at = now
    promotion.retrying = False
    promotion.last_error = ""
    rollback = promotion.kind == PromotionKind.ROLLBACK
    _transition(
        promotion,
        PromotionState.PROMOTED,
        actor=None,
        action="rollback.performed" if rollback else "promotion.promoted",
        alias=alias,
        version=number,
        previous_version=previous,
    )
    _announce_promoted(promotion, previous)


def _record_assignment(promotion, model, open_row, now) -> None:
    if open_row is not None:
        open_row.ended_at = now
        open_row.save(update_fields=["ended_at"])
    if promotion.kind == PromotionKind.PROMOTION:
        how = AssignmentHow.PORTAL
    else:
        how = AssignmentHow.EMERGENCY if promotion.emergency else AssignmentHow.ROLLBACK
    approvers = list(
        promotion.approvals.filter(decision=Decision.APPROVE).values_list(
            "reviewer__username", flat=True
        )
    )
    AliasAssignment.objects.create(
        model=model,
        alias=promotion.target,
        version=promotion.version.version,
        started_at=now,
        how=how,
        promotion=promotion,
        actor=promotion.requested_by,
        approvers=approvers,
        reason=promotion.justification if promotion.kind == PromotionKind.ROLLBACK else "",
    )


def _refresh_version_aliases(model: RegisteredModel, alias: str, number: int) -> None:
    # Filtered in Python: SQLite has no JSON containment lookup.
    for version in model.versions.all():
        wanted = sorted(
            {*version.aliases, alias}
            if version.version == number
            else set(version.aliases) - {alias}
        )
        if wanted != version.aliases:
            version.aliases = wanted
            version.save(update_fields=["aliases"])


def _announce_promoted(promotion: PromotionRequest, previous: int | None) -> None:
    rollback = promotion.kind == PromotionKind.ROLLBACK
    name = promotion.model.name
    title = (
        f"Rolled back: {name}@{promotion.target} is v{promotion.version.version} again"
        if rollback
        else f"Promoted: {name} v{promotion.version.version} is {promotion.target}"
    )
    reviewers = [a.reviewer for a in promotion.approvals.select_related("reviewer")]
    announce(
        users=[promotion.requested_by, *reviewers],
        title=title,
        body=f"Previously v{previous}." if previous else "",
        level=NotificationLevel.SUCCESS,
        link=promotion.get_absolute_url(),
    )
    event = WebhookEvent.ROLLED_BACK if rollback else WebhookEvent.PROMOTED
    webhook_emit(event=event, model=promotion.model, payload=promotion_payload(event, promotion))


def _fail(promotion: PromotionRequest, reason: str) -> None:
    promotion.failure_reason = reason
    promotion.retrying = False
    _transition(
        promotion, PromotionState.FAILED, actor=None, action="promotion.failed", reason=reason
    )
    announce(
        users=[promotion.requested_by],
        title=f"Promotion failed: {promotion.model.name} v{promotion.version.version} → "
        f"{promotion.target}",
        body=reason,
        level=NotificationLevel.DANGER,
        link=promotion.get_absolute_url(),
    )
    logger.warning("promotion %s failed: %s", promotion.pk, reason)


def promotion_mark_retrying(*, promotion_id: int, error: str) -> None:
    """MLflow was unreachable: show "promoting (retrying)" until the next attempt."""
    PromotionRequest.objects.filter(pk=promotion_id, state=PromotionState.PROMOTING).update(
        retrying=True, last_error=error[:1000], updated_at=timezone.now()
    )


def promotion_give_up(*, promotion_id: int, error: str) -> None:
    """Retries exhausted: fail the request with the last error (the alias did not move)."""
    with transaction.atomic():
        promotion = _locked_promotion(promotion_id)
        if promotion.state == PromotionState.PROMOTING:
            _fail(promotion, f"MLflow stayed unreachable: {error}"[:1000])


# --- model settings ----------------------------------------------------------------------


def policy_update(
    *,
    user,
    model: RegisteredModel,
    required_approvals: int,
    eligible_users=(),
    eligible_teams=(),
    exclude_run_author: bool = False,
    metric_gates: str = "",
    rollback_requires_approval: bool = False,
    expiry_hours: int = 72,
) -> ApprovalPolicy:
    """Replace the model's approval policy (owners only); open requests keep their N."""
    MODEL_PERMISSIONS.require(user, "manage", model)
    if required_approvals < 1:
        raise ValidationError({"required_approvals": "At least one approval is required."})
    if expiry_hours < 1:
        raise ValidationError({"expiry_hours": "Requests need at least an hour to be decided."})
    try:
        parse_gates(metric_gates)
    except GateSyntaxError as exc:
        raise ValidationError({"metric_gates": str(exc)}) from None

    with transaction.atomic():
        model = _locked_model(model.pk)
        policy, _ = ApprovalPolicy.objects.get_or_create(model=model)
        before = policy_snapshot(policy)
        policy.required_approvals = required_approvals
        policy.exclude_run_author = exclude_run_author
        policy.metric_gates = metric_gates.strip()
        policy.rollback_requires_approval = rollback_requires_approval
        policy.expiry_hours = expiry_hours
        policy.updated_by = user
        policy.save()
        policy.eligible_users.set(eligible_users)
        policy.eligible_teams.set(eligible_teams)
        record_audit(
            actor=user,
            action="policy.updated",
            obj=model,
            before=before,
            after=policy_snapshot(policy),
        )
    return policy


def policy_snapshot(policy: ApprovalPolicy) -> dict:
    saved = policy.pk is not None
    return {
        "required_approvals": policy.required_approvals,
        "eligible_users": sorted(u.username for u in policy.eligible_users.all()) if saved else [],
        "eligible_teams": sorted(g.name for g in policy.eligible_teams.all()) if saved else [],
        "exclude_run_author": policy.exclude_run_author,
        "metric_gates": policy.metric_gates,
        "rollback_requires_approval": policy.rollback_requires_approval,
        "expiry_hours": policy.expiry_hours,
    }


def model_grant(*, user, model: RegisteredModel, action: str, grantee) -> None:
    """Give a user or a team (group) one action on the model (owners only)."""
    _change_grant(user=user, model=model, action=action, grantee=grantee, add=True)


def model_revoke(*, user, model: RegisteredModel, action: str, grantee) -> None:
    _change_grant(user=user, model=model, action=action, grantee=grantee, add=False)


def _change_grant(*, user, model, action, grantee, add: bool) -> None:
    MODEL_PERMISSIONS.require(user, "manage", model)
    if action not in GRANTABLE_ACTIONS:
        raise ValidationError({"action": f"Unknown action {action!r}."})

    with transaction.atomic():
        if add:
            MODEL_PERMISSIONS.grant(action, grantee, model)
        else:
            MODEL_PERMISSIONS.revoke(action, grantee, model)
        subject = (
            {"team": grantee.name} if isinstance(grantee, Group) else {"user": grantee.username}
        )
        record_audit(
            actor=user,
            action="model.grant_added" if add else "model.grant_removed",
            obj=model,
            after={"action": action, **subject},
        )


def model_update_metadata(
    *, user, model: RegisteredModel, description: str, tags: dict[str, str]
) -> RegisteredModel:
    """Save description and tags now and write them back to MLflow in a task (owners only)."""
    MODEL_PERMISSIONS.require(user, "manage", model)
    bad = [key for key in tags if not key or len(key) > 250]
    if bad:
        raise ValidationError({"tags": "Tag names must be 1 to 250 characters."})

    with transaction.atomic():
        model = _locked_model(model.pk)
        before = {"description": model.description, "tags": model.tags}
        model.description = description.strip()
        model.tags = {key.strip(): str(value) for key, value in tags.items()}
        model.metadata_pending = True
        model.save(update_fields=["description", "tags", "metadata_pending"])
        record_audit(
            actor=user,
            action="model.metadata_updated",
            obj=model,
            before=before,
            after={"description": model.description, "tags": model.tags},
        )
        from apps.registry.tasks import push_model_metadata

        enqueue(push_model_metadata, model_id=model.pk)
    return model


def model_metadata_push(*, model_id: int) -> None:
    """Write the portal's description and tags of a model to MLflow (task body)."""
    with transaction.atomic():
        model = _locked_model(model_id)
        if not model.metadata_pending:
            return
        current = mlflow_gateway.get_registered_model(model.name).tags or {}
        mlflow_gateway.write_registered_model_metadata(
            model.name,
            description=model.description,
            set_tags={k: v for k, v in model.tags.items() if current.get(k) != v},
            delete_tags=[k for k in current if k not in model.tags],
        )
        model.metadata_pending = False
        model.save(update_fields=["metadata_pending"])


def webhook_create(*, user, model: RegisteredModel | None, url: str, events=()) -> Webhook:
    """Add a receiver for one model (its owners) or for all models (platform admins)."""
    if model is None:
        if not user.has_perm(MODEL_PERMISSIONS.full(MODEL_PERMISSIONS.codename("manage"))):
            raise PermissionDenied("Only platform admins add global webhooks.")
    else:
        MODEL_PERMISSIONS.require(user, "manage", model)
    unknown = set(events) - set(WebhookEvent.values)
    if unknown:
        raise ValidationError({"events": f"Unknown events: {', '.join(sorted(unknown))}."})
    check_webhook_target(url)

    with transaction.atomic():
        webhook = Webhook(model=model, url=url, events=list(events), created_by=user)
        webhook.full_clean()
        webhook.save()
        record_audit(
            actor=user,
            action="webhook.created",
            obj=webhook,
            after={"url": url, "events": list(events), "model": model.name if model else None},
        )
    return webhook


def webhook_delete(*, user, webhook: Webhook) -> None:
    if webhook.model is None:
        if not user.has_perm(MODEL_PERMISSIONS.full(MODEL_PERMISSIONS.codename("manage"))):
            raise PermissionDenied("Only platform admins remove global webhooks.")
    else:
        MODEL_PERMISSIONS.require(user, "manage", webhook.model)
    with transaction.atomic():
        record_audit(actor=user, action="webhook.deleted", obj=webhook, before={"url": webhook.url})
        webhook.delete()
