"""Demo people: users, teams and roles for `manage.py seed_demo`. Idempotent."""

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from apps.core.models import Team
from apps.core.roles import DATA_SCIENTIST, PLATFORM_ADMIN, REVIEWER, sync_roles

DEMO_TEAMS = {
    "fraud": "Fraud detection team",
    "network": "Network security team",
    "iot": "IoT sensors team",
    "reviewers": "Model reviewers",
}

# username -> (first name, role, teams)
DEMO_USERS = {
    "alice": ("Alice", DATA_SCIENTIST, ["fraud", "network"]),
    "bob": ("Bob", REVIEWER, ["reviewers", "fraud"]),
    "dan": ("Dan", REVIEWER, ["reviewers", "fraud"]),
    "carol": ("Carol", PLATFORM_ADMIN, ["fraud", "network", "iot"]),
    "eve": ("Eve", None, []),
}


@dataclass
class DemoPeople:
    password: str
    password_generated: bool
    created_users: list[str]


def ensure_team(slug: str, description: str = "") -> Team:
    group, _ = Group.objects.get_or_create(name=f"team:{slug}")
    team, _ = Team.objects.get_or_create(
        group=group, defaults={"slug": slug, "description": description}
    )
    return team


@transaction.atomic
def seed_people(*, password: str | None) -> DemoPeople:
    """Create demo teams, roles and users; existing users keep their password."""
    generated = not password
    password = password or secrets.token_urlsafe(12)
    roles = sync_roles()
    teams = {slug: ensure_team(slug, text) for slug, text in DEMO_TEAMS.items()}

    created = []
    User = get_user_model()
    for username, (first_name, role, team_slugs) in DEMO_USERS.items():
        user, was_created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first_name, "email": f"{username}@example.com"},
        )
        if was_created:
            user.set_password(password)
            user.save(update_fields=["password"])
            created.append(username)
        groups = [teams[slug].group for slug in team_slugs]
        if role:
            groups.append(roles[role])
        user.groups.set(groups)
    return DemoPeople(password=password, password_generated=generated, created_users=created)
