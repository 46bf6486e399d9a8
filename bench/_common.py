"""Shared set-up of the experiments benchmarks: a real MLflow store, a scratch portal
database, a real daphne serving the portal, and timing helpers.

The portal database is a scratch database created beside the one DATABASE_URL names
(PostgreSQL when it points there; SQLite otherwise) and dropped at the end. MLflow is a
SQLite store in a temporary folder, created by MLflow's own schema migrations.

Loading 10,000 runs through `log_batch` takes about 10 minutes on this machine, so the
loader writes the same rows MLflow's `log_batch` writes (runs, params, tags, metrics and
latest metrics) with SQLAlchemy bulk inserts through MLflow's own SqlAlchemyStore models
and session. The result is read back through `MlflowClient`, so it is a real MLflow store.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_TAG = uuid.uuid4().hex[:8]
SCRATCH = Path(tempfile.mkdtemp(prefix=f"bench-{RUN_TAG}-"))

ENV = {
    "DJANGO_SETTINGS_MODULE": "mlops_portal.settings",
    "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{SCRATCH / 'portal.sqlite3'}"),
    # PostgreSQL: a scratch database on the same server; SQLite: a scratch file.
    "DATABASE_TEST_NAME": (
        f"bench_experiments_{RUN_TAG}"
        if os.environ.get("DATABASE_URL", "").startswith("postgres")
        else str(SCRATCH / "bench.sqlite3")
    ),
    "PORTAL_VAR_DIR": str(SCRATCH),
    "MLFLOW_TRACKING_URI": f"sqlite:///{SCRATCH / 'mlflow.db'}",
    "MLFLOW_ARTIFACT_ROOT": str(SCRATCH / "mlartifacts"),
    "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "DEBUG": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "CELERY_QUEUE": f"bench-{RUN_TAG}",
    "CACHE_PREFIX": f"bench-{RUN_TAG}",
    "CHANNELS_PREFIX": f"bench-{RUN_TAG}",
    "LOG_LEVEL": "WARNING",
    # Pages are rendered in-process without running collectstatic first.
    "STATIC_MANIFEST": "false",
}


def setup_django():
    """Configure Django for the benchmark and create the scratch portal database."""
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    return name


def teardown_django(name: str) -> None:
    """Drop the scratch portal database and remove the scratch folder (MLflow store)."""
    from django.db import connection

    connection.creation.destroy_test_db(name, verbosity=0)
    shutil.rmtree(SCRATCH, ignore_errors=True)


def mlflow_store():
    """MLflow's own SqlAlchemyStore for the scratch tracking URI (creates its schema)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    return SqlAlchemyStore(ENV["MLFLOW_TRACKING_URI"], ENV["MLFLOW_ARTIFACT_ROOT"])


def bulk_load_runs(store, experiment_id: str, runs: list[dict]) -> None:
    """Insert runs as MLflow's log_batch would store them, in one transaction.

    Each run dict: run_id, name, start_time, end_time, params {k: str}, tags {k: str},
    metrics {k: [(step, timestamp, value), ...]} (the last point is the latest value).
    """
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric,
        SqlMetric,
        SqlParam,
        SqlRun,
        SqlTag,
    )
    from sqlalchemy import insert

    run_rows, params, tags, metrics, latest = [], [], [], [], []
    for run in runs:
        run_id = run["run_id"]
        run_rows.append(
            {
                "run_uuid": run_id,
                "name": run["name"],
                "source_type": "LOCAL",
                "source_name": "",
                "entry_point_name": "",
                "user_id": run.get("user", "bench"),
                "status": "FINISHED",
                "start_time": run["start_time"],
                "end_time": run["end_time"],
                "source_version": "",
                "lifecycle_stage": "active",
                "artifact_uri": f"{ENV['MLFLOW_ARTIFACT_ROOT']}/{run_id}/artifacts",
                "experiment_id": int(experiment_id),
            }
        )
        params += [{"run_uuid": run_id, "key": k, "value": v} for k, v in run["params"].items()]
        tags += [{"run_uuid": run_id, "key": k, "value": v} for k, v in run["tags"].items()]
        tags.append({"run_uuid": run_id, "key": "mlflow.runName", "value": run["name"]})
        for key, points in run["metrics"].items():
            metrics += [
                {
                    "run_uuid": run_id,
                    "key": key,
                    "step": s,
                    "timestamp": t,
                    "value": v,
                    "is_nan": False,
                }
                for s, t, v in points
            ]
            step, timestamp, value = max(points)
            latest.append(
                {
                    "run_uuid": run_id,
                    "key": key,
                    "step": step,
                    "timestamp": timestamp,
                    "value": value,
                    "is_nan": False,
                }
            )

    with store.ManagedSessionMaker() as session:
        for model, rows in (
            (SqlRun, run_rows),
            (SqlParam, params),
            (SqlTag, tags),
            (SqlMetric, metrics),
            (SqlLatestMetric, latest),
        ):
            for start in range(0, len(rows), 20000):
                session.execute(insert(model.__table__), rows[start : start + 20000])


