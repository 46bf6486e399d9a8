"""Demo MLflow content for the portal: experiments, trained detectors and registered models.

``seed_mlflow`` fills an MLflow tracking store with real scikit-learn anomaly detectors
trained on synthetic, labelled tabular data, so the portal has runs, metric histories,
datasets, registered models and aliases to show. It imports nothing from Django; the
``seed_demo`` management command calls it.

Every run carries a deterministic ``demo.key`` tag, written only once the run is complete,
so a second call finds everything in place and creates nothing.
"""

import logging
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import mlflow.data
import mlflow.sklearn
import numpy as np
import pandas as pd
import sklearn
import skops
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.models import infer_signature
from scipy.stats import rankdata
from sklearn.covariance import EllipticEnvelope
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor
from sklearn.svm import OneClassSVM

logger = logging.getLogger(__name__)

DEMO_KEY_TAG = "demo.key"
AUTHORS = ("alice", "bob", "carol", "dave", "erin", "frank")
FINAL_METRICS = (
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "average_precision",
    "fit_time_seconds",
)
ROWS = 3000
ANOMALY_RATE = 0.04
TRAIN_SHARE = 2 / 3
# Warm-start steps of an IsolationForest, and subset sizes of the other learning curves.
FOREST_STEPS = 20
SUBSET_STEPS = 12
# skops refuses to load types it does not know: an IsolationForest holds compiled trees and
# a LocalOutlierFactor a neighbours index with its distance metric.
SKOPS_TRUSTED_TYPES = [
    "sklearn.tree._tree.Tree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
]
# MinCovDet switches to a subset search above 500 rows and gets about 15x slower, so the
# elliptic envelope trains on a 500-row sample of the training set.
TRAIN_ROW_LIMITS = {"elliptic": 500}
# Estimator parameters renamed so they do not clash with our own `algorithm` param.
PARAM_RENAMES = {"algorithm": "neighbors_algorithm"}
RUN_SPACING_MS = 3 * 60 * 60 * 1000
TRAINING_THREADS = 2


@dataclass(frozen=True)
class ExperimentSpec:
    """One demo experiment: its team, data seed and feature names (z-scored values)."""

    name: str
    team: str
    seed: int
    features: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class RegisteredModelSpec:
    """A registered model fed by the first `versions` runs of one algorithm in one experiment.

    `aliases` maps an alias to the 1-based position of the run among those versions.
    """

    name: str
    experiment: str
    algorithm: str
    versions: int
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]


@dataclass(frozen=True)
class RunSpec:
    """One planned training run; `key` identifies it across seeding attempts."""

    experiment: ExperimentSpec
    algorithm: str
    hyperparams: dict
    index: int
    position: int
    registered_model: RegisteredModelSpec | None = None

    @property
    def key(self) -> str:
        return f"{self.experiment.name}/{self.algorithm}-{self.index:02d}"


@dataclass(frozen=True)
class DemoData:
    """A labelled data set (label 1 = anomaly) and its train/validation split."""

    frame: pd.DataFrame
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclass
class TrainingResult:
    """A fitted detector with its per-step curve and its final validation metrics."""

    model: object
    curve: list[dict[str, float]]
    final: dict[str, float]
    train_rows: int


@dataclass
class SeedSummary:
    """What the demo store holds after seeding, and how much of it this call created."""

    experiments: list[str] = field(default_factory=list)
    run_count: int = 0
    runs_created: int = 0
    registered_models: dict[str, int] = field(default_factory=dict)


