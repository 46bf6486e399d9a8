"""The portal's answer to an MLflow filter is MLflow's answer, over the same runs."""

import pytest
from django.conf import settings
from mlflow import MlflowClient

from apps.experiments.filters import FilterError, filter_runs, order_expressions, parse_filter
from apps.experiments.models import Run

pytestmark = pytest.mark.django_db

FILTERS = [
    "metrics.f1 > 0.5",
    "metrics.f1 >= 0.3 and params.algorithm = 'iforest'",
    "params.algorithm != 'lof'",
    "params.n_estimators = '100'",
    "tags.stage = 'dev'",
    "tags.stage LIKE 'd%'",
    "tags.stage ILIKE 'd%'",
    "params.kernel LIKE '%bf'",
    "params.kernel IS NULL",
    "params.kernel IS NOT NULL and metrics.roc_auc < 0.8",
    "attributes.status = 'FINISHED'",
    "attributes.status != 'FINISHED' and metrics.fit_time_seconds <= 5",
    "attributes.run_name LIKE 'lof-%'",
    "run_name ILIKE '%NETWORK%'",
    "metrics.fit_time_seconds != 3",
    "tags.team = 'fraud' and metrics.val_loss < 0.1",
    "tags.`mlflow.runName` LIKE 'iforest%'",
    "attributes.end_time > 0",
    "attributes.user_id = 'nobody'",
    "params.contamination = '0.04' and tags.algorithm IN_RUN_IDS",
]


def _mlflow_ids(experiment_ids, text):
    client = MlflowClient(settings.MLFLOW_TRACKING_URI)
    runs = client.search_runs(experiment_ids, filter_string=text, max_results=1000)
    return {run.info.run_id for run in runs}


def _portal_ids(experiment_ids, text):
    runs = Run.objects.filter(
        experiment__experiment_id__in=experiment_ids, lifecycle_stage="active"
    )
    return set(filter_runs(runs, text).values_list("run_id", flat=True))


@pytest.mark.parametrize("text", FILTERS)
def test_the_portal_returns_the_runs_mlflow_returns(mirrored, text):
    experiment_ids = [seeded["id"] for seeded in mirrored.values()]
    if "IN_RUN_IDS" in text:
        some = mirrored["t-network"]["runs"][:5]
        quoted = ", ".join(f"'{run_id}'" for run_id in some)
        text = f"params.contamination = '0.04' and attributes.run_id IN ({quoted})"

    expected = _mlflow_ids(experiment_ids, text)

    assert _portal_ids(experiment_ids, text) == expected


def test_start_time_compares_as_milliseconds_like_mlflow(mirrored):
    experiment_ids = [seeded["id"] for seeded in mirrored.values()]
    middle = sorted(Run.objects.values_list("start_time", flat=True))[30]
    text = f"attributes.start_time > {middle} and attributes.run_id NOT IN ('x')"

    assert _portal_ids(experiment_ids, text) == _mlflow_ids(experiment_ids, text)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("metrics.f1 > 0.5 and params.n_estimators > '100'", 41),
        ("metrics.f1 >> 0.5", 11),
        ("metrics.f1 > 0.5 or metrics.f1 < 0.2", 17),
        ("metrics.f1 > 'high'", 13),
        ("metrics.f1 > 0 and  Color = 1", 20),
        ("color = 'red'", 0),
        ("metrics.f1 > 0.1 and tags.x = 'a' and nonsense", 38),
    ],
)
def test_a_malformed_filter_reports_message_and_position(text, position):
    with pytest.raises(FilterError) as raised:
        parse_filter(text)

    assert raised.value.message
    assert raised.value.position == position


def test_datasets_are_refused_with_their_position(mirrored):
    with pytest.raises(FilterError) as raised:
        filter_runs(Run.objects.all(), "metrics.f1 > 0 and datasets.name = 'x'")

    assert raised.value.position == 19


def test_ordering_by_a_metric_puts_runs_without_it_last(mirrored):
    runs = Run.objects.filter(lifecycle_stage="active").order_by(
        *order_expressions(["metrics.fit_time_seconds ASC"])
    )
    values = [run.metrics.get("fit_time_seconds") for run in runs]
    present = [v for v in values if v is not None]

    assert present == sorted(present)
    assert values[len(present) :] == [None] * (len(values) - len(present))


def test_an_unknown_order_by_is_an_error():
    with pytest.raises(FilterError):
        order_expressions(["metrics.f1 SIDEWAYS"])
