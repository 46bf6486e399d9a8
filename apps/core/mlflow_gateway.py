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


# --- Experiments mirror (apps/experiments) ---------------------------------------------


@guarded
def all_experiments() -> list:
    """Every experiment, deleted ones included, read page by page."""
    from mlflow.entities import ViewType

    experiments, token = [], None
    while True:
        page = client().search_experiments(
            view_type=ViewType.ALL, max_results=1000, page_token=token
        )
        experiments.extend(page)
        token = page.token
        if not token:
            return experiments


@guarded
def runs_page(experiment_id: str, *, page_token: str | None = None, page_size: int = 1000):
    """One page of an experiment's runs (deleted ones too), oldest first; (runs, next_token)."""
    from mlflow.entities import ViewType

    page = client().search_runs(
        [experiment_id],
        run_view_type=ViewType.ALL,
        max_results=page_size,
        order_by=["attributes.start_time ASC"],
        page_token=page_token,
    )
    token = page.token.decode() if isinstance(page.token, bytes) else page.token
    return list(page), token


@guarded
def metric_histories(run_ids: list[str], key: str) -> dict[str, list]:
    """Every logged point of metric `key` for each run, as {run_id: [Metric, ...]}.

    SQL stores answer for many runs at once; other stores are asked run by run.
    """
    store = client()._tracking_client.store
    histories: dict[str, list] = {run_id: [] for run_id in run_ids}
    if not hasattr(store, "get_metric_history_bulk"):
        for run_id in run_ids:
            histories[run_id] = list(client().get_metric_history(run_id, key))
        return histories

    chunk = 500
    for start in range(0, len(run_ids), chunk):
        ids = run_ids[start : start + chunk]
        for row in store.get_metric_history_bulk(ids, key, max_results=None):
            histories[row.run_id].append(row)
    return histories


@guarded
def run_artifacts(run_id: str, path: str | None = None) -> list:
    """The artifacts (FileInfo) directly under `path` of a run."""
    return list(client().list_artifacts(run_id, path))


@guarded
def download_run_artifact(run_id: str, path: str, dst_dir: str) -> str:
    """Copy one artifact file of a run into `dst_dir`; returns the local path."""
    return client().download_artifacts(run_id, path, dst_dir)


# --- Model registry (apps.registry) ---


def _quoted(value: str) -> str:
    """A string literal for an MLflow filter; the registry names we mirror have no quotes."""
    if "'" in value:
        raise MlflowError(f"names with quotes are not supported: {value!r}")
    return f"'{value}'"


@guarded
def get_registered_model(name: str):
    return client().get_registered_model(name)


@guarded
def list_model_versions(name: str):
    return list(client().search_model_versions(f"name = {_quoted(name)}", max_results=10000))


@guarded
def get_model_version(name: str, version: int):
    return client().get_model_version(name, str(version))


@guarded
def get_run(run_id: str):
    return client().get_run(run_id)


@guarded
def set_model_alias(name: str, alias: str, version: int) -> None:
    client().set_registered_model_alias(name, alias, str(version))


@guarded
def set_model_version_tag(name: str, version: int, key: str, value: str) -> None:
    client().set_model_version_tag(name, str(version), key, value)


@guarded
def delete_model_version_tag(name: str, version: int, key: str) -> None:
    client().delete_model_version_tag(name, str(version), key)


@guarded
def write_registered_model_metadata(
    name: str, *, description: str, set_tags: dict[str, str], delete_tags: list[str]
) -> None:
    """Write a model's description and tag changes (several calls; each is idempotent)."""
    mlflow_client = client()
    mlflow_client.update_registered_model(name, description=description)
    for key, value in set_tags.items():
        mlflow_client.set_registered_model_tag(name, key, value)
    for key in delete_tags:
        mlflow_client.delete_registered_model_tag(name, key)
