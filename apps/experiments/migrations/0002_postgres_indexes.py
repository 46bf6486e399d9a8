"""PostgreSQL-only storage choices; SQLite (the embedded default) keeps the plain tables.

- GIN (jsonb_path_ops) on params and tags: `params.x = 'v'` becomes a containment
  test (`params @> {"x": "v"}`) that the index answers.
- params, metrics and tags are compressed with lz4 where the server supports it: a
  search decompresses them once per row and clause, and lz4 decompresses several
  times faster than PostgreSQL's default pglz.
- Packed metric arrays are stored EXTERNAL (uncompressed TOAST): float arrays do not
  compress, and uncompressed TOAST lets `substring()` read only the slice a zoom needs.
"""

from django.db import DatabaseError, migrations, transaction

FORWARD = [
    "CREATE INDEX IF NOT EXISTS run_params_gin ON experiments_run USING gin (params jsonb_path_ops)",
    "CREATE INDEX IF NOT EXISTS run_tags_gin ON experiments_run USING gin (tags jsonb_path_ops)",
    "ALTER TABLE experiments_metrichistory ALTER COLUMN points SET STORAGE EXTERNAL",
]
LZ4 = (
    "ALTER TABLE experiments_run ALTER COLUMN params SET COMPRESSION lz4, "
    "ALTER COLUMN metrics SET COMPRESSION lz4, ALTER COLUMN tags SET COMPRESSION lz4"
)
BACKWARD = [
    "DROP INDEX IF EXISTS run_params_gin",
    "DROP INDEX IF EXISTS run_tags_gin",
    "ALTER TABLE experiments_metrichistory ALTER COLUMN points SET STORAGE EXTENDED",
]


def _run_on_postgres(statements, *, optional=()):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)
        for statement in optional:
            try:
                with transaction.atomic():
                    schema_editor.execute(statement)
            except DatabaseError:
                # A server built without lz4 keeps pglz; only speed differs.
                pass

    return operation


class Migration(migrations.Migration):
    dependencies = [("experiments", "0001_initial")]

    operations = [
        migrations.RunPython(_run_on_postgres(FORWARD, optional=[LZ4]), _run_on_postgres(BACKWARD))
    ]
