"""Where webhooks may POST: public addresses only, unless the operator allows private ones.

Checked when a webhook is added (a clear form or API error) and again before every
delivery, because a host name can resolve to another address later (DNS rebinding).
"""

import ipaddress
import socket
from urllib.parse import urlparse

from django.conf import settings
from django.core.exceptions import ValidationError


def _addresses(host: str) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ValidationError({"url": f"The host {host!r} does not resolve ({exc})."}) from None
    return {ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos}


def check_webhook_target(url: str) -> None:
    """Raise ValidationError unless `url` is http(s) to a host outside private networks."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValidationError({"url": "Use an http:// or https:// URL with a host name."})
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return

    for address in _addresses(parsed.hostname):
        if not address.is_global:
            raise ValidationError(
                {
                    "url": f"{parsed.hostname} resolves to {address}, a private or local address; "
                    "webhooks may only reach public hosts."
                }
            )