EXPERIMENTS = (
    ExperimentSpec(
        name="fraud-detection",
        team="fraud",
        seed=11,
        features=(
            "amount",
            "tx_per_hour",
            "merchant_risk",
            "distance_from_home",
            "account_age",
            "hour_sin",
            "hour_cos",
            "card_present_ratio",
        ),
        description="Card transactions; anomalies are fraudulent payments.",
    ),
    ExperimentSpec(
        name="network-intrusion",
        team="network",
        seed=23,
        features=(
            "bytes_in",
            "bytes_out",
            "packets",
            "duration",
            "distinct_ports",
            "failed_logins",
            "syn_ratio",
            "conn_per_min",
        ),
        description="Network flows; anomalies are intrusion attempts.",
    ),
    ExperimentSpec(
        name="sensor-anomalies",
        team="iot",
        seed=37,
        features=(
            "temperature",
            "vibration",
            "pressure",
            "humidity",
            "current",
            "voltage",
            "rpm",
            "noise_db",
        ),
        description="Industrial sensor readings; anomalies are faulty machines.",
    ),
)

REGISTERED_MODELS = (
    RegisteredModelSpec(
        name="fraud-iforest",
        experiment="fraud-detection",
        algorithm="iforest",
        versions=4,
        description="IsolationForest scoring card transactions for fraud review.",
        tags={"team": "fraud", "task": "anomaly-detection", "algorithm": "iforest"},
        aliases={"production": 2, "staging": 4},
    ),
    RegisteredModelSpec(
        name="network-lof",
        experiment="network-intrusion",
        algorithm="lof",
        versions=3,
        description="Local Outlier Factor flagging suspicious network flows.",
        tags={"team": "network", "task": "anomaly-detection", "algorithm": "lof"},
        aliases={"production": 2},
    ),
)

HYPERPARAM_GRID = {
    "iforest": (
        {"n_estimators": 60, "max_samples": 256, "contamination": 0.04, "max_features": 1.0},
        {"n_estimators": 120, "max_samples": 256, "contamination": 0.04, "max_features": 0.75},
        {"n_estimators": 40, "max_samples": 128, "contamination": 0.05, "max_features": 1.0},
        {"n_estimators": 100, "max_samples": 512, "contamination": 0.03, "max_features": 0.5},
        {"n_estimators": 50, "max_samples": 64, "contamination": 0.06, "max_features": 1.0},
    ),
    "lof": (
        {"n_neighbors": 20, "contamination": 0.04, "metric": "minkowski", "leaf_size": 30},
        {"n_neighbors": 35, "contamination": 0.04, "metric": "minkowski", "leaf_size": 40},
        {"n_neighbors": 10, "contamination": 0.05, "metric": "manhattan", "leaf_size": 30},
        {"n_neighbors": 50, "contamination": 0.03, "metric": "chebyshev", "leaf_size": 20},
    ),
    "ocsvm": (
        {"kernel": "rbf", "nu": 0.05, "gamma": "scale"},
        {"kernel": "rbf", "nu": 0.03, "gamma": 0.05},
        {"kernel": "rbf", "nu": 0.1, "gamma": 0.2},
        {"kernel": "sigmoid", "nu": 0.05, "gamma": "scale"},
    ),
    "elliptic": (
        {"contamination": 0.04, "support_fraction": None},
        {"contamination": 0.05, "support_fraction": 0.9},
        {"contamination": 0.03, "support_fraction": 0.75},
    ),
}


def seed_mlflow(
    *,
    tracking_uri: str,
    artifact_root: str,
    log: Callable[[str], object] = logger.info,
) -> SeedSummary:
    """Fill the MLflow store at `tracking_uri` with demo experiments, runs and models.

    Idempotent: experiments are found by name, runs by their `demo.key` tag and model
    versions by their run, so only what is missing gets created. Sets the process-wide
    MLflow tracking and registry URIs to `tracking_uri` and leaves them set.
    """
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    started = time.perf_counter()

    experiment_ids = {
        spec.name: ensure_experiment(client, spec, artifact_root, log) for spec in EXPERIMENTS
    }
    existing = existing_demo_runs(client, list(experiment_ids.values()))
    missing = [spec for spec in plan_runs() if spec.key not in existing]

    if missing:
        ensure_registered_models(client, log)
        created = train_missing_runs(client, missing, experiment_ids, log)
        existing.update(created)

    set_aliases(client, existing)
    summary = SeedSummary(
        experiments=list(experiment_ids),
        run_count=len(existing),
        runs_created=len(missing),
        registered_models=count_versions(client),
    )
    log(
        f"MLflow demo seed: {summary.runs_created} runs created, {summary.run_count} in store, "
        f"models {summary.registered_models}, {time.perf_counter() - started:.1f}s"
    )
    return summary


