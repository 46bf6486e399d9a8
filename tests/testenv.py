"""Environment for the test run, loaded as a pytest plugin before Django starts.

Tests use the machine's real PostgreSQL and Redis, a fresh MLflow SQLite store in a
temporary folder, and a queue and key prefix of their own so that a portal running
beside them (`make run`) is not disturbed. Values already set in the environment win,
so `DATABASE_URL=sqlite:///... pytest` still works on a laptop without PostgreSQL.
"""

import os
import tempfile
import uuid

RUN_ID = uuid.uuid4().hex[:8]
TEST_VAR_DIR = tempfile.mkdtemp(prefix=f"portal-test-{RUN_ID}-")

DEFAULTS = {
    "DJANGO_SETTINGS_MODULE": "mlops_portal.settings",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "DATABASE_TEST_NAME": f"test_portal_{RUN_ID}",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "PORTAL_VAR_DIR": TEST_VAR_DIR,
    "MLFLOW_TRACKING_URI": f"sqlite:///{TEST_VAR_DIR}/mlflow.db",
    "MLFLOW_ARTIFACT_ROOT": f"{TEST_VAR_DIR}/mlartifacts",
    "SECRET_KEY": "test-only-secret-key-" + "x" * 40,
    "DEBUG": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "false",
    "STATIC_MANIFEST": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
    "CELERY_QUEUE": f"portal-test-{RUN_ID}",
    "CHANNELS_PREFIX": f"portal-test-{RUN_ID}",
    "CACHE_PREFIX": f"portal-test-{RUN_ID}",
    # Playwright's sync API runs an event loop in the test thread; the ORM calls made
    # beside it are still synchronous and safe.
    "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
    "LOG_LEVEL": "WARNING",
    # Webhook receivers in tests listen on 127.0.0.1.
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    # Quick retries, so tests of backoff finish in seconds.
    "REGISTRY_WEBHOOK_RETRY_SECONDS": "1",
    "REGISTRY_PROMOTE_RETRY_SECONDS": "1",
}

for name, value in DEFAULTS.items():
    os.environ.setdefault(name, value)
