"""Settings refuse bad values at start-up, and production defaults pass `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from mlops_portal import env

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "-production-secret-key-of-enough-length-" + "z" * 10,
    "ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
}


def run_manage(*args, extra_env=None, drop=()):
    child_env = {k: v for k, v in os.environ.items() if k not in drop}
    for name in (
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECRET_KEY",
        "PORTAL_LOCAL_SECRET",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "STATIC_MANIFEST",
    ):
        child_env.pop(name, None)
    child_env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", extra_env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_when_ssl_redirect_is_turned_off():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        extra_env={**PRODUCTION_ENV, "SECURE_SSL_REDIRECT": "false"},
    )
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stdout + result.stderr


def test_it_refuses_to_start_without_a_secret_key_in_production():
    production = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_manage("check", extra_env=production)
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_it_refuses_a_malformed_boolean():
    result = run_manage("check", extra_env={**PRODUCTION_ENV, "DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_env_int_refuses_text_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("PORTAL_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env.env_int("PORTAL_N", 1)
    monkeypatch.setenv("PORTAL_N", "-3")
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        env.env_int("PORTAL_N", 1, minimum=0)


def test_env_url_refuses_an_unknown_scheme(monkeypatch):
    monkeypatch.setenv("REDIS_URL_X", "http://127.0.0.1:6379")
    with pytest.raises(ImproperlyConfigured, match="scheme must be one of"):
        env.env_url("REDIS_URL_X", "", schemes=("redis",))


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("HOSTS_X", " a.example.com , b.example.com,, ")
    assert env.env_list("HOSTS_X", []) == ["a.example.com", "b.example.com"]


def test_a_local_secret_is_generated_once_and_reused(tmp_path):
    local = {"DEBUG": "true", "PORTAL_VAR_DIR": str(tmp_path), "DATABASE_URL": "sqlite:///:memory:"}
    printed = []
    for _ in range(2):
        result = run_manage(
            "shell",
            "-c",
            "from django.conf import settings; print(settings.SECRET_KEY)",
            extra_env=local,
        )
        assert result.returncode == 0, result.stderr
        printed.append(result.stdout.strip().splitlines()[-1])
    assert printed[0] == printed[1]
    assert (tmp_path / "secret_key").read_text().strip() == printed[0]
