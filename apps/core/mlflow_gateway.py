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
    """One page of an experiment's runs (deleted ones too), oldest first: (records, next_token).

    Each record is a plain dict: run_id, name, status, user_id, start_time, end_time,
    lifecycle_stage, artifact_uri, params, tags, and metrics {key: (step, timestamp, value)}
    holding the latest point. A SQL store is read through MLflow's table models with keyset
    pagination (reading 10,000 runs through `search_runs` builds ~100 objects per run and
    takes minutes); other stores go through `search_runs`.
    """
    store = client()._tracking_client.store
    if hasattr(store, "ManagedSessionMaker"):
        return _sql_runs_page(store, experiment_id, page_token, page_size)

    from mlflow.entities import ViewType

    page = client().search_runs(
        [experiment_id],
        run_view_type=ViewType.ALL,
        max_results=page_size,
        order_by=["attributes.start_time ASC"],
        page_token=page_token,
    )
    return [_run_record(run) for run in page], page.token or None


def _run_record(run) -> dict:
    info, data = run.info, run.data
    # RunData keeps the latest Metric objects (with step and timestamp) only privately.
    latest = getattr(data, "_metric_objs", [])
    return {
        "run_id": info.run_id,
        "name": info.run_name or "",
        "status": info.status,
        "user_id": info.user_id or "",
        "start_time": info.start_time,
        "end_time": info.end_time,
        "lifecycle_stage": info.lifecycle_stage,
        "artifact_uri": info.artifact_uri or "",
        "params": dict(data.params),
        "tags": dict(data.tags),
        "metrics": {m.key: (m.step, m.timestamp, m.value) for m in latest},
    }


def _sql_runs_page(store, experiment_id: str, page_token: str | None, page_size: int):
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlParam, SqlRun, SqlTag
    from sqlalchemy import and_, func, or_, select

    runs = SqlRun.__table__
    started = func.coalesce(runs.c.start_time, 0)
    query = select(runs).where(runs.c.experiment_id == int(experiment_id))
    if page_token:
        after_time, after_id = page_token.split(":", 1)
        after_time = int(after_time)
        query = query.where(
            or_(started > after_time, and_(started == after_time, runs.c.run_uuid > after_id))
        )
    query = query.order_by(started, runs.c.run_uuid).limit(page_size)

    with store.ManagedSessionMaker() as session:
        rows = session.execute(query).mappings().all()
        records = {row["run_uuid"]: _sql_run_record(row) for row in rows}
        ids = list(records)
        for model, field in ((SqlParam, "params"), (SqlTag, "tags")):
            table = model.__table__
            found = select(table.c.run_uuid, table.c.key, table.c.value).where(
                table.c.run_uuid.in_(ids)
            )
            for run_id, key, value in session.execute(found):
                records[run_id][field][key] = value
        table = SqlLatestMetric.__table__
        columns = ("run_uuid", "key", "step", "timestamp", "value", "is_nan")
        found = select(*(table.c[name] for name in columns)).where(table.c.run_uuid.in_(ids))
        for run_id, key, step, timestamp, value, is_nan in session.execute(found):
            records[run_id]["metrics"][key] = (step, timestamp, float("nan") if is_nan else value)

    for record in records.values():
        record["name"] = record["name"] or record["tags"].get("mlflow.runName", "")
    if len(rows) < page_size:
        return list(records.values()), None
    last = rows[-1]
    return list(records.values()), f"{last['start_time'] or 0}:{last['run_uuid']}"


def _sql_run_record(row) -> dict:
    return {
        "run_id": row["run_uuid"],
        "name": row["name"] or "",
        "status": row["status"],
        "user_id": row["user_id"] or "",
        "start_time": row["start_time"],
        "end_time": row["end_time"],
        "lifecycle_stage": row["lifecycle_stage"],
        "artifact_uri": row["artifact_uri"] or "",
        "params": {},
        "tags": {},
        "metrics": {},
    }


@guarded
def metric_histories(run_ids: list[str], key: str) -> dict[str, list[tuple]]:
    """Every logged point of metric `key` for each run: {run_id: [(step, timestamp, value)]}.

    A SQL store is read in bulk through MLflow's own table models (as plain rows: building
    a Metric object per point costs more than the query); other stores run by run.
    """
    histories: dict[str, list[tuple]] = {run_id: [] for run_id in run_ids}
    store = client()._tracking_client.store
    if not hasattr(store, "ManagedSessionMaker"):
        for run_id in run_ids:
            points = client().get_metric_history(run_id, key)
            histories[run_id] = [(m.step, m.timestamp, m.value) for m in points]
        return histories

    from mlflow.store.tracking.dbmodels.models import SqlMetric
    from sqlalchemy import select

    table = SqlMetric.__table__
    chunk = 500
    with store.ManagedSessionMaker() as session:
        for start in range(0, len(run_ids), chunk):
            query = select(
                table.c.run_uuid, table.c.step, table.c.timestamp, table.c.value, table.c.is_nan
            ).where(table.c.key == key, table.c.run_uuid.in_(run_ids[start : start + chunk]))
            for run_id, step, timestamp, value, is_nan in session.execute(query):
                histories[run_id].append((step, timestamp, float("nan") if is_nan else value))
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
def get_experiment(experiment_id: str):
    return client().get_experiment(experiment_id)


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
