"""The MLflow demo seeder trains real detectors into a store and is safe to run twice."""

import pandas as pd
import pytest
from mlflow import MlflowClient

from apps.core import demo_training

FRAUD_MODEL = "fraud-iforest"
NETWORK_MODEL = "network-lof"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Seed one temporary SQLite store for the whole module (seeding takes ~30-60 s)."""
    root = tmp_path_factory.mktemp("mlflow")
    tracking_uri = f"sqlite:///{root}/mlflow.db"
    artifact_root = str(root / "artifacts")
    summary = demo_training.seed_mlflow(tracking_uri=tracking_uri, artifact_root=artifact_root)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    return {
        "uri": tracking_uri,
        "artifact_root": artifact_root,
        "summary": summary,
        "client": client,
    }


def all_runs(client):
    experiment_ids = [
        client.get_experiment_by_name(spec.name).experiment_id for spec in demo_training.EXPERIMENTS
    ]
    return client.search_runs(experiment_ids, max_results=1000)


def test_it_logs_at_least_forty_runs_over_three_experiments(store):
    runs = all_runs(store["client"])

    assert len(runs) >= 40
    assert len({run.info.experiment_id for run in runs}) >= 3
    assert store["summary"].run_count == len(runs)
    assert store["summary"].runs_created == len(runs)


def test_experiments_carry_their_team_and_artifact_location(store):
    for spec in demo_training.EXPERIMENTS:
        experiment = store["client"].get_experiment_by_name(spec.name)

        assert experiment.tags["team"] == spec.team
        assert spec.name in experiment.artifact_location
        assert "artifacts" in experiment.artifact_location


def test_every_run_has_final_metrics_params_and_tags(store):
    for run in all_runs(store["client"]):
        assert set(demo_training.FINAL_METRICS) <= set(run.data.metrics)
        assert run.data.params["algorithm"] in {"iforest", "lof", "ocsvm", "elliptic"}
        assert run.data.tags["mlflow.user"] in demo_training.AUTHORS
        assert run.data.tags["algorithm"] == run.data.params["algorithm"]
        assert run.data.tags["team"]
        assert run.data.tags[demo_training.DEMO_KEY_TAG]
        assert run.info.status == "FINISHED"


def test_every_run_has_a_metric_history_over_several_steps(store):
    client = store["client"]
    curves = set()
    for run in all_runs(client):
        history = client.get_metric_history(run.info.run_id, "val_f1")

        assert len(history) > 1
        assert len({point.step for point in history}) == len(history)
        curves.add(tuple(round(point.value, 6) for point in history))

    assert len(curves) > 30


def test_every_run_logs_its_dataset_as_input_and_csv(store):
    client = store["client"]
    run = all_runs(client)[0]

    assert run.inputs.dataset_inputs
    assert run.inputs.dataset_inputs[0].dataset.name.endswith("-demo")
    assert "data" in {artifact.path for artifact in client.list_artifacts(run.info.run_id)}


def test_it_registers_the_demo_models_with_aliases(store):
    client = store["client"]
    fraud = client.get_registered_model(FRAUD_MODEL)
    network = client.get_registered_model(NETWORK_MODEL)

    assert store["summary"].registered_models == {FRAUD_MODEL: 4, NETWORK_MODEL: 3}
    assert fraud.description and network.description
    assert fraud.tags["team"] == "fraud"
    assert set(fraud.aliases) == {"production", "staging"}
    assert int(fraud.aliases["production"]) < int(fraud.aliases["staging"])
    assert set(network.aliases) == {"production"}

    production = client.get_model_version_by_alias(FRAUD_MODEL, "production")
    assert production.tags["env"] == "production"
    assert production.run_id


def test_a_registered_model_loads_back_and_predicts(store, monkeypatch):
    # MLflow refuses to deserialize any model, skops included, unless this flag is set.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    import mlflow.sklearn

    features = list(demo_training.EXPERIMENTS[0].features)
    rows = pd.DataFrame([[0.0] * len(features), [6.0] * len(features)], columns=features)
    for name in (FRAUD_MODEL, NETWORK_MODEL):
        model = mlflow.sklearn.load_model(f"models:/{name}@production")

        assert list(model.predict(rows.to_numpy())) == [1, -1]


def test_a_second_seed_creates_nothing(store):
    client = store["client"]
    runs_before = len(all_runs(client))

    summary = demo_training.seed_mlflow(
        tracking_uri=store["uri"], artifact_root=store["artifact_root"]
    )

    assert summary.runs_created == 0
    assert len(all_runs(client)) == runs_before
    assert summary.registered_models == {FRAUD_MODEL: 4, NETWORK_MODEL: 3}
