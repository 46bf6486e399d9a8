"""`seed_demo` hook: mirror the freshly seeded MLflow store so `make run` shows data."""

from apps.core.context import action_context
from apps.experiments.sync import sync_mirror


def sync_after_seed(*, stdout) -> None:
    with action_context(source="sync"):
        summary = sync_mirror()
    stdout.write(
        f"Experiments mirror: {summary.experiments} experiments, {summary.runs_seen} runs "
        f"({summary.runs_written} written, {summary.histories_written} histories) "
        f"in {summary.seconds}s"
    )
