"""Outbound webhooks: governance events as signed JSON POSTs, each delivery recorded.

The body is signed with HMAC-SHA256 under the webhook's secret; receivers compare
`X-Portal-Signature: sha256=<hex digest of the raw body>` in constant time. The body
carries `occurred_at`, and `X-Portal-Delivery` is unique per delivery, so a receiver can
refuse replays and drop duplicates (a retry resends the same delivery id).
"""

import hashlib
import hmac
import json
import logging

import requests
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Q
from django.utils import timezone

from apps.core.jobs import enqueue
from apps.registry.models import (
    DeliveryState,
    PromotionRequest,
    RegisteredModel,
    Webhook,
    WebhookDelivery,
)
from apps.registry.targets import check_webhook_target

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: dict) -> bytes:
    return json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True).encode()


def promotion_payload(event: str, promotion: PromotionRequest, *, actor=None) -> dict:
    return {
        "event": event,
        "occurred_at": timezone.now().isoformat(),
        "actor": getattr(actor, "username", None) or "system",
        "model": promotion.model.name,
        "version": promotion.version.version,
        "target": promotion.target,
        "promotion": {
            "id": promotion.pk,
            "kind": promotion.kind,
            "state": promotion.state,
            "requested_by": promotion.requested_by.username,
            "justification": promotion.justification,
            "previous_version": promotion.previous_version,
            "url": promotion.get_absolute_url(),
        },
    }


def webhook_emit(*, event: str, model: RegisteredModel, payload: dict) -> list[WebhookDelivery]:
    """Record one delivery per interested webhook and send them after the commit."""
    hooks = Webhook.objects.filter(Q(model=model) | Q(model__isnull=True), active=True)
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(webhook=hook, event=event, payload=payload)
        for hook in hooks
        if hook.wants(event)
    )
    if deliveries:
        from apps.registry.tasks import deliver_webhook

        for delivery in deliveries:
            enqueue(deliver_webhook, delivery_id=delivery.pk)
    return deliveries


def webhook_attempt(*, delivery_id: int) -> bool:
    """POST one delivery once; True when done (delivered, or nothing left to do).

    The target is checked again here: a host name may resolve elsewhere than when added.
    """
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    if delivery.state in (DeliveryState.DELIVERED, DeliveryState.FAILED):
        return True

    body = encode(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "mlops-portal-webhooks/1",
        "X-Portal-Event": delivery.event,
        "X-Portal-Delivery": str(delivery.delivery_id),
        "X-Portal-Signature": sign(delivery.webhook.secret, body),
    }
    status, error = None, ""
    try:
        check_webhook_target(delivery.webhook.url)
        response = requests.post(
            delivery.webhook.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS
        )
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}: {response.text[:300]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    except ValidationError as exc:
        error = f"refused: {'; '.join(exc.message_dict.get('url', exc.messages))}"[:500]

    delivered = not error
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=F("attempts") + 1,
        response_status=status,
        last_error=error,
        state=DeliveryState.DELIVERED if delivered else DeliveryState.RETRYING,
        delivered_at=timezone.now() if delivered else None,
    )
    if not delivered:
        logger.warning(
            "webhook delivery %s to %s failed: %s", delivery.pk, delivery.webhook.url, error
        )
    return delivered


def webhook_give_up(*, delivery_id: int) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id).exclude(state=DeliveryState.DELIVERED).update(
        state=DeliveryState.FAILED
    )
    logger.warning("webhook delivery %s failed for good", delivery_id)
