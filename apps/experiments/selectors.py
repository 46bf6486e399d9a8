"""Reads of the experiments mirror, always through the viewer's permissions.

Every function takes the user first and narrows to what that user may view; an id the
user may not see behaves exactly like an id that does not exist (Http404).
"""

from dataclasses import dataclass, field

import numpy as np
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast
from django.http import Http404

from apps.experiments import histories
from apps.experiments.conf import metric_direction
from apps.experiments.filters import filter_runs, order_expressions
from apps.experiments.models import POINT_DTYPE, Experiment, Lifecycle, MetricHistory, Run
from apps.experiments.permissions import EXPERIMENT_PERMISSIONS, visible_runs

MAX_COMPARE = 50
MIN_COMPARE = 2
MAX_HISTORY_POINTS = 5000
# Column pickers list the keys found among this many most recent runs.
KEY_SAMPLE_RUNS = 500
RUN_LIST_FIELDS = [
    "run_id", "experiment_id", "experiment__experiment_id", "experiment__name", "name",
    "status", "user_id", "start_time", "end_time", "lifecycle_stage", "params", "tags",
    "metrics",
]  # fmt: skip


def experiments_for(user, *, include_deleted: bool = False):
    experiments = EXPERIMENT_PERMISSIONS.visible_to(user).select_related("team__group")
    if not include_deleted:
        experiments = experiments.filter(lifecycle_stage=Lifecycle.ACTIVE)
    return experiments.order_by("name")


def experiment_for(user, experiment_id: str) -> Experiment:
    return EXPERIMENT_PERMISSIONS.get_or_404(user, experiment_id=experiment_id)


def search_runs(
    user,
    *,
    experiment_ids: list[str] | None = None,
    filter_text: str = "",
    order_by: list[str] | None = None,
    include_deleted: bool = False,
):
    """Runs the user may view, filtered and ordered with MLflow's syntax.

    Raises FilterError for a filter or order-by that MLflow would refuse.
    """
    runs = visible_runs(user, experiment_ids=experiment_ids)
    if not include_deleted:
        runs = runs.filter(lifecycle_stage=Lifecycle.ACTIVE)
    runs = filter_runs(runs, filter_text)
    return runs.order_by(*order_expressions(order_by))


@dataclass
class RunPage:
    rows: list[tuple]
    has_next: bool
    # Total matching runs; None when counting was not requested and is not free.
    count: int | None


PAGE_COLUMNS = (
    "run_id", "experiment__experiment_id", "experiment__name", "name", "status", "user_id",
    "start_time", "end_time", "lifecycle_stage",
)  # fmt: skip


def run_page(runs, *, page: int, page_size: int, with_count: bool = False) -> RunPage:
    """One page of a run search, in one query; the total only when free or asked for.

    `runs` comes from `search_runs`, whose ordering ends in run_id and so is total. The
    inner query (LIMIT inside IN: PostgreSQL and SQLite accept it) ranks only ids, so the
    wide JSON columns are not carried through the sort, and takes one row more than the
    page to learn whether another page follows. The outer query sorts those few rows
    again with the same ordering and reads params, metrics and tags as JSON text that the
    API passes through without re-encoding. Counting every match costs about as much as
    ranking them, so a page that is not the last one has a count only with `with_count`.
    """
    offset = (page - 1) * page_size
    ranked = runs.values("run_id")[offset : offset + page_size + 1]
    rows = (
        Run.objects.filter(run_id__in=ranked)
        .annotate(
            params_json=Cast("params", TextField()),
            metrics_json=Cast("metrics", TextField()),
            tags_json=Cast("tags", TextField()),
        )
        .order_by(*runs.query.order_by)
        .values_list(*PAGE_COLUMNS, "params_json", "metrics_json", "tags_json")
    )
    rows = list(rows)
    has_next = len(rows) > page_size
    rows = rows[:page_size]

    if not has_next and (rows or page == 1):
        count = offset + len(rows)
    else:
        count = runs.count() if with_count else None
    return RunPage(rows=rows, has_next=has_next, count=count)


