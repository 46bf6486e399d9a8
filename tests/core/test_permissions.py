"""The object-permission helpers every app uses (exercised here on Team objects)."""

import pytest
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
    from django.contrib.auth.models import AnonymousUser

    assert not TEAM_PERMISSIONS.visible_to(AnonymousUser()).exists()
    assert not TEAM_PERMISSIONS.can(AnonymousUser(), "view", teams[0])
