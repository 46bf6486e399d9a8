"""Make the audit table append-only at the database: UPDATE and DELETE raise.

TRUNCATE stays possible for the table owner (test flushes, disaster recovery);
`verify_audit` still detects a trail emptied and refilled, since hashes are chained.
"""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION core_auditentry_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditentry_append_only
  BEFORE UPDATE OR DELETE ON core_auditentry
  FOR EACH ROW EXECUTE FUNCTION core_auditentry_refuse_change();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS core_auditentry_append_only ON core_auditentry;
DROP FUNCTION IF EXISTS core_auditentry_refuse_change();
"""
SQLITE_UP = [
    "CREATE TRIGGER core_auditentry_no_update BEFORE UPDATE ON core_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only (UPDATE refused)'); END;",
    "CREATE TRIGGER core_auditentry_no_delete BEFORE DELETE ON core_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only (DELETE refused)'); END;",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS core_auditentry_no_update;",
    "DROP TRIGGER IF EXISTS core_auditentry_no_delete;",
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
