"""seed_demo's people: roles, teams, the password shown once, and idempotence."""

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from apps.core.demo import seed_people


@pytest.mark.django_db
def test_it_creates_the_demo_people_with_their_roles_and_teams():
    seed_people(password="demo-password-1")

    alice = authenticate(username="alice", password="demo-password-1")
    assert alice is not None
    assert sorted(alice.groups.values_list("name", flat=True)) == [
        "Data scientists",
        "team:fraud",
        "team:network",
    ]
    carol = authenticate(username="carol", password="demo-password-1")
    assert carol.has_perm("core.view_auditentry")
    eve = authenticate(username="eve", password="demo-password-1")
    assert list(eve.groups.all()) == []
    assert not eve.has_perm("core.view_auditentry")


@pytest.mark.django_db
def test_a_generated_password_is_printed_once_and_kept(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    first, second = io.StringIO(), io.StringIO()

    call_command("seed_demo", "--skip-mlflow", stdout=first)
    call_command("seed_demo", "--skip-mlflow", stdout=second)

    line = next(x for x in first.getvalue().splitlines() if "created with password:" in x)
    password = line.rsplit(": ", 1)[1]
    assert authenticate(username="bob", password=password) is not None
    assert "password" not in second.getvalue()


@pytest.mark.django_db
def test_running_it_again_keeps_a_changed_password():
    seed_people(password="first-password")
    bob = authenticate(username="bob", password="first-password")
    bob.set_password("bobs-own-password")
    bob.save()

    people = seed_people(password="another-password")

    assert people.created_users == []
    assert authenticate(username="bob", password="bobs-own-password") is not None
