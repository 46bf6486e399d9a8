"""Reads for the registry: holders, history, comparisons, reviewers and grants."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from guardian.shortcuts import get_groups_with_perms, get_users_with_perms

from apps.registry import conf
from apps.registry.models import (
    AliasAssignment,
    ApprovalPolicy,
    ModelVersion,
    PromotionRequest,
    PromotionState,
    RegisteredModel,
)
from apps.registry.permissions import GRANTABLE_ACTIONS, MODEL_PERMISSIONS


def policy_for(model: RegisteredModel) -> ApprovalPolicy:
    """The model's policy, or the unsaved default: one approval by anyone allowed to approve,
    never the requester, no gates, roll back at once, 72 hours to decide."""
    try:
        return model.policy
    except ApprovalPolicy.DoesNotExist:
        return ApprovalPolicy(model=model)


def policy_restricts_reviewers(policy: ApprovalPolicy) -> bool:
    if policy.pk is None:
        return False
    return policy.eligible_users.exists() or policy.eligible_teams.exists()


def current_holder(model: RegisteredModel, alias: str) -> int | None:
    """The version holding `alias` according to the portal's alias history."""
    return (
        AliasAssignment.objects.filter(model=model, alias=alias, ended_at__isnull=True)
        .values_list("version", flat=True)
        .first()
    )


def current_holders(model: RegisteredModel) -> dict[str, int]:
    open_rows = AliasAssignment.objects.filter(model=model, ended_at__isnull=True)
    return dict(open_rows.values_list("alias", "version"))


def previous_holder(model: RegisteredModel, alias: str) -> ModelVersion | None:
    """The version that held `alias` just before its current holder (for roll back)."""
    holder = current_holder(model, alias)
    closed = AliasAssignment.objects.filter(model=model, alias=alias, ended_at__isnull=False)
    if holder is not None:
        closed = closed.exclude(version=holder)
    for version_number in closed.order_by("-ended_at", "-id").values_list("version", flat=True):
        version = model.versions.filter(version=version_number, deleted_in_mlflow=False).first()
        if version is not None:
            return version
    return None


def alias_history(model: RegisteredModel):
    return AliasAssignment.objects.filter(model=model).select_related("actor", "promotion")


@dataclass
class MetricDelta:
    name: str
    value: float | None
    baseline: float | None

    @property
    def delta(self) -> float | None:
        if self.value is None or self.baseline is None:
            return None
        return self.value - self.baseline


def compare_metrics(metrics: dict, baseline: dict) -> list[MetricDelta]:
    """Every metric of either side, sorted by name, with the difference where both have it."""
    names = sorted(set(metrics) | set(baseline))
    return [MetricDelta(name, metrics.get(name), baseline.get(name)) for name in names]


def comparison_baseline(model: RegisteredModel, alias: str | None = None) -> ModelVersion | None:
    """The version holding the production alias (or `alias`), compared against on pages."""
    number = current_holder(model, alias or conf.production_alias())
    if number is None:
        return None
    return model.versions.filter(version=number).first()


def holders_of(perm_action: str, model: RegisteredModel) -> set[int]:
    """Ids of active users who hold an action on the model, by object grant or by role."""
    codename = MODEL_PERMISSIONS.codename(perm_action)
    users = get_users_with_perms(
        model, with_group_users=True, with_superusers=True, only_with_perms_in=[codename]
    )
    ids = {user.pk for user in users if user.is_active}
    permission = Permission.objects.filter(
        content_type__app_label="registry", codename=codename
    ).first()
    if permission is not None:
        global_holders = get_user_model().objects.filter(
            Q(groups__permissions=permission) | Q(user_permissions=permission), is_active=True
        )
        ids.update(global_holders.values_list("pk", flat=True))
    return ids


def owners_of(model: RegisteredModel) -> list:
    """Users granted `manage` on the model itself; platform admins when nobody is."""
    codename = MODEL_PERMISSIONS.codename("manage")
    owners = [
        user
        for user in get_users_with_perms(
            model, with_group_users=True, only_with_perms_in=[codename]
        )
        if user.is_active
    ]
    if owners:
        return owners
    return list(get_user_model().objects.filter(pk__in=holders_of("manage", model)))


def reviewer_refusal(user, promotion: PromotionRequest, policy: ApprovalPolicy) -> str:
    """Why `user` may not review `promotion` ("" when they may)."""
    if not MODEL_PERMISSIONS.can(user, "approve", promotion.model):
        return "You may not approve promotions of this model."
    if user.pk == promotion.requested_by_id:
        return "Separation of duties: you cannot review your own request."
    author = promotion.version.run_author
    if policy.exclude_run_author and author and author == user.username:
        return "Separation of duties: you trained this version's run."
    if policy_restricts_reviewers(policy):
        listed = policy.eligible_users.filter(pk=user.pk).exists()
        in_team = user.groups.filter(pk__in=policy.eligible_teams.values("pk")).exists()
        if not (listed or in_team):
            return "The model's policy does not list you as a reviewer."
    return ""


