"""Governance services against the real PostgreSQL database and the real MLflow store."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.core.models import AuditEntry, Notification
from apps.registry import services
from apps.registry.exceptions import StateConflict
from apps.registry.gates import GateSyntaxError, evaluate_gates, parse_gates
from apps.registry.models import (
    AliasAssignment,
    ApprovalPolicy,
    AssignmentHow,
    PromotionState,
)
from apps.registry.sync import registry_sync
from tests.registry.conftest import grant_demo_access

pytestmark = pytest.mark.django_db


def alias_holder(client, name, alias="production"):
    value = client.get_registered_model(name).aliases.get(alias)
    return None if value is None else int(value)


def two_reviewer_policy(model):
    policy = ApprovalPolicy.objects.create(model=model, required_approvals=2)
    return policy


def request_v3(model, user, target="production"):
    return services.promotion_request(
        user=user, model=model, version=3, target=target, justification="better f1"
    )


def test_sync_mirrors_versions_aliases_and_run_metrics(mirrored_model):
    model = mirrored_model()

    v1 = model.versions.get(version=1)
    assert model.versions.count() == 3
    assert v1.aliases == ["production"]
    assert v1.run_metrics["f1"] == pytest.approx(0.71)
    assert v1.run_author == "alice"
    row = AliasAssignment.objects.get(model=model, alias="production")
    assert (row.version, row.how, row.ended_at) == (1, AssignmentHow.DISCOVERED, None)


def test_alias_moved_in_mlflow_is_audited_as_outside_and_owners_are_told(
    mirrored_model, mlflow_client, data_scientist
):
    model = mirrored_model()
    services.MODEL_PERMISSIONS.grant("manage", data_scientist, model)

    mlflow_client.set_registered_model_alias(model.name, "production", "2")
    registry_sync(names=[model.name])

    entry = AuditEntry.objects.get(action="registry.alias_changed_outside", object_id=model.pk)
    assert entry.source == "sync"
    assert entry.before == {"alias": "production", "version": 1}
    assert entry.after == {"alias": "production", "version": 2}
    latest = AliasAssignment.objects.get(model=model, alias="production", ended_at=None)
    assert (latest.version, latest.how) == (2, AssignmentHow.OUTSIDE)
    assert Notification.objects.filter(
        recipient=data_scientist, title__contains="outside the portal"
    ).exists()


def test_a_request_needs_the_policy_approvals_before_it_is_approved(
    mirrored_model, data_scientist, reviewer, second_reviewer
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    two_reviewer_policy(model)

    promotion = request_v3(model, data_scientist)
    services.promotion_approve(user=reviewer, promotion_id=promotion.pk, comment="ok")
    promotion.refresh_from_db()
    assert promotion.state == PromotionState.REQUESTED

    services.promotion_approve(user=second_reviewer, promotion_id=promotion.pk, comment="ok")
    promotion.refresh_from_db()
    assert promotion.state == PromotionState.APPROVED
    assert promotion.evidence["holder"]["version"] == 1
    assert promotion.evidence["deltas"]["f1"] == pytest.approx(0.15)
    actions = list(
        AuditEntry.objects.filter(object_id=promotion.pk, object_type="registry.promotionrequest")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "promotion.requested",
        "promotion.approval_added",
        "promotion.approval_added",
        "promotion.approved",
    ]


def test_reviewers_are_notified_of_a_new_request(mirrored_model, data_scientist, reviewer):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)

    request_v3(model, data_scientist)

    assert Notification.objects.filter(recipient=reviewer, title__startswith="Review").exists()
    assert not Notification.objects.filter(recipient=data_scientist).exists()


def test_it_moves_the_alias_tags_the_previous_holder_and_records_approvers(
    mirrored_model, mlflow_client, data_scientist, reviewer
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    promotion = request_v3(model, data_scientist)
    services.promotion_approve(user=reviewer, promotion_id=promotion.pk)

    assert services.promotion_perform(promotion_id=promotion.pk) == PromotionState.PROMOTED

    assert alias_holder(mlflow_client, model.name) == 3
    assert mlflow_client.get_model_version(model.name, "3").tags["env"] == "production"
    assert "portal.replaced.production" in mlflow_client.get_model_version(model.name, "1").tags
    row = AliasAssignment.objects.get(model=model, alias="production", ended_at=None)
    assert (row.version, row.how, row.approvers) == (3, AssignmentHow.PORTAL, ["bob"])
    assert model.versions.get(version=3).aliases == ["production"]
    assert model.versions.get(version=1).aliases == []


def test_running_the_promotion_twice_moves_the_alias_once(
    mirrored_model, mlflow_client, data_scientist, reviewer
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    promotion = request_v3(model, data_scientist)
    services.promotion_approve(user=reviewer, promotion_id=promotion.pk)

    services.promotion_perform(promotion_id=promotion.pk)
    tagged = mlflow_client.get_model_version(model.name, "1").tags["portal.replaced.production"]
    services.promotion_perform(promotion_id=promotion.pk)

    assert AliasAssignment.objects.filter(model=model, how=AssignmentHow.PORTAL).count() == 1
    assert (
        AuditEntry.objects.filter(action="promotion.promoted", object_id=promotion.pk).count() == 1
    )
    assert (
        mlflow_client.get_model_version(model.name, "1").tags["portal.replaced.production"]
        == tagged
    )


def test_a_requester_never_approves_their_own_request(mirrored_model, data_scientist):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    services.MODEL_PERMISSIONS.grant("approve", data_scientist, model)
    promotion = request_v3(model, data_scientist)

    with pytest.raises(PermissionDenied, match="own request"):
        services.promotion_approve(user=data_scientist, promotion_id=promotion.pk)


def test_the_run_author_may_be_excluded_from_reviewing(mirrored_model, data_scientist, reviewer):
    model = mirrored_model(author="bob")
    grant_demo_access(model, data_scientist=data_scientist)
    ApprovalPolicy.objects.create(model=model, exclude_run_author=True)
    promotion = request_v3(model, data_scientist)

    with pytest.raises(PermissionDenied, match="trained"):
        services.promotion_approve(user=reviewer, promotion_id=promotion.pk)


def test_a_policy_limits_reviewers_to_listed_users_and_teams(
    mirrored_model, data_scientist, reviewer, second_reviewer
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    policy = ApprovalPolicy.objects.create(model=model)
    policy.eligible_users.set([second_reviewer])
    promotion = request_v3(model, data_scientist)

    with pytest.raises(PermissionDenied, match="does not list you"):
        services.promotion_approve(user=reviewer, promotion_id=promotion.pk)
    services.promotion_approve(user=second_reviewer, promotion_id=promotion.pk)


def test_approving_a_decided_request_conflicts_with_its_state(
    mirrored_model, data_scientist, reviewer, second_reviewer
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    promotion = request_v3(model, data_scientist)
    services.promotion_reject(user=reviewer, promotion_id=promotion.pk, comment="too risky")

    with pytest.raises(StateConflict) as caught:
        services.promotion_approve(user=second_reviewer, promotion_id=promotion.pk)
    assert caught.value.state == PromotionState.REJECTED


def test_approving_an_expired_request_expires_it_and_conflicts(
    mirrored_model, data_scientist, reviewer
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    promotion = request_v3(model, data_scientist)
    promotion.expires_at = timezone.now() - timedelta(minutes=1)
    promotion.save()

    with pytest.raises(StateConflict) as caught:
        services.promotion_approve(user=reviewer, promotion_id=promotion.pk)

    assert caught.value.state == PromotionState.EXPIRED
    promotion.refresh_from_db()
    assert promotion.state == PromotionState.EXPIRED
    assert AuditEntry.objects.filter(action="promotion.expired", object_id=promotion.pk).exists()


def test_a_failing_metric_gate_refuses_the_request(mirrored_model, data_scientist):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    ApprovalPolicy.objects.create(model=model, metric_gates="f1 >= 0.9\nroc_auc > 0.5")

    with pytest.raises(ValidationError, match="f1 >= 0.9"):
        request_v3(model, data_scientist)


def test_a_second_open_request_for_the_same_environment_conflicts(mirrored_model, data_scientist):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    request_v3(model, data_scientist)

    with pytest.raises(StateConflict):
        services.promotion_request(
            user=data_scientist, model=model, version=2, target="production", justification="x"
        )


def test_a_version_deleted_in_mlflow_fails_the_request_with_a_reason(
    mirrored_model, mlflow_client, data_scientist, reviewer
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    promotion = request_v3(model, data_scientist)
    services.promotion_approve(user=reviewer, promotion_id=promotion.pk)

    mlflow_client.delete_model_version(model.name, "3")
    services.promotion_perform(promotion_id=promotion.pk)

    promotion.refresh_from_db()
    assert promotion.state == PromotionState.FAILED
    assert "deleted in MLflow" in promotion.failure_reason
    assert alias_holder(mlflow_client, model.name) == 1


def test_emergency_roll_back_returns_the_alias_to_the_previous_holder(
    mirrored_model, mlflow_client, data_scientist, reviewer, platform_admin
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    promotion = request_v3(model, data_scientist)
    services.promotion_approve(user=reviewer, promotion_id=promotion.pk)
    services.promotion_perform(promotion_id=promotion.pk)

    rollback = services.model_rollback(
        user=platform_admin, model=model, target="production", reason="alerts firing"
    )
    assert rollback.state == PromotionState.APPROVED and rollback.emergency
    services.promotion_perform(promotion_id=rollback.pk)

    assert alias_holder(mlflow_client, model.name) == 1
    row = AliasAssignment.objects.get(model=model, alias="production", ended_at=None)
    assert (row.version, row.how, row.reason) == (1, AssignmentHow.EMERGENCY, "alerts firing")
    assert AuditEntry.objects.filter(action="rollback.emergency", object_id=rollback.pk).exists()


def test_a_roll_back_needs_a_reason_and_the_promote_permission(
    mirrored_model, data_scientist, platform_admin
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)

    with pytest.raises(PermissionDenied):
        services.model_rollback(user=data_scientist, model=model, target="production", reason="x")
    with pytest.raises(ValidationError, match="reason"):
        services.model_rollback(user=platform_admin, model=model, target="production", reason="")


def test_a_policy_may_require_approval_for_roll_backs(
    mirrored_model, data_scientist, reviewer, platform_admin, mlflow_client
):
    model = mirrored_model()
    mlflow_client.set_registered_model_alias(model.name, "production", "2")
    registry_sync(names=[model.name])
    grant_demo_access(model, data_scientist=data_scientist)
    ApprovalPolicy.objects.create(model=model, rollback_requires_approval=True)

    rollback = services.model_rollback(
        user=platform_admin, model=model, target="production", reason="latency regression"
    )

    assert rollback.state == PromotionState.REQUESTED
    assert rollback.version.version == 1
    services.promotion_approve(user=reviewer, promotion_id=rollback.pk)
    services.promotion_perform(promotion_id=rollback.pk)
    row = AliasAssignment.objects.get(model=model, alias="production", ended_at=None)
    assert (row.version, row.how, row.approvers) == (1, AssignmentHow.ROLLBACK, ["bob"])


def test_gates_are_parsed_without_evaluating_code():
    gates = parse_gates("f1 >= 0.85\n\nval_loss<0.2\nroc_auc == 1e-1")

    assert [str(g) for g in gates] == ["f1 >= 0.85", "val_loss < 0.2", "roc_auc == 0.1"]
    results = evaluate_gates(gates, {"f1": 0.9, "val_loss": 0.3})
    assert [r.passed for r in results] == [True, False, False]
    for bad in ("__import__('os') > 1", "f1 >= 0.8 or True", "f1 => 1", "f1 >= abc"):
        with pytest.raises(GateSyntaxError):
            parse_gates(bad)


def test_description_and_tags_edited_in_the_portal_are_written_back_to_mlflow(
    mirrored_model, mlflow_client, platform_admin
):
    model = mirrored_model()

    services.model_update_metadata(
        user=platform_admin,
        model=model,
        description="Scores card payments.",
        tags={"owner": "fraud-team"},
    )
    registry_sync(names=[model.name])  # must not undo the edit before it reaches MLflow
    model.refresh_from_db()
    assert (model.description, model.metadata_pending) == ("Scores card payments.", True)
    services.model_metadata_push(model_id=model.pk)

    written = mlflow_client.get_registered_model(model.name)
    assert written.description == "Scores card payments."
    assert written.tags == {"owner": "fraud-team"}
    model.refresh_from_db()
    assert not model.metadata_pending


def test_owners_grant_and_revoke_actions_to_teams_with_an_audit_entry(
    mirrored_model, platform_admin, reviewer
):
    model = mirrored_model()
    team = reviewer.groups.get(name="team:reviewers")

    services.model_grant(user=platform_admin, model=model, action="approve", grantee=team)
    assert services.MODEL_PERMISSIONS.can(reviewer, "approve", model)
    services.model_revoke(user=platform_admin, model=model, action="approve", grantee=team)

    assert not services.MODEL_PERMISSIONS.can(reviewer, "approve", model)
    entries = AuditEntry.objects.filter(object_id=model.pk, action__startswith="model.grant")
    assert [e.after for e in entries.order_by("id")] == [
        {"action": "approve", "team": "team:reviewers"},
        {"action": "approve", "team": "team:reviewers"},
    ]


def test_the_mirror_names_the_source_experiment_for_the_lineage(mirrored_model):
    model = mirrored_model()

    assert model.versions.get(version=1).experiment_name == "registry-tests"


def test_governance_notifications_are_also_e_mailed_when_e_mail_is_configured(
    settings, django_capture_on_commit_callbacks, reviewer, smtp_server
):
    from apps.registry.announce import announce
    from apps.registry.tasks import send_governance_email

    host = settings.EMAIL_HOST
    settings.EMAIL_HOST = ""
    with django_capture_on_commit_callbacks() as without_email:
        announce(users=[reviewer], title="Review requested", link="/models/-/promotions/1/")
    settings.EMAIL_HOST = host
    with django_capture_on_commit_callbacks() as with_email:
        announce(users=[reviewer], title="Review requested", link="/models/-/promotions/1/")
    send_governance_email.run(["bob@example.com"], "Review requested", "/models/-/promotions/1/")

    assert len(with_email) == len(without_email) + 1
    assert [m.rcpt_tos for m in smtp_server] == [["bob@example.com"]]
    assert b"Subject: Review requested" in smtp_server[0].content


def test_versions_deleted_in_mlflow_stay_in_the_mirror_marked_deleted(
    mirrored_model, mlflow_client
):
    model = mirrored_model()

    mlflow_client.delete_model_version(model.name, "2")
    registry_sync(names=[model.name])

    assert model.versions.get(version=2).deleted_in_mlflow
    assert not model.versions.get(version=3).deleted_in_mlflow