def run_for(user, run_id: str) -> Run:
    run = visible_runs(user).select_related("experiment__team__group").filter(run_id=run_id)
    found = run.first()
    if found is None:
        raise Http404("No run matches the given query.")
    return found


@dataclass
class ColumnKeys:
    params: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def column_keys(runs) -> ColumnKeys:
    """Param, metric and tag keys seen among the most recent runs of a search.

    The database lists the keys (jsonb_object_keys on PostgreSQL, json_each on SQLite):
    decoding the sampled runs' JSON in Python was the larger part of the runs page's time
    on runs with 100 keys each (docs/benchmarks.md, "The runs page"). The SQL around the
    sample holds only this module's text; the sample's own values stay parameters.
    """
    sample = runs.order_by("-start_time").values("params", "metrics", "tags")
    try:
        sql, params = sample[:KEY_SAMPLE_RUNS].query.sql_with_params()
    except EmptyResultSet:  # the user may view no experiment at all
        return ColumnKeys()
    if connection.vendor == "postgresql":
        listing = "SELECT DISTINCT '{0}', jsonb_object_keys(sample.{0}) FROM sample"
    else:
        listing = "SELECT DISTINCT '{0}', j.key FROM sample, json_each(sample.{0}) AS j"
    union = " UNION ALL ".join(listing.format(group) for group in ("params", "metrics", "tags"))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH sample AS ({sql}) {union}", params)  # noqa: S608
        found = cursor.fetchall()

    keys = ColumnKeys()
    for group, key in sorted(found):
        if group == "tags" and key.startswith("mlflow."):
            continue
        getattr(keys, group).append(key)
    return keys


def history_keys(run: Run) -> dict[str, int]:
    """Each metric of a run with its number of logged points."""
    counts = dict(MetricHistory.objects.filter(run=run).values_list("key", "count").order_by("key"))
    return {key: counts.get(key, 1) for key in sorted(run.metrics)}


@dataclass
class Comparison:
    runs: list[Run]
    params: list[dict]
    metrics: list[dict]


def compare_runs(user, run_ids: list[str]) -> Comparison:
    """Side-by-side params and metrics of 2 to 50 visible runs, in the order given.

    Param rows say whether the runs differ; metric rows mark the best run(s) per
    metric, using the metric's direction (higher or lower is better).
    """
    wanted = list(dict.fromkeys(run_ids))
    if not MIN_COMPARE <= len(wanted) <= MAX_COMPARE:
        raise ValueError(f"Compare between {MIN_COMPARE} and {MAX_COMPARE} runs.")
    found = {
        run.run_id: run
        for run in visible_runs(user).filter(run_id__in=wanted).select_related("experiment")
    }
    if len(found) != len(wanted):
        raise Http404("No run matches the given query.")
    runs = [found[run_id] for run_id in wanted]

    return Comparison(runs=runs, params=_param_rows(runs), metrics=_metric_rows(runs))


def _param_rows(runs: list[Run]) -> list[dict]:
    keys = sorted({key for run in runs for key in run.params})
    rows = []
    for key in keys:
        values = [run.params.get(key) for run in runs]
        rows.append({"key": key, "values": values, "differs": len(set(values)) > 1})
    return rows


def _metric_rows(runs: list[Run]) -> list[dict]:
    keys = sorted({key for run in runs for key in run.metrics})
    rows = []
    for key in keys:
        values = [run.metrics.get(key) for run in runs]
        direction = metric_direction(key)
        present = [v for v in values if v is not None]
        best = (max if direction == "max" else min)(present) if present else None
        rows.append(
            {
                "key": key,
                "values": values,
                "direction": direction,
                "best": [i for i, v in enumerate(values) if best is not None and v == best],
            }
        )
    return rows


@dataclass(frozen=True)
class Zoom:
    """The part of a history a chart shows: steps or timestamps (ms) from `low` to `high`."""

    axis: str = "step"
    low: int | None = None
    high: int | None = None

    @property
    def whole(self) -> bool:
        return self.low is None and self.high is None


WHOLE = Zoom()


