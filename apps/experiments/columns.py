"""The columns a runs table shows: picked from attributes, params, metrics and tags.

The choice travels in the URL (`columns=metrics.f1,params.algorithm`) so a table can
be shared; each column also knows the MLflow order-by that sorts it.
"""

from dataclasses import dataclass

from django.db.models.fields.json import KeyTransform

from apps.experiments.models import Run, ms_to_datetime

PAGE_SIZES = (25, 50, 100, 250)
DEFAULT_PAGE_SIZE = 50
ATTRIBUTES = {
    "status": ("Status", "attributes.status"),
    "start_time": ("Started", "attributes.start_time"),
    "duration": ("Duration", None),
    "user_id": ("User", "attributes.user_id"),
}
DEFAULT_ATTRIBUTES = ("status", "start_time", "duration", "user_id")
PREFERRED_METRICS = ("f1", "roc_auc", "precision", "recall", "loss", "accuracy")
DEFAULT_METRIC_COUNT = 4


@dataclass(frozen=True)
class Column:
    group: str  # attributes, params, metrics, tags
    key: str

    @property
    def id(self) -> str:
        return f"{self.group}.{self.key}"

    @property
    def label(self) -> str:
        if self.group == "attributes":
            return ATTRIBUTES[self.key][0]
        return self.key

    @property
    def order_by(self) -> str | None:
        if self.group == "attributes":
            return ATTRIBUTES[self.key][1]
        quoted = f"`{self.key}`" if not self.key.replace("_", "").isalnum() else self.key
        return f"{self.group}.{quoted}"


# Fields of a run the table never shows. On runs with 100 keys each, decoding them cost
# more than the rest of building a page of rows.
UNSHOWN_FIELDS = ("params", "metrics", "tags", "metric_marks", "artifact_uri", "fingerprint")


def _alias(index: int) -> str:
    return f"column_{index}"


def _attribute(run, key):
    if key == "start_time":
        return ms_to_datetime(run.start_time)
    if key == "duration":
        return run.duration_seconds
    return getattr(run, key)


class RunColumns:
    def __init__(self, columns: list[Column]):
        self.columns = columns

    @classmethod
    def from_request(cls, raw: str, keys) -> "RunColumns":
        available = {
            "attributes": set(ATTRIBUTES),
            "params": set(keys.params),
            "metrics": set(keys.metrics),
            "tags": set(keys.tags),
        }
        picked = []
        for item in (part.strip() for part in raw.split(",")):
            group, _, key = item.partition(".")
            if key and key in available.get(group, ()):
                picked.append(Column(group, key))
        return cls(picked or cls.defaults(keys))

    @staticmethod
    def defaults(keys) -> list[Column]:
        columns = [Column("attributes", key) for key in DEFAULT_ATTRIBUTES]
        if "algorithm" in keys.params:
            columns.append(Column("params", "algorithm"))
        preferred = [m for m in PREFERRED_METRICS if m in keys.metrics]
        others = [m for m in keys.metrics if m not in preferred and not m.startswith("val_")]
        for metric in (preferred + others)[:DEFAULT_METRIC_COUNT]:
            columns.append(Column("metrics", metric))
        return columns

    @property
    def ids(self) -> list[str]:
        return [column.id for column in self.columns]

    def __iter__(self):
        return iter(self.columns)

    def rows(self, run_ids: list[str]) -> list[tuple]:
        """(run, [(column, value), ...]) for the given runs, in the order given, ready for
        the template.

        Precondition: the caller may view these runs (the ids come from its search). Each
        picked param, metric or tag is read as one JSON value of its own and the runs'
        whole JSON objects are not loaded. The runs are read by id after the search has
        ranked them, so the key lookups run on one page of rows, not on every match.
        """
        picked = {
            _alias(index): KeyTransform(column.key, column.group)
            for index, column in enumerate(self.columns)
            if column.group != "attributes"
        }
        runs = (
            Run.objects.filter(run_id__in=run_ids)
            .select_related("experiment")
            .defer(*UNSHOWN_FIELDS)
            .annotate(**picked)
        )
        by_id = {run.run_id: run for run in runs}
        return [(by_id[run_id], self._cells(by_id[run_id])) for run_id in run_ids]

    def _cells(self, run) -> list[tuple]:
        return [
            (
                column,
                _attribute(run, column.key)
                if column.group == "attributes"
                else getattr(run, _alias(index)),
            )
            for index, column in enumerate(self.columns)
        ]

    @staticmethod
    def attribute_choices() -> list[tuple[str, str]]:
        return [(f"attributes.{key}", label) for key, (label, _) in ATTRIBUTES.items()]
