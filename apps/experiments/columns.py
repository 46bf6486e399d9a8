"""The columns a runs table shows: picked from attributes, params, metrics and tags.

The choice travels in the URL (`columns=metrics.f1,params.algorithm`) so a table can
be shared; each column also knows the MLflow order-by that sorts it.
"""

from dataclasses import dataclass

from apps.experiments.models import ms_to_datetime

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

    def value(self, run):
        if self.group == "attributes":
            return _attribute(run, self.key)
        return getattr(run, self.group).get(self.key)


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

    def rows(self, runs) -> list[tuple]:
        """(run, [(column, value), ...]) for each run, ready for the template."""
        return [(run, [(column, column.value(run)) for column in self.columns]) for run in runs]

    @staticmethod
    def attribute_choices() -> list[tuple[str, str]]:
        return [(f"attributes.{key}", label) for key, (label, _) in ATTRIBUTES.items()]
