"""Registry pages. Thin: fetch with permission (404 when invisible), validate, call a service."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.core.models import AuditEntry
from apps.registry import conf, selectors, services
from apps.registry.exceptions import StateConflict
from apps.registry.forms import (
    DecisionForm,
    GrantForm,
    MetadataForm,
    PolicyForm,
    PromotionRequestForm,
    RollbackForm,
    WebhookForm,
)
from apps.registry.models import OPEN_STATES, PromotionRequest, Webhook, WebhookDelivery
from apps.registry.permissions import GRANTABLE_ACTIONS, MODEL_PERMISSIONS


def conflict_as_409(view):
    """A request in the wrong state answers 409 with that state, on a page of its own."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except StateConflict as exc:
            back = request.headers.get("Referer") or "/models/"
            context = {"message": str(exc), "state": exc.state, "back": back}
            return render(request, "registry/conflict.html", context, status=409)

    return wrapper


def error_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(m for msgs in exc.message_dict.values() for m in msgs)
    return " ".join(exc.messages)


def _model(request, name):
    return MODEL_PERMISSIONS.get_or_404(request.user, name=name)


def _promotion(request, pk) -> PromotionRequest:
    return get_object_or_404(selectors.visible_promotions(request.user), pk=pk)


def _abilities(user, model) -> dict[str, bool]:
    return {action: MODEL_PERMISSIONS.can(user, action, model) for action in GRANTABLE_ACTIONS}


def model_list(request):
    models = (
        MODEL_PERMISSIONS.visible_to(request.user)
        .annotate(
            version_count=Count(
                "versions", filter=Q(versions__deleted_in_mlflow=False), distinct=True
            ),
            open_requests=Count(
                "promotions", filter=Q(promotions__state__in=OPEN_STATES), distinct=True
            ),
        )
        .order_by("name")
    )
    holders = selectors.holders_by_model(models)
    rows = [(model, holders.get(model.pk, {})) for model in models]
    context = {
        "rows": rows,
        "environments": conf.environments(),
        "review_count": len(selectors.reviews_awaiting(request.user)),
    }
    return render(request, "registry/model_list.html", context)


def model_detail(request, name):
    model = _model(request, name)
    can = _abilities(request.user, model)
    versions = list(model.versions.all())
    baseline = selectors.comparison_baseline(model)
    headline = selectors.headline_metrics(versions)
    policy = selectors.policy_for(model)
    context = {
        "model": model,
        "can": can,
        "versions": versions,
        "baseline": baseline,
        "headline_metrics": headline,
        "version_rows": selectors.version_rows(versions, baseline, headline),
        "environments": conf.environments(),
        "env_cards": selectors.environment_cards(model),
        "history": selectors.alias_history(model),
        "promotions": model.promotions.select_related("version", "requested_by")[:30],
        "policy": policy,
        "policy_form": PolicyForm(initial=_policy_initial(policy)),
        "metadata_form": MetadataForm(
            initial={
                "description": model.description,
                "tags": "\n".join(f"{k}={v}" for k, v in sorted(model.tags.items())),
            }
        ),
        "rollback_form": RollbackForm(initial={"target": conf.production_alias()}),
        "rollback_options": selectors.rollback_options(model),
        "grants": selectors.grants_of(model) if can["manage"] else [],
        "grant_form": GrantForm(),
        "webhooks": model.webhooks.all() if can["manage"] else [],
        "deliveries": (
            WebhookDelivery.objects.filter(webhook__model=model).select_related("webhook")[:15]
            if can["manage"]
            else []
        ),
        "webhook_form": WebhookForm(),
        "audit": AuditEntry.objects.filter(
            object_type="registry.registeredmodel", object_id=str(model.pk)
        )[:20],
    }
    return render(request, "registry/model_detail.html", context)


def _policy_initial(policy) -> dict:
    saved = policy.pk is not None
    return {
        "required_approvals": policy.required_approvals,
        "eligible_users": list(policy.eligible_users.all()) if saved else [],
        "eligible_teams": list(policy.eligible_teams.all()) if saved else [],
        "exclude_run_author": policy.exclude_run_author,
        "metric_gates": policy.metric_gates,
        "rollback_requires_approval": policy.rollback_requires_approval,
        "expiry_hours": policy.expiry_hours,
    }


