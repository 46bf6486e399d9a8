"""Shared fixtures: personas, a real Celery worker, a real daphne server, a browser."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model

from apps.core.demo import ensure_team
from apps.core.health import forget_cached_status
from apps.core.roles import DATA_SCIENTIST, PLATFORM_ADMIN, REVIEWER, sync_roles

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(autouse=True)
def _fresh_service_status():
    forget_cached_status()
    yield
    forget_cached_status()


@pytest.fixture(autouse=True)
def _fast_password_hashing(request):
    """Personas are created in nearly every test; a slow hash would dominate the run.
    Browser journeys sign in through daphne, which only knows the real hashers."""
    if request.node.get_closest_marker("e2e"):
        yield
        return
    settings_fixture = request.getfixturevalue("settings")
    settings_fixture.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield


def make_user(username, *, role=None, teams=()):
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.com"
    )
    groups = [ensure_team(slug).group for slug in teams]
    if role:
        groups.append(sync_roles()[role])
    user.groups.set(groups)
    return user


@pytest.fixture
def data_scientist(db):
    return make_user("alice", role=DATA_SCIENTIST, teams=["fraud"])


@pytest.fixture
def reviewer(db):
    return make_user("bob", role=REVIEWER, teams=["reviewers"])


@pytest.fixture
def platform_admin(db):
    return make_user("carol", role=PLATFORM_ADMIN)


@pytest.fixture
def outsider(db):
    return make_user("eve")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def subprocess_env() -> dict:
    """The test process's environment, pointed at the test database pytest-django made."""
    env = dict(os.environ)
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_worker(queue: str, log: Path) -> subprocess.Popen:
    """Start a real Celery worker on `queue`; returns once it reports ready."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "mlops_portal",
                "worker",
                "-Q",
                queue,
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"test-{queue}@%h",
            ],
            cwd=ROOT,
            env=subprocess_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"celery worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return process


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, tmp_path_factory):
    """A real Celery worker consuming this run's queue from the real Redis broker."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    process = start_worker(settings.CELERY_TASK_DEFAULT_QUEUE, log)
    yield process
    stop_process(process)


def start_http_service(command, *, health_url, log: Path, cwd=ROOT, timeout=120):
    """Start `command` and return once `health_url` answers 200; fail with its log if not."""
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=subprocess_env(), stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(health_url, timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"{command[2]} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


@pytest.fixture(scope="session")
def daphne_server(django_db_setup, tmp_path_factory):
    """daphne serving the portal (HTTP and websockets) on a free loopback port."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "mlops_portal.asgi:application",
    ]
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
    process = start_http_service(command, health_url=f"{base_url}/healthz", log=log)
    yield base_url
    stop_process(process)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on a loopback port with its own SQLite store; yields its URL."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{root}/mlflow.db",
        "--default-artifact-root",
        str(root / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    process = start_http_service(
        command, health_url=f"{url}/health", log=root / "server.log", cwd=root
    )
    yield url
    stop_process(process)


@pytest.fixture
def mlflow_at(settings):
    """Point the portal at another tracking URI for one test: `mlflow_at(uri)`."""
    from apps.core import mlflow_gateway

    def point(uri):
        settings.MLFLOW_TRACKING_URI = uri
        mlflow_gateway._client.cache_clear()
        forget_cached_status()

    yield point
    mlflow_gateway._client.cache_clear()


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback; the portal is pointed at it. Yields received messages."""
    from aiosmtpd.controller import Controller

    received = []

    class Collect:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 Message accepted"

    controller = Controller(Collect(), hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield received
    controller.stop()


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Playwright's sync API keeps an event loop running in
    this thread while it lives, which breaks async_to_sync for the tests that follow, so
    it must not outlive the browser journeys."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def screenshot_dir():
    path = ROOT / "var" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sign_in(browser, base_url, username):
    """A new browser context signed in as `username`; returns the page."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1360, "height": 860})
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    return page


def wait_until(predicate, *, timeout=20.0, interval=0.2, message="condition"):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