def plan_runs() -> list[RunSpec]:
    """List every demo run in a fixed order; the first runs of a model's source get registered."""
    plan = []
    for experiment in EXPERIMENTS:
        for algorithm, grid in HYPERPARAM_GRID.items():
            for index, hyperparams in enumerate(grid):
                target = registration_target(experiment.name, algorithm, index)
                plan.append(RunSpec(experiment, algorithm, hyperparams, index, len(plan), target))
    return plan


def registration_target(experiment: str, algorithm: str, index: int) -> RegisteredModelSpec | None:
    """Return the registered model that a run's model becomes a version of, if any."""
    for spec in REGISTERED_MODELS:
        if (spec.experiment, spec.algorithm) == (experiment, algorithm) and index < spec.versions:
            return spec
    return None


def ensure_experiment(client: MlflowClient, spec: ExperimentSpec, artifact_root: str, log) -> str:
    """Return the id of the experiment named in `spec`, creating it under `artifact_root`."""
    experiment = client.get_experiment_by_name(spec.name)
    if experiment is not None:
        return experiment.experiment_id

    location = Path(artifact_root, spec.name).resolve().as_uri()
    tags = {"team": spec.team, "mlflow.note.content": spec.description}
    experiment_id = client.create_experiment(spec.name, artifact_location=location, tags=tags)
    log(f"Created experiment {spec.name} ({experiment_id})")
    return experiment_id


def existing_demo_runs(client: MlflowClient, experiment_ids: list[str]) -> dict[str, str]:
    """Map the `demo.key` of every completed demo run to its run id."""
    runs = client.search_runs(
        experiment_ids, filter_string=f"tags.`{DEMO_KEY_TAG}` LIKE '%'", max_results=1000
    )
    return {run.data.tags[DEMO_KEY_TAG]: run.info.run_id for run in runs}


def ensure_registered_models(client: MlflowClient, log) -> None:
    """Create the demo registered models that do not exist yet."""
    existing = {model.name for model in client.search_registered_models(max_results=1000)}
    for spec in REGISTERED_MODELS:
        if spec.name in existing:
            continue
        client.create_registered_model(spec.name, tags=spec.tags, description=spec.description)
        log(f"Created registered model {spec.name}")


def train_missing_runs(
    client: MlflowClient, missing: list[RunSpec], experiment_ids: dict[str, str], log
) -> dict[str, str]:
    """Train the missing runs on a small thread pool and log them, in plan order.

    scikit-learn releases the GIL in its tree, neighbour and SVM code, so two threads
    shorten the seed on a two-core machine; MLflow calls stay on the calling thread.
    """
    now_ms = int(time.time() * 1000)
    total = len(plan_runs())
    created = {}
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(TRAINING_THREADS) as pool:
        experiments = {spec.experiment.name: spec.experiment for spec in missing}
        prepared = {
            name: prepare_dataset(experiment, Path(scratch))
            for name, experiment in experiments.items()
        }
        results = pool.map(lambda spec: train(spec, prepared[spec.experiment.name][0]), missing)
        for spec, result in zip(missing, results, strict=True):
            start_ms = now_ms - (total - spec.position) * RUN_SPACING_MS
            experiment_id = experiment_ids[spec.experiment.name]
            prepared_data = prepared[spec.experiment.name]
            run_id = log_run(client, spec, experiment_id, prepared_data, result, start_ms)
            created[spec.key] = run_id
            log(f"Logged run {spec.key} ({run_id})")
    return created


