"""Registry settings (parsed at start-up in mlops_portal/settings.py; see the README)."""

from django.conf import settings


def environments() -> list[str]:
    """Deployment environments, each an MLflow alias of the same name."""
    return list(settings.REGISTRY_ENVIRONMENTS)


def production_alias() -> str:
    """The alias versions are compared against: the last configured environment."""
    return environments()[-1]


def sync_interval_seconds() -> int:
    return settings.REGISTRY_SYNC_SECONDS


def promote_max_retries() -> int:
    return settings.REGISTRY_PROMOTE_MAX_RETRIES


def promote_retry_base_seconds() -> int:
    return settings.REGISTRY_PROMOTE_RETRY_SECONDS


def promote_retry_cap_seconds() -> int:
    return settings.REGISTRY_PROMOTE_RETRY_CAP_SECONDS


def webhook_max_retries() -> int:
    return settings.REGISTRY_WEBHOOK_MAX_RETRIES


def webhook_retry_base_seconds() -> int:
    return settings.REGISTRY_WEBHOOK_RETRY_SECONDS


def backoff_seconds(base: int, retries: int, cap: int = 900) -> int:
    """Exponential backoff: base, 2*base, 4*base, ... capped."""
    return min(cap, base * 2**retries)


def absolute_url(path: str) -> str:
    """`path` on the portal's public address (PORTAL_BASE_URL), for links in e-mails."""
    base = settings.PORTAL_BASE_URL.rstrip("/")
    return f"{base}{path}" if path else ""
