"""The object-permission helpers every app uses (exercised here on Team objects)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.core.demo import ensure_team
from apps.core.models import Team
from apps.core.permissions import ObjectPermissions

TEAM_PERMISSIONS = ObjectPermissions(model=Team, view="view_team", actions={"edit": "change_team"})


@pytest.fixture
def teams(db):
    return ensure_team("fraud"), ensure_team("network")


def test_a_user_sees_only_objects_granted_to_them_or_their_team(teams, data_scientist, outsider):
    fraud, network = teams
    TEAM_PERMISSIONS.grant("view", fraud.group, network)

    assert list(TEAM_PERMISSIONS.visible_to(data_scientist)) == [network]
    assert list(TEAM_PERMISSIONS.visible_to(outsider)) == []


def test_invisible_objects_are_404_not_403(teams, outsider):
    with pytest.raises(Http404):
        TEAM_PERMISSIONS.get_or_404(outsider, pk=teams[0].pk)


def test_a_visible_object_without_the_action_permission_is_403(teams, data_scientist):
    fraud, _ = teams
    TEAM_PERMISSIONS.grant("view", data_scientist, fraud)
    obj = TEAM_PERMISSIONS.get_or_404(data_scientist, pk=fraud.pk)

    with pytest.raises(PermissionDenied):
        TEAM_PERMISSIONS.require(data_scientist, "edit", obj)
    TEAM_PERMISSIONS.grant("edit", data_scientist, fraud)
    TEAM_PERMISSIONS.require(data_scientist, "edit", obj)


def test_revoking_a_grant_hides_the_object_again(teams, data_scientist):
    fraud, _ = teams
    TEAM_PERMISSIONS.grant("view", data_scientist, fraud)
    TEAM_PERMISSIONS.revoke("view", data_scientist, fraud)
    assert not TEAM_PERMISSIONS.visible_to(data_scientist).exists()


def test_an_unknown_action_is_a_programming_error(teams, data_scientist):
    with pytest.raises(ValueError, match="no permission for 'delete'"):
        TEAM_PERMISSIONS.can(data_scientist, "delete", teams[0])


def test_anonymous_users_see_nothing(teams):
    assert not TEAM_PERMISSIONS.visible_to(AnonymousUser()).exists()
    assert not TEAM_PERMISSIONS.can(AnonymousUser(), "view", teams[0])


def _visible_through_subquery(user) -> list[Team]:
    return list(Team.objects.filter(pk__in=TEAM_PERMISSIONS.visible_ids_subquery(user)))


def test_the_visibility_subquery_sees_what_visible_to_sees(teams, data_scientist, outsider):
    fraud, network = teams
    view_team = Permission.objects.get(codename="view_team")
    TEAM_PERMISSIONS.grant("view", fraud.group, network)
    TEAM_PERMISSIONS.grant("view", outsider, fraud)
    users = get_user_model().objects
    holder = users.create_user("global-holder")
    holder.user_permissions.add(view_team)
    team_holder = users.create_user("team-holder")
    viewers = Group.objects.create(name="team-viewers")
    viewers.permissions.add(view_team)
    team_holder.groups.add(viewers)
    inactive = users.create_user("inactive", is_active=False)
    inactive.user_permissions.add(view_team)
    TEAM_PERMISSIONS.grant("view", inactive, network)
    superuser = users.create_superuser("root", "root@example.com", "x")

    for user in (data_scientist, outsider, holder, team_holder, inactive, superuser):
        user = users.get(pk=user.pk)  # no permission cache from the grants above
        expected = sorted(TEAM_PERMISSIONS.visible_to(user), key=lambda team: team.pk)
        assert sorted(_visible_through_subquery(user), key=lambda team: team.pk) == expected
    assert _visible_through_subquery(AnonymousUser()) == []
    assert set(_visible_through_subquery(users.get(pk=holder.pk))) == set(Team.objects.all())
