"""A real MLflow store seeded with varied runs, and helpers to mirror it."""

import random

import pytest
from django.conf import settings
from django.core.cache import cache
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

from apps.core import mlflow_gateway
from apps.core.demo import ensure_team
from apps.experiments.sync import LOCK_KEY

ALGORITHMS = ("iforest", "lof", "ocsvm", "elliptic")
SEED_EXPERIMENTS = {"t-fraud": "fraud", "t-network": "network", "t-orphan": "nobody"}
RUNS_PER_EXPERIMENT = 24
HISTORY_STEPS = 30


def seed_experiment(client: MlflowClient, name: str, team: str, runs: int, seed: int) -> dict:
    """Log `runs` runs with params, tags, final metrics and a `val_loss` history."""
    location = f"{settings.MLFLOW_ARTIFACT_ROOT}/{name}"
    experiment_id = client.create_experiment(name, artifact_location=location, tags={"team": team})
    rng = random.Random(seed)
    base = 1_700_000_000_000 + seed * 10_000_000
    run_ids = []
    for index in range(runs):
        algorithm = ALGORITHMS[index % len(ALGORITHMS)]
        start = base + index * 60_000
        run = client.create_run(
            experiment_id,
            start_time=start,
            run_name=f"{algorithm}-{team}-{index:02d}",
            tags={"team": team, "algorithm": algorithm},
        )
        run_id = run.info.run_id
        params = {
            "algorithm": algorithm,
            "n_estimators": str(rng.choice([60, 100, 150, 200])),
            "contamination": str(rng.choice([0.03, 0.04, 0.05])),
        }
        if index % 5 == 0:
            params["kernel"] = rng.choice(["rbf", "RBF", "sigmoid"])
        metrics = [
            Metric("val_loss", 1.0 / (step + 1) + rng.random() * 0.05, start + step * 100, step)
            for step in range(HISTORY_STEPS)
        ]
        metrics += [
            Metric("f1", rng.random(), start + 5000, 0),
            Metric("roc_auc", 0.5 + rng.random() / 2, start + 5000, 0),
        ]
        if index % 3:
            metrics.append(Metric("fit_time_seconds", rng.random() * 10, start + 5000, 0))
        tags = [RunTag("stage", rng.choice(["dev", "Dev", "prod"]))]
        client.log_batch(
            run_id, metrics=metrics, params=[Param(k, v) for k, v in params.items()], tags=tags
        )
        status = ("FINISHED", "FINISHED", "FAILED", "KILLED")[index % 4]
        if index % 7 == 6:
            status = None  # still running
        if index == 0:
            client.log_text(run_id, f"notes for {name}", "notes/readme.txt")
        if status:
            client.set_terminated(run_id, status=status, end_time=start + 9000)
        run_ids.append(run_id)
    return {"id": experiment_id, "runs": run_ids}


@pytest.fixture(scope="session")
def seeded_store(django_db_setup, django_db_blocker):
    """The test run's MLflow store (the one workers and daphne use), seeded once."""
    client = MlflowClient(settings.MLFLOW_TRACKING_URI)
    seeded = {}
    for seed, (name, team) in enumerate(SEED_EXPERIMENTS.items(), start=1):
        existing = client.get_experiment_by_name(name)
        if existing is None:
            seeded[name] = seed_experiment(client, name, team, RUNS_PER_EXPERIMENT, seed)
        else:
            runs = client.search_runs([existing.experiment_id], max_results=1000)
            seeded[name] = {"id": existing.experiment_id, "runs": [r.info.run_id for r in runs]}
    # One deleted run in the fraud experiment: hidden from default searches.
    client.delete_run(seeded["t-fraud"]["runs"][-1])
    return seeded


@pytest.fixture
def teams(db):
    return {slug: ensure_team(slug) for slug in ("fraud", "network", "iot")}


@pytest.fixture
def mirrored(seeded_store, teams):
    """The seeded store, mirrored into this test's database."""
    from apps.experiments.sync import sync_mirror

    cache.delete(LOCK_KEY)
    sync_mirror()
    return seeded_store


@pytest.fixture
def private_store(settings, tmp_path):
    """A fresh MLflow store of this test's own, for tests that change MLflow."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    settings.MLFLOW_TRACKING_URI = uri
    cache.delete(LOCK_KEY)
    yield MlflowClient(uri)
    mlflow_gateway._client.cache_clear()
