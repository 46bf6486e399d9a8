"""Who may see which experiment: the one declaration every page and endpoint goes through.

Runs, histories and artifacts have no grants of their own; they are visible exactly when
their experiment is.
"""

from apps.core.permissions import ObjectPermissions
from apps.experiments.models import Experiment, Run

EXPERIMENT_PERMISSIONS = ObjectPermissions(model=Experiment, view="view_experiment")


def visible_experiment_ids(user, experiment_ids: list[str] | None = None) -> list[int]:
    """Primary keys of the experiments `user` may view, in one query; narrowed to the given
    MLflow experiment ids when there are any."""
    experiments = Experiment.objects.filter(
        pk__in=EXPERIMENT_PERMISSIONS.visible_ids_subquery(user)
    )
    if experiment_ids:
        experiments = experiments.filter(experiment_id__in=experiment_ids)
    # No ORDER BY: the model's default ordering (by name) is of no use to an id list.
    return list(experiments.order_by().values_list("pk", flat=True))


def visible_runs(user, queryset=None, *, experiment_ids: list[str] | None = None):
    """The runs of experiments `user` may view (of the given MLflow experiments, if any).

    The experiment keys are read first and passed as literals. As a subquery the planner
    cannot tell how many runs they select, and on 10,000 runs it then scanned the whole
    experiment instead of using the GIN index of a `params.x = 'v'` filter (12 ms, not 6-8).
    """
    runs = Run.objects.all() if queryset is None else queryset
    return runs.filter(experiment_id__in=visible_experiment_ids(user, experiment_ids))
