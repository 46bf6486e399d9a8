from django.conf import settings

from apps.core.health import service_status

NAVIGATION = [
    ("Experiments", "experiments:list"),
    ("Models", "registry:model-list"),
    ("Deployments", "core:deployments"),
    ("A/B tests", "core:abtests"),
    ("Monitoring", "core:monitoring"),
    ("Audit", "core:audit"),
]


def portal(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"grafana_url": settings.GRAFANA_URL}
    status = service_status()
    return {
        "navigation": NAVIGATION,
        "grafana_url": settings.GRAFANA_URL,
        "service_down": [name for name, ok in status.items() if not ok],
    }
