"""Who may see which experiment: the one declaration every page and endpoint goes through.

Runs, histories and artifacts have no grants of their own; they are visible exactly when
their experiment is.
"""

from apps.core.permissions import ObjectPermissions
from apps.experiments.models import Experiment, Run

EXPERIMENT_PERMISSIONS = ObjectPermissions(model=Experiment, view="view_experiment")


def visible_experiment_ids(user) -> list[int]:
    """Primary keys of the experiments `user` may view (a short list: one per experiment)."""
    return list(EXPERIMENT_PERMISSIONS.visible_to(user).values_list("pk", flat=True))


def visible_runs(user, queryset=None):
    """The runs of experiments `user` may view."""
    runs = Run.objects.all() if queryset is None else queryset
    return runs.filter(experiment_id__in=visible_experiment_ids(user))
