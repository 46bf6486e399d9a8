"""Registry settings, read from the environment when used (see the README settings table)."""

from mlops_portal.env import env_int, env_list, env_str


def environments() -> list[str]:
    """Deployment environments, each an MLflow alias of the same name."""
    return env_list("REGISTRY_ENVIRONMENTS", ["staging", "production"])


def production_alias() -> str:
    """The alias versions are compared against: the last configured environment."""
    return environments()[-1]


def sync_interval_seconds() -> int:
    return env_int("REGISTRY_SYNC_SECONDS", 60, minimum=5)


def promote_max_retries() -> int:
    return env_int("REGISTRY_PROMOTE_MAX_RETRIES", 12, minimum=0)


def promote_retry_base_seconds() -> int:
    return env_int("REGISTRY_PROMOTE_RETRY_SECONDS", 5, minimum=1)


def promote_retry_cap_seconds() -> int:
    return env_int("REGISTRY_PROMOTE_RETRY_CAP_SECONDS", 900, minimum=1)


def webhook_max_retries() -> int:
    return env_int("REGISTRY_WEBHOOK_MAX_RETRIES", 8, minimum=0)


def webhook_retry_base_seconds() -> int:
    return env_int("REGISTRY_WEBHOOK_RETRY_SECONDS", 30, minimum=1)


def backoff_seconds(base: int, retries: int, cap: int = 900) -> int:
    """Exponential backoff: base, 2*base, 4*base, ... capped."""
    return min(cap, base * 2**retries)


def absolute_url(path: str) -> str:
    """`path` on the portal's public address (PORTAL_BASE_URL), for links in e-mails."""
    base = env_str("PORTAL_BASE_URL", "").rstrip("/")
    return f"{base}{path}" if path else ""