def eligible_reviewers(promotion: PromotionRequest, policy: ApprovalPolicy) -> list:
    """Every user who may review the request under the model's policy."""
    candidates = get_user_model().objects.filter(pk__in=holders_of("approve", promotion.model))
    return [user for user in candidates if not reviewer_refusal(user, promotion, policy)]


def visible_promotions(user):
    models = MODEL_PERMISSIONS.visible_to(user)
    return PromotionRequest.objects.filter(model__in=models).select_related(
        "model", "version", "requested_by"
    )


def reviews_awaiting(user) -> list[PromotionRequest]:
    """Open requests `user` may review and has not reviewed yet, oldest first."""
    waiting = (
        visible_promotions(user)
        .filter(state=PromotionState.REQUESTED)
        .exclude(approvals__reviewer=user)
        .order_by("created_at")
    )
    return [p for p in waiting if not reviewer_refusal(user, p, policy_for(p.model))]


@dataclass
class Grant:
    kind: str  # "user" or "team"
    subject_id: int
    name: str
    actions: list[tuple[str, str]]  # (action, label)


def grants_of(model: RegisteredModel) -> list[Grant]:
    """Object grants on the model, per user and per team, in the order of GRANTABLE_ACTIONS."""
    by_codename = {MODEL_PERMISSIONS.codename(a): a for a in GRANTABLE_ACTIONS}

    def actions(codenames) -> list[tuple[str, str]]:
        return [(a, GRANTABLE_ACTIONS[a]) for c, a in by_codename.items() if c in codenames]

    grants = []
    users = get_users_with_perms(model, attach_perms=True, with_group_users=False)
    for user, codenames in sorted(users.items(), key=lambda item: item[0].username):
        grants.append(Grant("user", user.pk, user.username, actions(codenames)))
    groups = get_groups_with_perms(model, attach_perms=True)
    for group, codenames in sorted(groups.items(), key=lambda item: item[0].name):
        grants.append(Grant("team", group.pk, group.name, actions(codenames)))
    return grants


def team_groups():
    return Group.objects.filter(team__isnull=False).order_by("name")


def holders_by_model(models) -> dict[int, dict[str, int]]:
    """{model id: {alias: version}} for the given models, in one query."""
    holders: dict[int, dict[str, int]] = {}
    rows = AliasAssignment.objects.filter(model__in=models, ended_at__isnull=True)
    for model_id, alias, version in rows.values_list("model_id", "alias", "version"):
        holders.setdefault(model_id, {})[alias] = version
    return holders


PREFERRED_METRICS = ("f1", "precision", "recall", "roc_auc", "accuracy", "rmse")


def headline_metrics(versions, limit: int = 4) -> list[str]:
    """The metric columns of the versions table: well-known names first, then others."""
    names = set()
    for version in versions:
        names.update(version.run_metrics)
    preferred = [name for name in PREFERRED_METRICS if name in names]
    others = sorted(names - set(preferred))
    return (preferred + others)[:limit]


def rollback_options(model: RegisteredModel) -> list[tuple[str, int, int]]:
    """(alias, current version, version a roll back returns to) for each alias that has one."""
    options = []
    for alias, holder in sorted(current_holders(model).items()):
        previous = previous_holder(model, alias)
        if previous is not None:
            options.append((alias, holder, previous.version))
    return options


def experiment_url(version: ModelVersion) -> str:
    """A link to the run's page in the experiments app, when that app provides one."""
    from django.urls import NoReverseMatch, reverse

    if not version.run_id:
        return ""
    try:
        return reverse("experiments:run-detail", args=[version.run_id])
    except NoReverseMatch:
        return ""


def version_rows(versions, baseline: ModelVersion | None, names: list[str]):
    """(version, [MetricDelta per headline metric]) against the baseline version."""
    base = baseline.run_metrics if baseline else {}
    return [
        (version, [MetricDelta(n, version.run_metrics.get(n), base.get(n)) for n in names])
        for version in versions
    ]


def environment_cards(model: RegisteredModel) -> list[tuple[str, AliasAssignment | None]]:
    """Each configured environment with the assignment holding it now (or None)."""
    open_rows = {
        row.alias: row for row in AliasAssignment.objects.filter(model=model, ended_at__isnull=True)
    }
    return [(env, open_rows.get(env)) for env in conf.environments()]