def version_detail(request, name, version):
    model = _model(request, name)
    model_version = get_object_or_404(model.versions, version=version)
    baseline = selectors.comparison_baseline(model)
    comparison = selectors.compare_metrics(
        model_version.run_metrics, baseline.run_metrics if baseline else {}
    )
    context = {
        "model": model,
        "version": model_version,
        "baseline": baseline,
        "production_alias": conf.production_alias(),
        "comparison": comparison,
        "can": _abilities(request.user, model),
        "promotions": model_version.promotions.select_related("requested_by")[:10],
        "experiment_url": selectors.experiment_url(model_version),
    }
    return render(request, "registry/version_detail.html", context)


@conflict_as_409
def promotion_new(request, name):
    model = _model(request, name)
    MODEL_PERMISSIONS.require(request.user, "request_promotion", model)
    versions = model.versions.filter(deleted_in_mlflow=False)
    form = PromotionRequestForm(
        request.POST or None,
        versions=versions,
        initial={
            "version": request.GET.get("version"),
            "target": conf.production_alias(),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            promotion = services.promotion_request(
                user=request.user, model=model, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
        else:
            messages.success(request, f"Request #{promotion.pk} sent to the reviewers.")
            return redirect(promotion)
    status = 400 if form.errors else 200
    return render(
        request, "registry/promotion_form.html", {"model": model, "form": form}, status=status
    )


def promotion_detail(request, pk):
    promotion = _promotion(request, pk)
    return render(request, "registry/promotion_detail.html", _promotion_context(request, promotion))


def promotion_live(request, pk):
    """The state, approvals and decision panel, refreshed by htmx while the page is open."""
    promotion = _promotion(request, pk)
    return render(
        request, "registry/partials/promotion_live.html", _promotion_context(request, promotion)
    )


def _promotion_context(request, promotion) -> dict:
    policy = selectors.policy_for(promotion.model)
    refusal = selectors.reviewer_refusal(request.user, promotion, policy)
    # Only reviewers hear why they may not decide; others see no decision panel at all.
    shown_refusal = (
        refusal if MODEL_PERMISSIONS.can(request.user, "approve", promotion.model) else ""
    )
    reviewed = promotion.approvals.filter(reviewer=request.user).exists()
    evidence = promotion.evidence or {}
    holder = evidence.get("holder") or {}
    return {
        "promotion": promotion,
        "approvals": promotion.approvals.select_related("reviewer"),
        "approved_count": promotion.approvals.filter(decision="approve").count(),
        "can_decide": promotion.state == "requested" and not refusal and not reviewed,
        "refusal": shown_refusal,
        "waiting_for": _waiting_for(promotion, policy),
        "reviewed": reviewed,
        "can_cancel": promotion.state == "requested"
        and (
            promotion.requested_by_id == request.user.pk
            or MODEL_PERMISSIONS.can(request.user, "manage", promotion.model)
        ),
        "comparison": selectors.compare_metrics(
            evidence.get("metrics", {}), holder.get("metrics", {})
        ),
        "holder_version": holder.get("version"),
        "gates": evidence.get("gates", []),
        "decision_form": DecisionForm(),
        "audit": AuditEntry.objects.filter(
            object_type="registry.promotionrequest", object_id=str(promotion.pk)
        ).order_by("id"),
    }


def _waiting_for(promotion, policy) -> list[str]:
    """Usernames of eligible reviewers who have not decided yet (open requests only)."""
    if promotion.state != "requested":
        return []
    decided = set(promotion.approvals.values_list("reviewer_id", flat=True))
    reviewers = selectors.eligible_reviewers(promotion, policy)
    return sorted(user.username for user in reviewers if user.pk not in decided)


@require_POST
@conflict_as_409
def promotion_decide(request, pk):
    promotion = _promotion(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or reject.")
        return redirect(promotion)
    comment = form.cleaned_data["comment"]
    try:
        if form.cleaned_data["decision"] == "approve":
            services.promotion_approve(user=request.user, promotion_id=pk, comment=comment)
            messages.success(request, "Your approval is recorded.")
        else:
            services.promotion_reject(user=request.user, promotion_id=pk, comment=comment)
            messages.info(request, "The request is rejected.")
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    return redirect(promotion)


@require_POST
@conflict_as_409
def promotion_cancel(request, pk):
    promotion = _promotion(request, pk)
    services.promotion_cancel(user=request.user, promotion_id=promotion.pk)
    messages.info(request, f"Request #{promotion.pk} cancelled.")
    return redirect(promotion)


@require_POST
@conflict_as_409
def rollback(request, name):
    model = _model(request, name)
    MODEL_PERMISSIONS.require(request.user, "promote", model)
    form = RollbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A roll back needs an environment and a reason.")
        return redirect(model)
    try:
        promotion = services.model_rollback(user=request.user, model=model, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect(model)
    messages.success(request, f"Roll back #{promotion.pk} of {promotion.target} started.")
    return redirect(promotion)


@require_POST
def policy_edit(request, name):
    model = _model(request, name)
    MODEL_PERMISSIONS.require(request.user, "manage", model)
    form = PolicyForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(e)}" for field, e in form.errors.items())
        messages.error(request, f"Policy not saved. {errors}")
        return redirect(f"{model.get_absolute_url()}#policy")
    services.policy_update(user=request.user, model=model, **form.cleaned_data)
    messages.success(request, "Approval policy saved.")
    return redirect(f"{model.get_absolute_url()}#policy")


@require_POST
def grants_edit(request, name):
    model = _model(request, name)
    MODEL_PERMISSIONS.require(request.user, "manage", model)
    form = GrantForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()) or "Grant not changed.")
        return redirect(f"{model.get_absolute_url()}#access")
    data = form.cleaned_data
    grantee = data["user"] or data["team"]
    change = services.model_revoke if data["remove"] else services.model_grant
    change(user=request.user, model=model, action=data["action"], grantee=grantee)
    messages.success(request, "Access updated.")
    return redirect(f"{model.get_absolute_url()}#access")


@require_POST
def metadata_edit(request, name):
    model = _model(request, name)
    MODEL_PERMISSIONS.require(request.user, "manage", model)
    form = MetadataForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("tags", ["Invalid input."])))
        return redirect(model)
    try:
        services.model_update_metadata(user=request.user, model=model, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect(model)
    messages.success(request, "Saved; writing to MLflow in the background.")
    return redirect(model)


@require_POST
def webhook_add(request, name):
    model = _model(request, name)
    MODEL_PERMISSIONS.require(request.user, "manage", model)
    form = WebhookForm(request.POST)
    if form.is_valid():
        services.webhook_create(user=request.user, model=model, **form.cleaned_data)
        messages.success(request, "Webhook added.")
    else:
        messages.error(request, form.error_text())
    return redirect(f"{model.get_absolute_url()}#webhooks")


@require_POST
def webhook_remove(request, name, pk):
    model = _model(request, name)
    MODEL_PERMISSIONS.require(request.user, "manage", model)
    webhook = get_object_or_404(Webhook, pk=pk, model=model)
    services.webhook_delete(user=request.user, webhook=webhook)
    messages.success(request, "Webhook removed.")
    return redirect(f"{model.get_absolute_url()}#webhooks")


def my_reviews(request):
    return render(request, "registry/reviews.html", _reviews_context(request))


def my_reviews_live(request):
    return render(request, "registry/partials/review_lists.html", _reviews_context(request))


def _reviews_context(request) -> dict:
    mine = selectors.visible_promotions(request.user).filter(requested_by=request.user)
    reviewed = (
        selectors.visible_promotions(request.user)
        .filter(approvals__reviewer=request.user)
        .distinct()
    )
    return {
        "awaiting": selectors.reviews_awaiting(request.user),
        "mine": mine[:20],
        "reviewed": reviewed[:20],
    }


def _require_global_manage(user) -> None:
    if not user.has_perm(MODEL_PERMISSIONS.full(MODEL_PERMISSIONS.codename("manage"))):
        raise PermissionDenied("Only platform admins manage webhooks for every model.")


def global_webhooks(request):
    """Receivers of every model's events, and the latest deliveries (platform admins)."""
    _require_global_manage(request.user)
    form = WebhookForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            services.webhook_create(user=request.user, model=None, **form.cleaned_data)
            messages.success(request, "Webhook added.")
            return redirect("registry:webhooks")
        messages.error(request, form.error_text())
    context = {
        "webhooks": Webhook.objects.filter(model__isnull=True),
        "deliveries": WebhookDelivery.objects.select_related("webhook", "webhook__model")[:50],
        "webhook_form": form,
    }
    return render(request, "registry/webhooks.html", context)


@require_POST
def global_webhook_remove(request, pk):
    _require_global_manage(request.user)
    webhook = get_object_or_404(Webhook, pk=pk, model__isnull=True)
    services.webhook_delete(user=request.user, webhook=webhook)
    messages.success(request, "Webhook removed.")
    return redirect("registry:webhooks")
