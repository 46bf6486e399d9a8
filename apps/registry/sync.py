"""Mirror MLflow's registered models and versions, and notice aliases moved outside the portal.

MLflow is read first, without locks; each model is then written in its own transaction
while holding its row lock, the same lock the promote task holds while it moves an alias.
An alias that differs from the portal's history is re-read under that lock before it is
recorded, so a move the portal itself is making is never mistaken for an outside change.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from apps.core import mlflow_gateway
from apps.core.audit import record_audit
from apps.core.context import action_context
from apps.core.models import NotificationLevel
from apps.registry.announce import announce
from apps.registry.models import AliasAssignment, AssignmentHow, ModelVersion, RegisteredModel
from apps.registry.selectors import owners_of

logger = logging.getLogger(__name__)


@dataclass
class SyncReport:
    models: int = 0
    versions_created: int = 0
    outside_changes: list[str] = field(default_factory=list)


def from_millis(value) -> datetime | None:
    if not value:
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def registry_sync(*, names: list[str] | None = None) -> SyncReport:
    """Bring the mirror up to date with MLflow; one transaction per registered model.

    With `names`, only those models are read (and none is marked deleted).
    """
    report = SyncReport()
    seen = set()
    if names is None:
        mlflow_models = mlflow_gateway.list_registered_models()
    else:
        mlflow_models = [mlflow_gateway.get_registered_model(name) for name in names]
    with action_context(source="sync"):
        for mlflow_model in mlflow_models:
            seen.add(mlflow_model.name)
            # A version whose run was read once keeps its snapshot (the run is finished).
            known = set(
                ModelVersion.objects.filter(model__name=mlflow_model.name)
                .exclude(experiment_name="")
                .values_list("version", flat=True)
            )
            versions = mlflow_gateway.list_model_versions(mlflow_model.name)
            runs = _fetch_runs([v for v in versions if int(v.version) not in known and v.run_id])
            _sync_model(mlflow_model, versions, runs, report)
            report.models += 1

        if names is None:
            gone = RegisteredModel.objects.exclude(name__in=seen).filter(deleted_in_mlflow=False)
            gone.update(deleted_in_mlflow=True)
    logger.info(
        "registry sync: %d models, %d new versions, %d outside alias changes",
        report.models,
        report.versions_created,
        len(report.outside_changes),
    )
    return report


def _fetch_runs(versions) -> dict:
    """{run id: (run, experiment name)} for the versions' source runs that can be read."""
    runs, experiment_names = {}, {}
    for version in versions:
        try:
            run = mlflow_gateway.get_run(version.run_id)
            experiment_id = run.info.experiment_id
            if experiment_id not in experiment_names:
                experiment_names[experiment_id] = mlflow_gateway.get_experiment(experiment_id).name
        except mlflow_gateway.MlflowUnavailable:
            raise
        except mlflow_gateway.MlflowError:
            # The run was deleted or is unreadable; the version is mirrored without it.
            logger.warning("source run %s of %s is unreadable", version.run_id, version.name)
            continue
        runs[version.run_id] = (run, experiment_names[experiment_id])
    return runs


@transaction.atomic
def _sync_model(mlflow_model, versions, runs, report: SyncReport) -> None:
    model, created = RegisteredModel.objects.get_or_create(name=mlflow_model.name)
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    if not model.metadata_pending:
        model.description = mlflow_model.description or ""
        model.tags = dict(mlflow_model.tags or {})
    model.mlflow_created_at = from_millis(mlflow_model.creation_timestamp)
    model.mlflow_updated_at = from_millis(mlflow_model.last_updated_timestamp)
    model.synced_at = timezone.now()
    model.deleted_in_mlflow = False
    model.save()

    aliases = {alias: int(v) for alias, v in (mlflow_model.aliases or {}).items()}
    if _history_differs(model, aliases):
        # Re-read under the row lock: a promotion may have moved the alias meanwhile.
        aliases = {
            alias: int(v)
            for alias, v in (mlflow_gateway.get_registered_model(model.name).aliases or {}).items()
        }
    report.versions_created += _sync_versions(model, versions, runs, aliases)
    _reconcile_aliases(model, aliases, report)


def _sync_versions(model, versions, runs, aliases: dict[str, int]) -> int:
    by_version: dict[int, list[str]] = {}
    for alias, number in aliases.items():
        by_version.setdefault(number, []).append(alias)

    existing = {v.version: v for v in model.versions.all()}
    created = 0
    for entity in versions:
        number = int(entity.version)
        row = existing.pop(number, None) or ModelVersion(model=model, version=number)
        created += row.pk is None
        row.aliases = sorted(by_version.get(number, []))
        row.tags = dict(entity.tags or {})
        row.description = entity.description or ""
        row.source = entity.source or ""
        row.status = entity.status or ""
        row.run_id = entity.run_id or ""
        row.created = from_millis(entity.creation_timestamp)
        row.deleted_in_mlflow = False
        if entity.run_id in runs:
            run, row.experiment_name = runs[entity.run_id]
            row.run_metrics = dict(run.data.metrics)
            row.run_params = dict(run.data.params)
            row.experiment_id = run.info.experiment_id
            row.run_name = run.info.run_name or ""
            row.run_author = run.data.tags.get("mlflow.user") or run.info.user_id or ""
        row.save()

    for missing in existing.values():
        if not missing.deleted_in_mlflow:
            missing.deleted_in_mlflow = True
            missing.aliases = []
            missing.save(update_fields=["deleted_in_mlflow", "aliases"])
    return created


def _history_differs(model, aliases: dict[str, int]) -> bool:
    open_rows = dict(
        AliasAssignment.objects.filter(model=model, ended_at__isnull=True).values_list(
            "alias", "version"
        )
    )
    return open_rows != aliases


def _reconcile_aliases(model, aliases: dict[str, int], report: SyncReport) -> None:
    """Close and open assignments so the history matches MLflow (caller holds the row lock)."""
    first_sight = not AliasAssignment.objects.filter(model=model).exists()
    open_rows = {
        row.alias: row for row in AliasAssignment.objects.filter(model=model, ended_at__isnull=True)
    }
    now = timezone.now()
    changes = []
    for alias in sorted(set(open_rows) | set(aliases)):
        row, wanted = open_rows.get(alias), aliases.get(alias)
        if row is not None and row.version == wanted:
            continue
        if row is not None:
            row.ended_at = now
            row.save(update_fields=["ended_at"])
        if wanted is not None:
            how = AssignmentHow.DISCOVERED if first_sight else AssignmentHow.OUTSIDE
            AliasAssignment.objects.create(
                model=model, alias=alias, version=wanted, started_at=now, how=how
            )
        if not first_sight:
            changes.append((alias, row.version if row else None, wanted))

    for alias, before, after in changes:
        record_audit(
            actor=None,
            action="registry.alias_changed_outside",
            obj=model,
            before={"alias": alias, "version": before},
            after={"alias": alias, "version": after},
            source="sync",
        )
        report.outside_changes.append(f"{model.name}@{alias}: {before} -> {after}")
    if changes:
        _notify_outside_change(model, changes)


def _notify_outside_change(model, changes) -> None:
    lines = [f"{alias}: v{before or '—'} → v{after or '—'}" for alias, before, after in changes]
    announce(
        users=owners_of(model),
        title=f"{model.name}: alias changed outside the portal",
        body="Moved in MLflow directly. " + "; ".join(lines),
        level=NotificationLevel.WARNING,
        link=model.get_absolute_url(),
    )