@dataclass
class HistorySeries:
    run_id: str
    key: str
    count: int
    returned: int
    steps: list
    timestamps: list
    values: list
    axis: str = "step"
    low: int | None = None
    high: int | None = None

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def metric_history(
    run: Run, key: str, *, max_points: int = histories.OVERVIEW_POINTS, zoom: Zoom = WHOLE
) -> HistorySeries:
    """A run's metric history, downsampled to at most `max_points` (MinMax-LTTB).

    The whole range is served from the stored overview; a zoom on steps reads only the
    slice of the packed array that holds it.
    """
    row = _history_rows([run.run_id], key).get(run.run_id)
    return _series(run, key, row, max_points, zoom)


def _history_rows(run_ids: list[str], key: str) -> dict[str, MetricHistory]:
    rows = MetricHistory.objects.filter(run_id__in=run_ids, key=key).only(
        "id", "run_id", "count", "step_index", "overview"
    )
    return {row.run_id: row for row in rows}


def _series(run, key, row, max_points: int, zoom: Zoom) -> HistorySeries:
    max_points = max(10, min(max_points, MAX_HISTORY_POINTS))
    if row is None:
        points = _single_point(run, key)
        count = len(points)
    elif zoom.whole and max_points <= histories.OVERVIEW_POINTS:
        points, count = histories.unpack(row.overview), row.count
    else:
        points, count = _read_zoom(row, zoom), row.count

    shown = histories.downsample(points, max_points)
    return HistorySeries(
        run_id=run.run_id,
        key=key,
        count=count,
        returned=len(shown),
        axis=zoom.axis,
        low=zoom.low,
        high=zoom.high,
        **histories.as_series(shown),
    )


def _single_point(run: Run, key: str) -> np.ndarray:
    if key not in run.metrics:
        raise Http404("This run has no such metric.")
    step, timestamp = run.metric_marks.get(key, [0, run.start_time or 0])
    value = run.metrics[key]
    return np.array([(step, timestamp, np.nan if value is None else value)], dtype=POINT_DTYPE)


def _read_zoom(row: MetricHistory, zoom: Zoom) -> np.ndarray:
    """The points inside the zoom. Steps are indexed; timestamps are not, so a zoom on
    time reads the whole packed array (about 25 ms per million points) and trims it."""
    if zoom.axis == "step":
        index = np.frombuffer(bytes(row.step_index), dtype="<i8")
        start, stop = histories.slice_bounds(index, row.count, zoom.low, zoom.high)
    else:
        start, stop = 0, row.count
    points = _read_slice(row.pk, start, stop)

    column = points["step" if zoom.axis == "step" else "timestamp"]
    keep = np.ones(len(points), dtype=bool)
    if zoom.low is not None:
        keep &= column >= zoom.low
    if zoom.high is not None:
        keep &= column <= zoom.high
    return points[keep]


def _read_slice(history_id: int, start: int, stop: int) -> np.ndarray:
    """Records [start, stop) of a packed history; PostgreSQL reads only those TOAST chunks."""
    size = POINT_DTYPE.itemsize
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT substring(points FROM %s FOR %s) "
                "FROM experiments_metrichistory WHERE id = %s",
                [start * size + 1, (stop - start) * size, history_id],
            )
            raw = cursor.fetchone()[0]
        return histories.unpack(raw)
    raw = MetricHistory.objects.values_list("points", flat=True).get(pk=history_id)
    return histories.unpack(raw)[start:stop]


def compare_histories(
    user,
    run_ids: list[str],
    key: str,
    *,
    max_points: int | None = None,
    zoom: Zoom = WHOLE,
) -> list[HistorySeries]:
    """One metric's history for several visible runs; points per trace shrink with count."""
    runs = [run for run in compare_runs(user, run_ids).runs if key in run.metrics]
    budget = max_points or max(300, 20000 // max(1, len(runs)))
    rows = _history_rows([run.run_id for run in runs], key)
    # A zoomed window reads one slice per run (at most MAX_COMPARE small reads).
    return [_series(run, key, rows.get(run.run_id), budget, zoom) for run in runs]


def compare_history_keys(runs: list[Run]) -> list[str]:
    """Metrics with a history (two or more points) in at least one of the runs."""
    keys = MetricHistory.objects.filter(run__in=runs).values_list("key", flat=True).distinct()
    return sorted(set(keys))
