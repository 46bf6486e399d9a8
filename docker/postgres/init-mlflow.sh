#!/bin/sh
# Runs once, when the postgres volume is first created: MLflow keeps its own
# database and role, apart from the portal's.
set -eu

psql -v ON_ERROR_STOP=1 -v mlflow_password="$MLFLOW_DB_PASSWORD" \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE mlflow WITH LOGIN PASSWORD :'mlflow_password';
CREATE DATABASE mlflow OWNER mlflow;
SQL
