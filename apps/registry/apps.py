from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RegistryConfig(AppConfig):
    name = "apps.registry"
    label = "registry"
    verbose_name = "Model registry"

    def ready(self):
        from apps.core.roles import PLATFORM_ADMIN, register_role_permissions
        from apps.core.seed_hooks import register_seed_hook
        from apps.registry.demo import seed_registry
        from apps.registry.permissions import all_model_permissions
        from apps.registry.schedule import ensure_registry_schedule

        register_role_permissions(PLATFORM_ADMIN, all_model_permissions())
        register_seed_hook(seed_registry)
        post_migrate.connect(ensure_registry_schedule, sender=self)