def prepare_dataset(experiment: ExperimentSpec, scratch: Path) -> tuple:
    """Build an experiment's data, its MLflow dataset and a CSV copy for the run artifacts."""
    data = make_dataset(experiment)
    csv_path = scratch / f"{experiment.name}.csv"
    data.frame.to_csv(csv_path, index=False, float_format="%.5f")
    dataset = mlflow.data.from_pandas(data.frame, targets="label", name=f"{experiment.name}-demo")
    return data, dataset, csv_path


def make_dataset(experiment: ExperimentSpec) -> DemoData:
    """Generate correlated Gaussian rows with ~4 % injected anomalies (label 1).

    Half of the anomalies are shifted 3 to 5 standard deviations along a few features, the
    other half are normal rows scaled by 3 to 4. Rows are shuffled, then split 2:1 into
    training and validation sets.
    """
    rng = np.random.default_rng(experiment.seed)
    n_features = len(experiment.features)
    mixing = rng.normal(scale=0.4, size=(n_features, n_features)) + np.eye(n_features)
    normal = rng.normal(size=(ROWS, n_features)) @ mixing.T
    normal = (normal - normal.mean(axis=0)) / normal.std(axis=0)

    n_anomalies = int(ROWS * ANOMALY_RATE)
    anomalies = normal[:n_anomalies].copy()
    half = n_anomalies // 2
    shifted = rng.random((half, n_features)) < 0.35
    signs = rng.choice([-1.0, 1.0], size=(half, n_features))
    anomalies[:half] += shifted * signs * rng.uniform(3, 5, size=(half, n_features))
    anomalies[half:] *= rng.uniform(3, 4, size=(n_anomalies - half, 1))

    features = np.vstack([anomalies, normal[n_anomalies:]])
    labels = np.r_[np.ones(n_anomalies, dtype=int), np.zeros(ROWS - n_anomalies, dtype=int)]
    order = rng.permutation(ROWS)
    features, labels = features[order], labels[order]

    frame = pd.DataFrame(features, columns=list(experiment.features)).round(5)
    frame["label"] = labels
    cut = int(ROWS * TRAIN_SHARE)
    values = frame[list(experiment.features)].to_numpy()
    return DemoData(frame, values[:cut], labels[:cut], values[cut:], labels[cut:])


def log_run(
    client: MlflowClient,
    spec: RunSpec,
    experiment_id: str,
    prepared: tuple,
    result: TrainingResult,
    start_ms: int,
) -> str:
    """Log one trained detector as a finished run; registers its model when planned.

    The `demo.key` tag goes on last, so a run that failed half-way is retrained next time
    (the failed run stays behind, marked FAILED).
    """
    data, dataset, csv_path = prepared
    author = AUTHORS[spec.position % len(AUTHORS)]
    tags = {"team": spec.experiment.team, "algorithm": spec.algorithm, "mlflow.user": author}
    run_name = f"{spec.algorithm}-{spec.experiment.team}-{spec.index:02d}"
    run_id = client.create_run(experiment_id, start_time=start_ms, tags=tags, run_name=run_name)
    run_id = run_id.info.run_id

    try:
        end_ms = start_ms + max(1, int(result.final["fit_time_seconds"] * 1000)) + 2000
        client.log_batch(
            run_id,
            metrics=metric_entities(result, start_ms, end_ms),
            params=param_entities(spec, result, data),
            tags=[RunTag("dataset", dataset.name)],
        )
        with mlflow.start_run(run_id=run_id):
            mlflow.log_input(dataset, context="training")
            mlflow.log_artifact(str(csv_path), artifact_path="data")
            if spec.registered_model is not None:
                register_version(client, spec, run_id, result, data)
    except Exception:
        client.set_terminated(run_id, status="FAILED")
        raise

    client.set_tag(run_id, DEMO_KEY_TAG, spec.key)
    client.set_terminated(run_id, status="FINISHED", end_time=end_ms)
    return run_id


