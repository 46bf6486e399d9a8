"""The image (docker/Dockerfile) and the local stack (docker/compose.yaml).

No Docker engine runs on the test machines, so the image is never built here: these
tests read the files, run the build's collectstatic step with the same settings, and
run the container health check against a local HTTP server.
"""

import fnmatch
import http.server
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

PORTAL_SERVICES = ("migrate", "web", "worker", "beat")
PORTAL_IMAGE = "mlops-portal:local"


# --- reading the files ---------------------------------------------------------------


def parse_dockerfile(path: Path) -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments).

    Continuation lines are joined and comment lines dropped; enough for this file, not
    a full Dockerfile parser (no heredocs, no escape directive).
    """
    stages: list[list[tuple[str, str]]] = [[]]
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue

        instruction, _, arguments = (pending + line).partition(" ")
        pending = ""
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), " ".join(arguments.split())))
    return stages


def interpolate(value: str) -> str:
    """Resolve compose's ${NAME:-default} to its default and ${NAME:?message} to "set"."""
    value = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{[A-Z0-9_]+:\?[^}]*\}", "set", value)


@pytest.fixture(scope="module")
def dockerfile(repo_root):
    return parse_dockerfile(repo_root / "docker" / "Dockerfile")


@pytest.fixture(scope="module")
def runtime_stage(dockerfile):
    return dockerfile[-1]


@pytest.fixture(scope="module")
def compose(repo_root):
    return yaml.safe_load((repo_root / "docker" / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def instructions(stage, name):
    return [arguments for instruction, arguments in stage if instruction == name]


def env_assignments(text: str) -> dict[str, str]:
    """NAME=value pairs at the start of a shell command or in an ENV instruction."""
    pairs = {}
    for word in shlex.split(text):
        match = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(.*)", word)
        if match:
            pairs[match[1]] = match[2]
    return pairs


def collectstatic_run(stage) -> str:
    runs = [run for run in instructions(stage, "RUN") if "collectstatic" in run]
    assert len(runs) == 1, "expected exactly one RUN with collectstatic in the runtime stage"
    return runs[0]


def load_healthcheck_module(repo_root):
    spec = importlib.util.spec_from_file_location(
        "portal_container_healthcheck", repo_root / "docker" / "healthcheck.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- settings ------------------------------------------------------------------------


def test_every_documented_setting_is_read_by_the_settings_module(
    settings_env_names, documented_settings
):
    missing = set(documented_settings) - settings_env_names

    assert not missing, f"settings.py no longer reads {sorted(missing)}"


# --- Dockerfile ----------------------------------------------------------------------


def test_runtime_stage_is_built_on_python_311_slim(dockerfile, runtime_stage):
    arg_defaults = {}
    for stage in dockerfile:
        for arguments in instructions(stage, "ARG"):
            name, _, default = arguments.partition("=")
            arg_defaults[name] = default

    base = instructions(runtime_stage, "FROM")[0].split()[0]
    base = re.sub(r"\$\{(\w+)\}", lambda match: arg_defaults[match[1]], base)

    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base), base


def test_image_installs_the_pinned_runtime_requirements(dockerfile):
    runs = [run for stage in dockerfile for run in instructions(stage, "RUN")]

    assert any(re.search(r"pip install (.* )?-r \S*requirements/base\.txt", run) for run in runs)


def test_image_runs_as_a_numeric_non_root_user(runtime_stage):
    user = instructions(runtime_stage, "USER")[-1]
    uid = user.split(":")[0]

    assert uid.isdigit(), "a numeric uid lets Kubernetes verify runAsNonRoot"
    assert int(uid) != 0
    assert any(f"--uid {uid}" in run for run in instructions(runtime_stage, "RUN"))


def test_the_app_user_is_the_last_user_of_the_runtime_stage(runtime_stage):
    names = [instruction for instruction, _ in runtime_stage]
    last_user = max(index for index, name in enumerate(names) if name == "USER")

    assert "RUN" not in names[last_user:], "a RUN after USER would run as the app user"
    assert "CMD" in names[last_user:]


def test_static_files_are_collected_at_build_time_with_build_only_settings(runtime_stage):
    run = collectstatic_run(runtime_stage)
    settings = env_assignments(run)
    env = env_assignments(" ".join(instructions(runtime_stage, "ENV")))

    assert "python manage.py collectstatic --noinput" in run
    assert settings["DEBUG"] == "false"
    assert settings["ALLOWED_HOSTS"] == "build.invalid"
    assert settings["SECRET_KEY"].startswith("build-only")
    assert env["STATIC_ROOT"] == "/app/staticfiles"


def test_collectstatic_runs_after_the_project_is_copied(runtime_stage):
    steps = [(instruction, arguments) for instruction, arguments in runtime_stage]
    copy_project = steps.index(("COPY", ". /app"))
    collect = steps.index(("RUN", collectstatic_run(runtime_stage)))

    assert copy_project < collect


def test_build_time_collectstatic_succeeds_with_the_dockerfile_settings(
    repo_root, runtime_stage, tmp_path
):
    build_settings = env_assignments(collectstatic_run(runtime_stage))
    image_env = env_assignments(" ".join(instructions(runtime_stage, "ENV")))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DEBUG": image_env["DEBUG"],
        **build_settings,
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "staticfiles" / "staticfiles.json").read_text())
    assert manifest["paths"], "the manifest storage recorded no files"


