"""PostgreSQL-only storage choices; SQLite (the embedded default) keeps the plain tables.

- GIN (jsonb_path_ops) on params and tags: `params.x = 'v'` becomes a containment
  test (`params @> {"x": "v"}`) that the index answers.
- Packed metric arrays are stored EXTERNAL (uncompressed TOAST): float arrays do not
  compress, and uncompressed TOAST lets `substring()` read only the slice a zoom needs.
"""

from django.db import migrations

FORWARD = [
    "CREATE INDEX IF NOT EXISTS run_params_gin ON experiments_run USING gin (params jsonb_path_ops)",
    "CREATE INDEX IF NOT EXISTS run_tags_gin ON experiments_run USING gin (tags jsonb_path_ops)",
    "ALTER TABLE experiments_metrichistory ALTER COLUMN points SET STORAGE EXTERNAL",
]
BACKWARD = [
    "DROP INDEX IF EXISTS run_params_gin",
    "DROP INDEX IF EXISTS run_tags_gin",
    "ALTER TABLE experiments_metrichistory ALTER COLUMN points SET STORAGE EXTENDED",
]


def _run_on_postgres(statements):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return operation


class Migration(migrations.Migration):
    dependencies = [("experiments", "0001_initial")]

    operations = [migrations.RunPython(_run_on_postgres(FORWARD), _run_on_postgres(BACKWARD))]