def train(spec: RunSpec, data: DemoData) -> TrainingResult:
    """Fit the run's detector, recording validation metrics after every training step."""
    seed = spec.experiment.seed * 100 + spec.position
    if spec.algorithm == "iforest":
        return train_isolation_forest(spec.hyperparams, data, seed)
    return train_on_growing_subsets(spec.algorithm, spec.hyperparams, data, seed)


def train_isolation_forest(hyperparams: dict, data: DemoData, seed: int) -> TrainingResult:
    """Grow an IsolationForest in FOREST_STEPS warm-started steps up to its n_estimators."""
    target = hyperparams["n_estimators"]
    model = IsolationForest(**hyperparams, random_state=seed, warm_start=True)
    curve = []
    started = time.perf_counter()
    for step in range(1, FOREST_STEPS + 1):
        model.set_params(n_estimators=max(1, round(target * step / FOREST_STEPS)))
        model.fit(data.x_train)
        curve.append(validation_metrics(model, data))
    model.set_params(warm_start=False)

    final = dict(curve[-1], fit_time_seconds=time.perf_counter() - started)
    return TrainingResult(model, curve, final, len(data.x_train))


def train_on_growing_subsets(
    algorithm: str, hyperparams: dict, data: DemoData, seed: int
) -> TrainingResult:
    """Refit the detector on growing random training subsets (a learning curve).

    The last step uses the whole training set, or TRAIN_ROW_LIMITS rows for slow detectors.
    """
    rows = min(len(data.x_train), TRAIN_ROW_LIMITS.get(algorithm, len(data.x_train)))
    order = np.random.default_rng(seed).permutation(len(data.x_train))
    sizes = np.geomspace(100, rows, SUBSET_STEPS).round().astype(int)

    curve = []
    for size in sizes:
        model = build_detector(algorithm, hyperparams, seed)
        started = time.perf_counter()
        model.fit(data.x_train[order[:size]])
        fit_time = time.perf_counter() - started
        curve.append(validation_metrics(model, data))

    final = dict(curve[-1], fit_time_seconds=fit_time)
    return TrainingResult(model, curve, final, rows)


def build_detector(algorithm: str, hyperparams: dict, seed: int):
    """Return an unfitted scikit-learn detector for a short algorithm name."""
    if algorithm == "lof":
        return LocalOutlierFactor(**hyperparams, novelty=True)
    if algorithm == "ocsvm":
        return OneClassSVM(**hyperparams)
    if algorithm == "elliptic":
        return EllipticEnvelope(**hyperparams, random_state=seed)
    raise ValueError(f"unknown algorithm {algorithm!r}")


def validation_metrics(model, data: DemoData) -> dict[str, float]:
    """Score the validation set; anomaly score = -decision_function, flagged when it is > 0.

    Computed with numpy because scikit-learn's metric functions validate their inputs at a
    cost of tens of milliseconds per call, which dominated the seed's run time. `loss` is
    1 - average precision, so it falls as the ranking of anomalies improves.
    """
    scores = -model.decision_function(data.x_val)
    flagged = scores > 0
    positives = data.y_val == 1
    true_positives = np.count_nonzero(flagged & positives)
    precision = true_positives / max(1, np.count_nonzero(flagged))
    recall = true_positives / max(1, np.count_nonzero(positives))
    f1 = 2 * precision * recall / (precision + recall) if true_positives else 0.0
    average_precision = average_precision_of(scores, positives)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc_of(scores, positives),
        "average_precision": average_precision,
        "loss": 1.0 - average_precision,
    }


