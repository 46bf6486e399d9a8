"""Settings of the experiments app (settings.py reads them from the environment)."""

from django.conf import settings


def sync_seconds() -> int:
    """How often beat runs the mirror sync (EXPERIMENTS_SYNC_SECONDS, default 60)."""
    return settings.EXPERIMENTS_SYNC_SECONDS


# Direction of "best" per metric name, beyond the rule in metric_direction():
# EXPERIMENTS_METRIC_DIRECTIONS = {"my_metric": "min", ...} in settings overrides it.
DEFAULT_LOWER_IS_BETTER = ("loss", "error", "time", "seconds", "latency", "mse", "mae", "rmse")


def metric_direction(key: str) -> str:
    """'max' when a higher value is better, 'min' when lower is (loss, error, times)."""
    overrides = getattr(settings, "EXPERIMENTS_METRIC_DIRECTIONS", {}) or {}
    if key in overrides:
        return overrides[key]
    name = key.lower()
    if any(word in name for word in DEFAULT_LOWER_IS_BETTER):
        return "min"
    return "max"
