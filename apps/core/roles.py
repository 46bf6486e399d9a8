"""Roles are groups that carry model-level permissions; teams are groups with a Team row.

A role's permissions apply to every object of a model; object grants (guardian) give
the same permissions on single objects to users or teams. Apps add their permissions
to ROLE_PERMISSIONS as they arrive; `sync_roles()` makes the groups match.
"""

from django.contrib.auth.models import Group, Permission

DATA_SCIENTIST = "Data scientists"
REVIEWER = "Reviewers"
PLATFORM_ADMIN = "Platform admins"

# role -> "app_label.codename" model-level permissions
ROLE_PERMISSIONS: dict[str, list[str]] = {
    DATA_SCIENTIST: [],
    REVIEWER: [],
    PLATFORM_ADMIN: [
        "core.view_auditentry",
        "core.view_jobrun",
    ],
}


def register_role_permissions(role: str, perms: list[str]) -> None:
    """Called by each app's AppConfig.ready() to add the model permissions a role holds."""
    ROLE_PERMISSIONS.setdefault(role, [])
    for perm in perms:
        if perm not in ROLE_PERMISSIONS[role]:
            ROLE_PERMISSIONS[role].append(perm)


def sync_roles() -> dict[str, Group]:
    """Create the role groups and give each exactly its declared permissions."""
    groups = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
        groups[role] = group
    return groups
