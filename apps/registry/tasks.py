"""Registry tasks: thin wrappers that load by id, call the service and retry with backoff."""

import logging

from celery import shared_task

from apps.core import mlflow_gateway
from apps.core.signals import job_log
from apps.registry import conf, services, sync, webhooks

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=None, acks_late=True)
def promote_version(self, promotion_id: int):
    """Move the alias of an approved request; retries while MLflow is unreachable."""
    try:
        state = services.promotion_perform(promotion_id=promotion_id)
    except mlflow_gateway.MlflowUnavailable as exc:
        if self.request.retries >= conf.promote_max_retries():
            services.promotion_give_up(promotion_id=promotion_id, error=str(exc))
            return "failed"
        services.promotion_mark_retrying(promotion_id=promotion_id, error=str(exc))
        delay = conf.backoff_seconds(
            conf.promote_retry_base_seconds(),
            self.request.retries,
            cap=conf.promote_retry_cap_seconds(),
        )
        job_log("MLflow unreachable for request %s; retrying in %ss", promotion_id, delay)
        raise self.retry(exc=exc, countdown=delay) from exc
    job_log("request %s is %s", promotion_id, state)
    return state


@shared_task(bind=True, max_retries=None, acks_late=True)
def push_model_metadata(self, model_id: int):
    """Write a model's description and tags, edited in the portal, back to MLflow."""
    try:
        services.model_metadata_push(model_id=model_id)
    except mlflow_gateway.MlflowUnavailable as exc:
        if self.request.retries >= conf.promote_max_retries():
            raise
        delay = conf.backoff_seconds(conf.promote_retry_base_seconds(), self.request.retries)
        raise self.retry(exc=exc, countdown=delay) from exc


@shared_task(bind=True, max_retries=None, acks_late=True)
def deliver_webhook(self, delivery_id: int):
    """POST one webhook delivery; retries with backoff until it succeeds or gives up."""
    if webhooks.webhook_attempt(delivery_id=delivery_id):
        return "done"
    if self.request.retries >= conf.webhook_max_retries():
        webhooks.webhook_give_up(delivery_id=delivery_id)
        return "failed"
    delay = conf.backoff_seconds(conf.webhook_retry_base_seconds(), self.request.retries)
    raise self.retry(countdown=delay)


@shared_task
def sync_registry():
    """Mirror MLflow's registry (beat); records aliases moved outside the portal."""
    report = sync.registry_sync()
    job_log("synced %d models, %d new versions", report.models, report.versions_created)
    for change in report.outside_changes:
        job_log("alias changed outside the portal: %s", change)
    return report.models


@shared_task
def expire_promotions():
    """Expire undecided requests past their deadline (beat)."""
    return services.promotions_expire_due()


@shared_task
def resume_stalled_promotions():
    """Queue again approved requests whose promote task was lost (beat)."""
    return len(services.promotions_resume_stalled())


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def send_governance_email(self, addresses: list[str], subject: str, text: str):
    """E-mail a governance notification (sent only when EMAIL_HOST is configured)."""
    from django.core.mail import send_mail

    try:
        send_mail(subject, text, None, addresses)
    except OSError as exc:
        raise self.retry(exc=exc) from exc
