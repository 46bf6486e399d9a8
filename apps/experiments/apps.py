from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ExperimentsConfig(AppConfig):
    name = "apps.experiments"
    label = "experiments"
    verbose_name = "Experiments"

    def ready(self):
        from apps.core.roles import PLATFORM_ADMIN, REVIEWER, register_role_permissions
        from apps.core.seed_hooks import register_seed_hook
        from apps.experiments.schedule import ensure_sync_schedule
        from apps.experiments.seed import sync_after_seed

        # Admins and reviewers see every experiment (reviewers check the evidence behind
        # any team's model); data scientists see their teams' experiments through grants.
        register_role_permissions(PLATFORM_ADMIN, ["experiments.view_experiment"])
        register_role_permissions(REVIEWER, ["experiments.view_experiment"])
        register_seed_hook(sync_after_seed)
        post_migrate.connect(ensure_sync_schedule, sender=self)