def test_image_exposes_port_8000_and_starts_daphne_by_default(runtime_stage, process_commands):
    cmd = json.loads(instructions(runtime_stage, "CMD")[-1])

    assert instructions(runtime_stage, "EXPOSE") == ["8000"]
    assert cmd == process_commands["web"]


def test_image_healthcheck_runs_the_healthz_script(repo_root, runtime_stage):
    healthcheck = instructions(runtime_stage, "HEALTHCHECK")[-1]
    command = json.loads(healthcheck.split(" CMD ", 1)[1])
    script = repo_root / command[-1].removeprefix("/app/")

    assert command[:-1] == ["python"]
    assert script.is_file()
    assert '"/healthz"' in script.read_text()


def test_build_context_keeps_what_the_image_needs(repo_root):
    patterns = [
        line.strip()
        for line in (repo_root / "docker" / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = [
        "manage.py",
        "mlops_portal/settings.py",
        "apps/core/models.py",
        "requirements/base.txt",
        "static",
        "templates",
        "docker/healthcheck.py",
    ]

    def ignored(path):
        return any(
            fnmatch.fnmatch(path, pattern) or path.startswith(pattern.rstrip("/") + "/")
            for pattern in patterns
        )

    assert not [path for path in needed if ignored(path)]
    assert ignored(".venv") and ignored(".git") and ignored("docker/.env")


# --- the health check script ---------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed_hosts", "expected"),
    [
        ("portal.example.com,10.0.0.1", "portal.example.com"),
        (" , .example.com", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_healthcheck_names_an_allowed_host(repo_root, allowed_hosts, expected):
    healthcheck = load_healthcheck_module(repo_root)

    assert healthcheck.probe_host(allowed_hosts) == expected


class _Portal(http.server.BaseHTTPRequestHandler):
    """Answers /healthz like Django: 200 for the allowed host, 400 for any other."""

    allowed_host = "portal.example.com"
    seen: list[tuple[str, str]] = []

    def do_GET(self):  # noqa: N802 (BaseHTTPRequestHandler's naming)
        host = self.headers.get("Host", "")
        self.seen.append((self.path, host))
        self.send_response(200 if host == self.allowed_host else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_portal():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    _Portal.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("allowed_hosts", "exit_code"), [("portal.example.com", 0), ("", 1)])
def test_healthcheck_passes_only_when_healthz_answers_200(
    repo_root, local_portal, monkeypatch, allowed_hosts, exit_code
):
    healthcheck = load_healthcheck_module(repo_root)
    monkeypatch.setattr(healthcheck, "PORT", local_portal.server_address[1])
    monkeypatch.setenv("ALLOWED_HOSTS", allowed_hosts)

    assert healthcheck.main() == exit_code
    assert _Portal.seen[0][0] == "/healthz"


def test_healthcheck_fails_when_nothing_listens(repo_root, monkeypatch, local_portal):
    healthcheck = load_healthcheck_module(repo_root)
    port = local_portal.server_address[1]
    local_portal.shutdown()
    local_portal.server_close()
    monkeypatch.setattr(healthcheck, "PORT", port)

    assert healthcheck.main() == 1


# --- compose -------------------------------------------------------------------------


def test_compose_runs_the_portal_and_its_backing_services(services):
    expected = {"postgres", "redis", "mlflow", "migrate", "web", "worker", "beat"}

    assert expected <= set(services)


@pytest.mark.parametrize("role", PORTAL_SERVICES)
def test_compose_commands_match_the_process_contract(services, process_commands, role):
    assert services[role]["command"] == process_commands[role]


@pytest.mark.parametrize("role", PORTAL_SERVICES)
def test_portal_services_are_built_from_the_dockerfile(services, role):
    service = services[role]

    assert service["image"] == PORTAL_IMAGE
    assert service["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}


@pytest.mark.parametrize("role", ["web", "worker", "beat"])
def test_long_running_processes_wait_for_a_successful_migrate(services, role):
    depends_on = services[role]["depends_on"]

    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["redis"]["condition"] == "service_healthy"


def test_migrate_waits_for_a_healthy_database_and_runs_once(services):
    migrate = services["migrate"]

    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"


def test_web_publishes_port_8000(services):
    assert "8000:8000" in services["web"]["ports"]


@pytest.mark.parametrize("role", PORTAL_SERVICES)
def test_portal_services_set_only_variables_that_settings_reads(services, settings_env_names, role):
    unknown = set(services[role]["environment"]) - settings_env_names

    assert not unknown, f"{role} sets {sorted(unknown)}, which settings.py never reads"


@pytest.mark.parametrize("role", PORTAL_SERVICES)
def test_portal_services_set_every_documented_setting(services, documented_settings, role):
    missing = set(documented_settings) - set(services[role]["environment"])

    assert not missing


def test_secret_key_must_be_provided_rather_than_defaulted(services):
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", services["web"]["environment"]["SECRET_KEY"])


def test_portal_urls_point_at_the_compose_services(services):
    env = {name: interpolate(str(value)) for name, value in services["web"]["environment"].items()}
    database = urlparse(env["DATABASE_URL"])
    redis = urlparse(env["REDIS_URL"])
    mlflow = urlparse(env["MLFLOW_TRACKING_URI"])

    assert (database.scheme, database.hostname, database.port) == ("postgres", "postgres", 5432)
    assert database.path == "/" + services["postgres"]["environment"]["POSTGRES_DB"]
    assert (redis.scheme, redis.hostname, redis.port, redis.path) == ("redis", "redis", 6379, "/0")
    assert (mlflow.scheme, mlflow.hostname, mlflow.port) == ("http", "mlflow", 5000)
    assert env["DEBUG"] == "false"


def test_portal_and_postgres_agree_on_the_database_password(services):
    url = urlparse(interpolate(services["web"]["environment"]["DATABASE_URL"]))
    postgres = services["postgres"]["environment"]

    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == interpolate(postgres["POSTGRES_PASSWORD"])


def test_mlflow_server_listens_where_the_portal_looks_for_it(services):
    command = services["mlflow"]["command"]
    options = dict(zip(command[2::2], command[3::2], strict=False))
    tracking = urlparse(interpolate(services["web"]["environment"]["MLFLOW_TRACKING_URI"]))

    assert command[:2] == ["mlflow", "server"]
    assert options["--host"] == "0.0.0.0"
    assert options["--port"] == str(tracking.port)
    assert tracking.netloc in options["--allowed-hosts"].split(",")


def test_mlflow_keeps_runs_in_its_own_database_and_artifacts_in_a_volume(services, compose):
    command = services["mlflow"]["command"]
    options = dict(zip(command[2::2], command[3::2], strict=False))
    store = urlparse(interpolate(options["--backend-store-uri"]))
    volumes = {
        volume.split(":")[0]: volume.split(":")[1] for volume in services["mlflow"]["volumes"]
    }

    assert store.scheme.startswith("postgresql") and store.path == "/mlflow"
    assert store.path != "/" + services["postgres"]["environment"]["POSTGRES_DB"]
    artifact_volume = next(
        name
        for name, target in volumes.items()
        if options["--artifacts-destination"].startswith(target)
    )
    assert artifact_volume in compose["volumes"]


def test_postgres_creates_the_mlflow_database_on_first_start(repo_root, services):
    mounts = [volume.split(":") for volume in services["postgres"]["volumes"]]
    init_scripts = [
        source for source, target, *_ in mounts if "docker-entrypoint-initdb.d" in target
    ]
    script = (repo_root / "docker" / init_scripts[0]).read_text()

    assert "CREATE DATABASE mlflow" in script
    assert "MLFLOW_DB_PASSWORD" in services["postgres"]["environment"]


@pytest.mark.parametrize("name", ["postgres", "redis", "mlflow", "web", "worker"])
def test_services_others_wait_on_have_their_own_healthcheck(services, name):
    test = services[name]["healthcheck"]["test"]

    assert test[0] in {"CMD", "CMD-SHELL"}


@pytest.mark.parametrize("name", ["mlflow", "migrate", "worker", "beat"])
def test_portal_image_healthcheck_is_replaced_outside_web(services, name):
    # The image's HEALTHCHECK asks daphne on :8000, which only the web container runs.
    healthcheck = services[name]["healthcheck"]

    assert healthcheck.get("disable") is True or "healthcheck.py" not in str(healthcheck["test"])


def test_web_healthcheck_uses_the_image_script(services):
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "/app/docker/healthcheck.py"]


def test_postgres_healthcheck_waits_for_tcp_not_the_init_socket(services):
    test = services["postgres"]["healthcheck"]["test"]

    assert "pg_isready" in test and "-h" in test


def test_env_example_lists_every_variable_compose_interpolates(repo_root):
    compose_text = (repo_root / "docker" / "compose.yaml").read_text()
    example = (repo_root / "docker" / "env.example").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z0-9_]+)", compose_text))
    documented = set(re.findall(r"^([A-Z0-9_]+)=", example, flags=re.MULTILINE))

    assert interpolated <= documented, sorted(interpolated - documented)
