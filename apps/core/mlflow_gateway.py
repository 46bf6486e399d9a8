"""The one module that talks to MLflow. Everything else calls these functions.

Timeouts and retries come from settings; every MLflow or transport error surfaces as
MlflowUnavailable (the store cannot be reached) or MlflowError (MLflow refused the
request), which pages turn into the banner and the API into a JSON 503/4xx.
"""

import logging
import os
from functools import cache, wraps

from django.conf import settings

logger = logging.getLogger(__name__)


class MlflowError(Exception):
    """MLflow answered but refused the request (bad filter, missing object, ...)."""

    def __init__(self, message: str, *, error_code: str = ""):
        super().__init__(message)
        self.error_code = error_code


class MlflowUnavailable(MlflowError):
    """The tracking store could not be reached."""


def _configure_transport() -> None:
    # MLflow's REST client reads these from the environment on each request.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(settings.MLFLOW_TIMEOUT_SECONDS))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")


@cache
def _client(tracking_uri: str):
    from mlflow.tracking import MlflowClient

    _configure_transport()
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def client():
    """The MlflowClient for the configured store (one per tracking URI per process)."""
    return _client(settings.MLFLOW_TRACKING_URI)


def _translate(exc: Exception) -> MlflowError:
    from mlflow.exceptions import MlflowException

    if isinstance(exc, MlflowException):
        code = getattr(exc, "error_code", "") or ""
        transport_codes = {"TEMPORARILY_UNAVAILABLE", "INTERNAL_ERROR", "ENDPOINT_NOT_FOUND"}
        if code in transport_codes or "Max retries" in str(exc) or "API request" in str(exc):
            return MlflowUnavailable(str(exc), error_code=code)
        return MlflowError(str(exc), error_code=code)
    return MlflowUnavailable(f"{type(exc).__name__}: {exc}")


def guarded(func):
    """Turn any MLflow or transport failure raised by `func` into MlflowError/Unavailable."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except MlflowError:
            raise
        except Exception as exc:
            error = _translate(exc)
            logger.warning("MLflow call %s failed: %s", func.__name__, error)
            raise error from exc

    return wrapper


@guarded
def ping() -> None:
    """Raise MlflowUnavailable unless the tracking store answers a cheap query."""
    uri = settings.MLFLOW_TRACKING_URI
    if uri.startswith(("http://", "https://")):
        import requests

        response = requests.get(f"{uri.rstrip('/')}/health", timeout=2)
        if response.status_code != 200:
            raise MlflowUnavailable(f"MLflow /health answered {response.status_code}")
        return
    client().search_experiments(max_results=1)


@guarded
def list_experiments(max_results: int = 1000):
    return list(client().search_experiments(max_results=max_results))


@guarded
def search_runs(experiment_ids, filter_string: str = "", max_results: int = 1000, **kwargs):
    return list(
        client().search_runs(
            experiment_ids, filter_string=filter_string, max_results=max_results, **kwargs
        )
    )


@guarded
def list_registered_models(max_results: int = 1000):
    return list(client().search_registered_models(max_results=max_results))
