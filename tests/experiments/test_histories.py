import numpy as np
import pytest
from mlflow.entities import Metric
from rest_framework.test import APIClient

from apps.experiments import histories
from apps.experiments.models import INDEX_STRIDE, POINT_DTYPE, MetricHistory
from apps.experiments.sync import sync_mirror
from tests.experiments.conftest import seed_experiment


def _points(count: int) -> np.ndarray:
    steps = np.arange(count)
    values = np.sin(steps / 50.0)
    values[count // 3] = 25.0  # a spike the downsampling must keep
    rows = list(zip(steps, steps * 10, values, strict=True))
    return histories.pack_rows(rows)


def test_downsampling_keeps_the_extremes_and_the_ends():
    points = _points(100_000)

    shown = histories.downsample(points, 2000)

    assert len(shown) <= 2000
    assert shown["value"].max() == 25.0
    assert shown["step"][0] == 0 and shown["step"][-1] == 99_999


def test_slice_bounds_cover_the_requested_steps():
    points = _points(10 * INDEX_STRIDE + 7)
    index = histories.step_index(points)

    start, stop = histories.slice_bounds(index, len(points), 3000, 3100)

    assert points["step"][start] <= 3000 and points["step"][stop - 1] >= 3100
    assert stop - start <= 100 + 3 * INDEX_STRIDE


def test_json_series_turn_nan_into_null():
    points = np.array([(0, 0, np.nan), (1, 10, 0.5)], dtype=POINT_DTYPE)

    assert histories.as_series(points)["values"] == [None, 0.5]


@pytest.mark.django_db
def test_a_long_history_is_zoomed_through_the_api(private_store, teams, data_scientist):
    seeded = seed_experiment(private_store, "fraud-long", "fraud", 1, seed=12)
    run_id = seeded["runs"][0]
    for start in range(0, 5000, 1000):
        batch = [
            Metric("loss", 1 / (s + 1), 1_700_000_000_000 + s, s)
            for s in range(start, start + 1000)
        ]
        private_store.log_batch(run_id, metrics=batch)
    sync_mirror()
    api = APIClient()
    api.force_authenticate(data_scientist)
    url = f"/api/v1/runs/{run_id}/metrics/loss/history/"

    whole = api.get(url, {"max_points": 500}).json()
    zoomed = api.get(url, {"step_min": 2040, "step_max": 2059}).json()

    assert MetricHistory.objects.get(run_id=run_id, key="loss").count == 5000
    assert whole["count"] == 5000 and whole["returned"] <= 500
    assert zoomed["steps"] == list(range(2040, 2060))
    assert zoomed["values"][0] == pytest.approx(1 / 2041)