def run_in_scratch(run, args, *, keep: bool = False) -> None:
    """Run `run(args)` against a scratch portal database, dropped afterwards unless `keep`
    (then its name and the MLflow store's folder are printed, for ad-hoc queries)."""
    db_name = setup_django()
    try:
        run(args)
    finally:
        if keep:
            print(f"kept: portal database {db_name}, MLflow store {SCRATCH}")
        else:
            teardown_django(db_name)


def load_bench_experiment(name: str, runs: list[dict]):
    """A fresh MLflow experiment of team `bench` holding `runs`, and a bench user's token.

    Returns (MlflowClient, experiment_id, token, seconds the load took).
    """
    from mlflow import MlflowClient

    store = mlflow_store()
    client = MlflowClient(ENV["MLFLOW_TRACKING_URI"])
    experiment_id = client.create_experiment(name, tags={"team": "bench"})
    token = make_user_with_team("bench-alice", "bench")

    started = time.perf_counter()
    bulk_load_runs(store, experiment_id, runs)
    return client, experiment_id, token, time.perf_counter() - started


def make_user_with_team(username: str, team_slug: str):
    """A data scientist in one team, with an API token; returns the token key."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from apps.core.demo import ensure_team
    from apps.core.roles import DATA_SCIENTIST, sync_roles

    user = get_user_model().objects.create_user(username=username, password=uuid.uuid4().hex)
    user.groups.set([ensure_team(team_slug).group, sync_roles()[DATA_SCIENTIST]])
    return Token.objects.create(user=user).key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def portal_server(*, pool: bool = True, stock_asgi: bool = False):
    """daphne serving the portal on the scratch database; yields its base URL.

    `pool=False` serves without psycopg's connection pool (DATABASE_POOL=false);
    `stock_asgi=True` serves HTTP through Django's own ASGI handler (bench/stock_asgi.py)
    instead of the portal's.
    """
    from django.db import connection

    env = dict(os.environ)
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("postgresql"):
        user = settings["USER"]
        password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
        env["DATABASE_URL"] = (
            f"postgres://{user}{password}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{settings['NAME']}"
    env.pop("DATABASE_TEST_NAME", None)
    # Persistent database connections, as a deployment sets them (the default of 0
    # reconnects on every request).
    env.setdefault("DATABASE_CONN_MAX_AGE", "60")
    env["DATABASE_POOL"] = "true" if pool else "false"
    app = "mlops_portal.asgi:application"
    if stock_asgi:
        app = "stock_asgi:application"
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench"), str(ROOT)])
    with daphne(app, env, health_path="/healthz", cwd=ROOT) as base:
        yield base


@contextmanager
def daphne(app: str, env: dict, *, health_path: str, cwd: Path | None = None):
    """daphne serving the ASGI application `app` ("module:attribute") on a free loopback
    port, with environment `env`; yields its base URL once `health_path` answers 200."""
    import requests

    port = _free_port()
    log_path = SCRATCH / f"daphne-{port}.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}{health_path}", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text()[-2000:])
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        log.close()


class ApiClient:
    """A token-authenticated client on one kept-alive connection (the standard library's
    http.client), returning decoded JSON.

    The benchmarks used `requests` at first. Reading a 245 KB body through it costs about
    3 ms more than through http.client (measured with the search response, see
    docs/benchmarks.md), time spent in urllib3's chunked reads and not in the portal.
    """

    def __init__(self, base: str, token: str):
        parsed = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Accept": "application/json"}

    def raw(self, path: str, params: dict | None = None) -> bytes:
        if params:
            path = f"{path}?{urllib.parse.urlencode(params, doseq=True)}"
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
        return body

    def get(self, path: str, params: dict | None = None):
        return json.loads(self.raw(path, params))

    def close(self) -> None:
        self.connection.close()


def timed(call, repeat: int, warmup: int = 3) -> list[float]:
    """Wall-clock milliseconds of `repeat` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def median(times: list[float]) -> float:
    return statistics.median(times)
