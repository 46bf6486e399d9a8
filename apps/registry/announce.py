"""Tell people about governance events: a live notification always, an e-mail when configured."""

from django.conf import settings

from apps.core.jobs import enqueue
from apps.core.models import NotificationLevel
from apps.core.notifications import notify
from apps.registry import conf


def announce(
    *, users, title: str, body: str = "", level: str = NotificationLevel.INFO, link: str = ""
) -> None:
    """Notify `users` (live, after the commit) and e-mail them when EMAIL_HOST is set."""
    users = list(users)
    notify(users=users, title=title, body=body, level=level, link=link)
    if not settings.EMAIL_HOST:
        return

    addresses = sorted({user.email for user in users if user.email})
    if addresses:
        from apps.registry.tasks import send_governance_email

        text = "\n\n".join(part for part in (body, conf.absolute_url(link)) if part)
        enqueue(send_governance_email, addresses=addresses, subject=title, text=text)
