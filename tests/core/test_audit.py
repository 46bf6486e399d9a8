"""The audit trail: append-only through every interface, and tamper-evident."""

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from apps.core.audit import record_audit, verify_audit_chain
from apps.core.context import action_context
from apps.core.models import AuditEntry


def three_entries(actor):
    return [
        record_audit(
            actor=actor,
            action=f"model.step{i}",
            object_type="model",
            object_id="fraud-iforest",
            before={"v": i},
            after={"v": i + 1},
        )
        for i in range(3)
    ]


@pytest.mark.django_db
def test_entries_link_to_the_previous_hash(platform_admin):
    first, second, third = three_entries(platform_admin)
    assert second.prev_hash == first.entry_hash
    assert third.prev_hash == second.entry_hash
    assert verify_audit_chain().intact
    assert verify_audit_chain().checked == 3


@pytest.mark.django_db
def test_it_records_source_and_request_id_from_the_context(platform_admin):
    with action_context(source="sync", request_id="req-42"):
        entry = record_audit(
            actor=None, action="alias.moved_outside", object_type="model", object_id="m"
        )
    assert entry.source == "sync"
    assert entry.request_id == "req-42"
    assert entry.actor_name == "system"


@pytest.mark.django_db
def test_orm_save_update_and_delete_are_refused(platform_admin):
    entry = three_entries(platform_admin)[0]
    entry.action = "forged"
    with pytest.raises(PermissionDenied):
        entry.save()
    with pytest.raises(PermissionDenied):
        entry.delete()
    with pytest.raises(PermissionDenied):
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(PermissionDenied):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "model.step0"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditentry SET action = 'forged'",
        "DELETE FROM core_auditentry",
    ],
)
def test_the_database_refuses_raw_updates_and_deletes(platform_admin, statement):
    three_entries(platform_admin)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AuditEntry.objects.count() == 3


@pytest.mark.django_db
def test_admin_offers_no_add_change_or_delete(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-12345-xyz")
    entry = record_audit(actor=root, action="x", object_type="t", object_id="1")
    client.force_login(root)

    change_page = client.get(f"/admin/core/auditentry/{entry.pk}/change/")
    assert change_page.status_code == 200
    assert b'name="_save"' not in change_page.content
    assert client.get("/admin/core/auditentry/add/").status_code == 403
    delete = client.post(f"/admin/core/auditentry/{entry.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_api_is_read_only_even_for_a_superuser(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-12345-xyz")
    entry = three_entries(root)[0]
    client.force_login(root)

    listing = client.get("/api/v1/audit/?action=model.step0")
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["results"]] == [entry.pk]
    for method in (client.post, client.put, client.patch, client.delete):
        assert method("/api/v1/audit/", {}).status_code == 405
    assert AuditEntry.objects.count() == 3


@pytest.mark.django_db
def test_only_platform_admins_read_the_trail(client, data_scientist):
    client.force_login(data_scientist)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    assert client.get("/api/v1/audit/").status_code == 403


@pytest.mark.django_db
def test_verify_audit_names_an_entry_changed_behind_the_portals_back(platform_admin):
    entries = three_entries(platform_admin)
    call_command("verify_audit", stdout=io.StringIO())

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_append_only")
        cursor.execute(
            "UPDATE core_auditentry SET after = '{\"v\": 99}' WHERE id = %s", [entries[1].pk]
        )
        cursor.execute("ALTER TABLE core_auditentry ENABLE TRIGGER core_auditentry_append_only")

    with pytest.raises(CommandError, match=f"broken at entry {entries[1].pk}: content"):
        call_command("verify_audit", stdout=io.StringIO())


@pytest.mark.django_db
def test_verify_audit_detects_a_deleted_entry(platform_admin):
    entries = three_entries(platform_admin)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_append_only")
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entries[1].pk])
        cursor.execute("ALTER TABLE core_auditentry ENABLE TRIGGER core_auditentry_append_only")

    report = verify_audit_chain()
    assert report.broken_entry_id == entries[2].pk
    assert "previous-hash" in report.reason


@pytest.mark.django_db
def test_audit_page_filters_by_actor_action_and_time(client, platform_admin, reviewer):
    three_entries(platform_admin)
    record_audit(actor=reviewer, action="promotion.approve", object_type="promotion", object_id="7")
    client.force_login(platform_admin)

    page = client.get("/audit/", {"actor": "bob"})
    assert page.status_code == 200
    assert b"promotion.approve" in page.content
    assert b"model.step0" not in page.content

    bad_range = client.get("/audit/", {"since": "2026-12-05", "until": "2026-12-01"})
    assert b"must be on or before" in bad_range.content


@pytest.mark.django_db
def test_csv_export_contains_the_filtered_entries(client, platform_admin, reviewer):
    three_entries(platform_admin)
    record_audit(
        actor=reviewer,
        action="promotion.approve",
        object_type="promotion",
        object_id="7",
        after={"state": "approved"},
    )
    client.force_login(platform_admin)

    response = client.get("/audit/export.csv", {"action": "promotion"})
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["action"] for row in rows] == ["promotion.approve"]
    assert rows[0]["actor"] == "bob"
    assert rows[0]["after"] == '{"state": "approved"}'


@pytest.mark.django_db
def test_csv_export_refuses_a_malformed_date(client, platform_admin):
    client.force_login(platform_admin)
    response = client.get("/audit/export.csv", {"since": "yesterday"})
    assert response.status_code == 400
    assert "since" in response.json()["errors"]
