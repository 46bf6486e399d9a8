from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "apps.registry"
    label = "registry"
    verbose_name = "Model registry"

    def ready(self):
        from apps.core.roles import PLATFORM_ADMIN, register_role_permissions
        from apps.core.seed_hooks import register_seed_hook
        from apps.registry.demo import seed_registry
        from apps.registry.permissions import all_model_permissions

        register_role_permissions(PLATFORM_ADMIN, all_model_permissions())
        register_seed_hook(seed_registry)
        _schedule_periodic_tasks()


def _schedule_periodic_tasks() -> None:
    from apps.registry import conf
    from apps.registry.tasks import expire_promotions, sync_registry
    from mlops_portal.celery import app

    app.add_periodic_task(conf.sync_interval_seconds(), sync_registry.s(), name="registry-sync")
    app.add_periodic_task(300.0, expire_promotions.s(), name="registry-expire-promotions")
