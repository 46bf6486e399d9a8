"""notify(): persist a notification and push it to the browser after the commit.

Usable from web and worker processes. If Redis is down the push is lost but the
notification is not: the browser lists unread notifications when it reconnects.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db import transaction

from apps.core.models import Notification, NotificationLevel

logger = logging.getLogger(__name__)


def user_group_name(user_id: int) -> str:
    return f"notify.user.{user_id}"


def notify(
    *,
    users=(),
    teams=(),
    title: str,
    body: str = "",
    level: str = NotificationLevel.INFO,
    link: str = "",
) -> list[Notification]:
    """Notify users and every active member of the given teams (groups), once each."""
    recipient_ids = {user.pk for user in users}
    if teams:
        members = get_user_model().objects.filter(groups__in=list(teams), is_active=True)
        recipient_ids.update(members.values_list("pk", flat=True))
    if not recipient_ids:
        return []

    created = Notification.objects.bulk_create(
        [
            Notification(recipient_id=pk, title=title, body=body, level=level, link=link)
            for pk in sorted(recipient_ids)
        ]
    )
    transaction.on_commit(lambda: _push([n.pk for n in created]))
    return created


def _push(notification_ids: list[int]) -> None:
    channel_layer = get_channel_layer()
    notifications = Notification.objects.filter(pk__in=notification_ids)
    try:
        for notification in notifications:
            async_to_sync(channel_layer.group_send)(
                user_group_name(notification.recipient_id),
                {"type": "notification.created", "notification": notification.as_event()},
            )
    except Exception:
        # Stored already; the browser fetches unread notifications when it reconnects.
        logger.warning("live push of notifications %s failed", notification_ids, exc_info=True)


def mark_read(*, user, notification_ids: list[int] | None = None) -> int:
    """Mark some (or all) of a user's unread notifications read; returns how many."""
    from django.utils import timezone

    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())


def unread_for(user, limit: int = 20) -> tuple[list[dict], int]:
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    return [n.as_event() for n in unread[:limit]], unread.count()
