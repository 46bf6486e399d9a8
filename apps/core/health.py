"""Reachability of the services the portal depends on.

`service_status()` is cached in the process for a few seconds so that every page can
show the outage banner without paying for three round trips per request.
"""

import time
from dataclasses import asdict, dataclass

import redis
from django.conf import settings
from django.db import connection

from apps.core import mlflow_gateway

STATUS_CACHE_SECONDS = 5
_cached: tuple[float, dict] | None = None


@dataclass
class Check:
    ok: bool
    detail: str = ""
    latency_ms: float = 0.0


def _timed(probe) -> Check:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return Check(False, f"{type(exc).__name__}: {exc}"[:300], round(elapsed, 1))
    return Check(True, "ok", round((time.perf_counter() - started) * 1000, 1))


def check_database() -> Check:
    def probe():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    return _timed(probe)


def check_redis() -> Check:
    def probe():
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
        )
        try:
            client.ping()
        finally:
            client.close()

    return _timed(probe)


def check_mlflow() -> Check:
    return _timed(mlflow_gateway.ping)


def readiness() -> dict[str, dict]:
    return {
        "database": asdict(check_database()),
        "redis": asdict(check_redis()),
        "mlflow": asdict(check_mlflow()),
    }


def service_status() -> dict[str, bool]:
    """{"redis": bool, "mlflow": bool}, refreshed at most every few seconds."""
    global _cached
    now = time.monotonic()
    if _cached is not None and now - _cached[0] < STATUS_CACHE_SECONDS:
        return _cached[1]

    status = {"redis": check_redis().ok, "mlflow": check_mlflow().ok}
    _cached = (now, status)
    return status


def forget_cached_status() -> None:
    global _cached
    _cached = None