def roc_auc_of(scores: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve by the Mann-Whitney U statistic (ties get average ranks).

    AUC = (R+ - n+ (n+ + 1) / 2) / (n+ n-), with R+ the rank sum of the positives.
    """
    n_pos = np.count_nonzero(positives)
    n_neg = len(positives) - n_pos
    rank_sum = rankdata(scores)[positives].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision_of(scores: np.ndarray, positives: np.ndarray) -> float:
    """Average precision: AP = sum_k (R_k - R_k-1) P_k over distinct score thresholds.

    Same definition as scikit-learn's average_precision_score (no interpolation).
    """
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, hits = scores[order], positives[order]
    last_of_threshold = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    true_positives = np.cumsum(hits)[last_of_threshold]
    precision = true_positives / (last_of_threshold + 1)
    recall = true_positives / max(1, np.count_nonzero(positives))
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def metric_entities(result: TrainingResult, start_ms: int, end_ms: int) -> list[Metric]:
    """Per-step `val_*` histories spread over the run's time, then the final metrics."""
    spacing = max(1, (end_ms - start_ms) // (len(result.curve) + 1))
    metrics = [
        Metric(f"val_{name}", float(value), start_ms + step * spacing, step)
        for step, point in enumerate(result.curve, start=1)
        for name, value in point.items()
    ]
    metrics += [Metric(name, float(result.final[name]), end_ms, 0) for name in FINAL_METRICS]
    return metrics


def param_entities(spec: RunSpec, result: TrainingResult, data: DemoData) -> list[Param]:
    """The short algorithm name, every estimator hyper-parameter and the data set's shape."""
    params = {
        "algorithm": spec.algorithm,
        "train_rows": result.train_rows,
        "validation_rows": len(data.x_val),
        "features": data.x_train.shape[1],
        "anomaly_rate": ANOMALY_RATE,
    }
    for name, value in result.model.get_params().items():
        params[PARAM_RENAMES.get(name, name)] = value
    return [Param(key, str(value)) for key, value in params.items()]


def register_version(
    client: MlflowClient, spec: RunSpec, run_id: str, result: TrainingResult, data: DemoData
) -> None:
    """Log the fitted model with skops in the active run and add it as a model version."""
    sample = pd.DataFrame(data.x_val[:20], columns=list(spec.experiment.features))
    info = mlflow.sklearn.log_model(
        result.model,
        name="model",
        serialization_format="skops",
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
        signature=infer_signature(sample, result.model.predict(sample.to_numpy())),
        pip_requirements=[
            f"scikit-learn=={sklearn.__version__}",
            f"skops=={skops.__version__}",
            f"numpy=={np.__version__}",
        ],
    )
    client.create_model_version(
        spec.registered_model.name,
        source=info.model_uri,
        run_id=run_id,
        model_id=info.model_id,
        tags={"algorithm": spec.algorithm, DEMO_KEY_TAG: spec.key},
        description=f"{spec.algorithm} {spec.hyperparams}, validation f1 {result.final['f1']:.3f}",
    )


def set_aliases(client: MlflowClient, runs_by_key: dict[str, str]) -> None:
    """Point each demo alias at its version and tag that version with `env` = alias."""
    for spec in REGISTERED_MODELS:
        versions = versions_by_run(client, spec.name)
        if not versions:
            continue
        current = client.get_registered_model(spec.name).aliases
        for alias, position in spec.aliases.items():
            key = f"{spec.experiment}/{spec.algorithm}-{position - 1:02d}"
            version = versions.get(runs_by_key.get(key))
            if version is None or str(current.get(alias)) == str(version):
                continue
            client.set_registered_model_alias(spec.name, alias, version)
            client.set_model_version_tag(spec.name, version, "env", alias)


def versions_by_run(client: MlflowClient, name: str) -> dict[str, str]:
    """Map run id to version number for a registered model."""
    versions = client.search_model_versions(f"name = '{name}'")
    return {version.run_id: version.version for version in versions}


def count_versions(client: MlflowClient) -> dict[str, int]:
    """Count the versions of each demo registered model in the store."""
    return {
        spec.name: len(client.search_model_versions(f"name = '{spec.name}'"))
        for spec in REGISTERED_MODELS
    }
