"""Shared facts for the packaging tests: the repository and the settings it reads.

These tests read files and run subprocesses; none touches the database.
"""

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# The settings an operator sets in production, as documented for the portal.
DOCUMENTED_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "MLFLOW_TRACKING_URI",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "GRAFANA_URL",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "DEFAULT_FROM_EMAIL",
    "BEHIND_TLS_PROXY",
    "SECURE_SSL_REDIRECT",
    "LOG_LEVEL",
    "PORTAL_VAR_DIR",
)
SECRET_SETTINGS = ("SECRET_KEY", "DATABASE_URL", "EMAIL_HOST_PASSWORD")

WEB_COMMAND = ["daphne", "-b", "0.0.0.0", "-p", "8000", "mlops_portal.asgi:application"]
WORKER_COMMAND = ["celery", "-A", "mlops_portal", "worker", "-l", "info", "-Q", "portal"]
BEAT_COMMAND = [
    "celery",
    "-A",
    "mlops_portal",
    "beat",
    "-l",
    "info",
    "--scheduler",
    "django_celery_beat.schedulers:DatabaseScheduler",
]
MIGRATE_COMMAND = ["python", "manage.py", "migrate", "--noinput"]

_ENV_READ = re.compile(r"\benv_(?:str|bool|int|list|url)\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']")


def read_settings_env_names() -> set[str]:
    """Names that mlops_portal/settings.py reads through the typed env_* helpers."""
    text = (REPO_ROOT / "mlops_portal" / "settings.py").read_text()
    return set(_ENV_READ.findall(text))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def settings_env_names() -> set[str]:
    names = read_settings_env_names()
    assert names, 'found no env_*("NAME") reads in mlops_portal/settings.py'
    return names


@pytest.fixture(scope="session")
def documented_settings() -> tuple[str, ...]:
    return DOCUMENTED_SETTINGS


@pytest.fixture(scope="session")
def secret_settings() -> tuple[str, ...]:
    return SECRET_SETTINGS


@pytest.fixture(scope="session")
def process_commands() -> dict[str, list[str]]:
    """The command line of each portal process, by role."""
    return {
        "web": WEB_COMMAND,
        "worker": WORKER_COMMAND,
        "beat": BEAT_COMMAND,
        "migrate": MIGRATE_COMMAND,
    }
