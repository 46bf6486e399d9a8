"""The object permissions of registered models, declared once for pages, API and tasks."""

from apps.core.permissions import ObjectPermissions
from apps.registry.models import RegisteredModel

MODEL_PERMISSIONS = ObjectPermissions(
    model=RegisteredModel,
    view="view_registeredmodel",
    actions={
        "request_promotion": "request_promotion_registeredmodel",
        "approve": "approve_registeredmodel",
        "promote": "promote_registeredmodel",
        "manage": "manage_registeredmodel",
    },
)

# The words owners pick from on the model page, in the order they are shown.
GRANTABLE_ACTIONS = {
    "view": "View",
    "request_promotion": "Request promotion",
    "approve": "Approve",
    "promote": "Promote / roll back",
    "manage": "Manage",
}


def all_model_permissions() -> list[str]:
    """Every registry permission as "registry.codename", for the platform admin role."""
    return [MODEL_PERMISSIONS.full(MODEL_PERMISSIONS.codename(a)) for a in GRANTABLE_ACTIONS]
