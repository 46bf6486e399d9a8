"""The Kubernetes manifests under deploy/, as `kubectl kustomize` renders them.

Every rendered document is validated against the Kubernetes API schema, then checked
against what the portal needs: commands, probes, one beat, settings it reads.
kubectl comes from $KUBECTL or PATH; `bash scripts/ensure_kubectl.sh` installs one.
"""

import os
import shutil
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import kubernetes_validate
import pytest
import yaml

# The oldest Kubernetes release the manifests promise to work on.
KUBERNETES_VERSION = "1.30"
OVERLAYS = ("deploy/base", "deploy/overlays/production")
WORKLOAD_KINDS = {"Deployment", "Job"}
PORTAL_PORT = 8000


def find_kubectl() -> str:
    kubectl = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not kubectl:
        pytest.fail("kubectl not found: run `bash scripts/ensure_kubectl.sh` (or set KUBECTL)")
    return kubectl


def render(repo_root: Path, overlay: str) -> list[dict]:
    result = subprocess.run(
        [find_kubectl(), "kustomize", str(repo_root / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


@pytest.fixture(scope="module", params=OVERLAYS)
def documents(request, repo_root):
    return render(repo_root, request.param)


@pytest.fixture(scope="module")
def base_documents(repo_root):
    return render(repo_root, "deploy/base")


def by_kind(documents, kind):
    return [document for document in documents if document["kind"] == kind]


def named(documents, kind, name):
    matches = [
        document for document in by_kind(documents, kind) if document["metadata"]["name"] == name
    ]
    assert len(matches) == 1, f"expected one {kind} {name}"
    return matches[0]


def only(documents, kind):
    matches = by_kind(documents, kind)
    assert len(matches) == 1, f"expected one {kind}, found {len(matches)}"
    return matches[0]


def workloads(documents):
    return [document for document in documents if document["kind"] in WORKLOAD_KINDS]


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def container(workload):
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1
    return containers[0]


def config_data(documents):
    return only(documents, "ConfigMap")["data"]


def host_is_allowed(host: str, allowed_hosts: list[str]) -> bool:
    """Django's ALLOWED_HOSTS rule: exact name, ".domain" for it and its subdomains, "*"."""
    for pattern in allowed_hosts:
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith(".") and (host == pattern[1:] or host.endswith(pattern)):
            return True
    return False


# --- schema ------------------------------------------------------------------------


def test_every_rendered_document_is_valid_kubernetes(documents):
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_schema_validation_rejects_a_misspelt_field(base_documents):
    # Guards the test above: strict validation must notice an unknown field.
    deployment = named(base_documents, "Deployment", "portal-web")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_base_renders_every_portal_resource(base_documents):
    kinds = sorted((document["kind"], document["metadata"]["name"]) for document in base_documents)

    assert ("Deployment", "portal-web") in kinds
    assert ("Deployment", "portal-worker") in kinds
    assert ("Deployment", "portal-beat") in kinds
    assert ("Job", "portal-migrate") in kinds
    assert ("Service", "portal-web") in kinds
    assert ("Ingress", "portal-web") in kinds
    assert ("Secret", "portal-secrets") in kinds
    assert len(by_kind(base_documents, "ConfigMap")) == 1


# --- processes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "role"),
    [
        ("Deployment", "portal-web", "web"),
        ("Deployment", "portal-worker", "worker"),
        ("Deployment", "portal-beat", "beat"),
        ("Job", "portal-migrate", "migrate"),
    ],
)
def test_container_commands_match_the_process_contract(
    documents, process_commands, kind, name, role
):
    assert container(named(documents, kind, name))["command"] == process_commands[role]


def test_beat_runs_exactly_one_replica_and_never_two_during_a_rollout(documents):
    beat = named(documents, "Deployment", "portal-beat")

    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"


def test_migrate_job_does_not_retry_forever(documents):
    job = named(documents, "Job", "portal-migrate")

    assert pod_spec(job)["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] <= 5


# --- web: probes, service, ingress -------------------------------------------------


def test_web_deployment_probes_use_health_endpoints(documents):
    web = container(named(documents, "Deployment", "portal-web"))

    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["port"] == PORTAL_PORT
    assert web["readinessProbe"]["httpGet"]["port"] == PORTAL_PORT
    assert {"name": "http", "containerPort": PORTAL_PORT} in web["ports"]


def test_web_probes_send_a_host_that_django_allows(documents):
    web = container(named(documents, "Deployment", "portal-web"))
    allowed_hosts = config_data(documents)["ALLOWED_HOSTS"].split(",")

    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        headers = {
            header["name"]: header["value"] for header in web[probe]["httpGet"]["httpHeaders"]
        }
        assert host_is_allowed(headers["Host"], allowed_hosts), probe


def test_ingress_hosts_are_allowed_and_trusted_for_csrf(documents):
    ingress = only(documents, "Ingress")
    config = config_data(documents)
    allowed_hosts = config["ALLOWED_HOSTS"].split(",")
    trusted_origins = config["CSRF_TRUSTED_ORIGINS"].split(",")

    for rule in ingress["spec"]["rules"]:
        assert host_is_allowed(rule["host"], allowed_hosts)
        assert f"https://{rule['host']}" in trusted_origins
    tls_hosts = {host for entry in ingress["spec"]["tls"] for host in entry["hosts"]}
    assert {rule["host"] for rule in ingress["spec"]["rules"]} <= tls_hosts


def test_tls_ending_at_the_ingress_is_declared_to_django(documents):
    config = config_data(documents)

    assert config["BEHIND_TLS_PROXY"] == "true"
    assert config["SECURE_SSL_REDIRECT"] == "true"
    assert config["DEBUG"] == "false"


def test_ingress_routes_through_the_service_to_web_pods(documents):
    ingress = only(documents, "Ingress")
    service = named(documents, "Service", "portal-web")
    web = named(documents, "Deployment", "portal-web")
    pod_labels = web["spec"]["template"]["metadata"]["labels"]
    port_names = {port["name"]: port["containerPort"] for port in container(web)["ports"]}

    backends = [
        path["backend"]["service"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    service_port = service["spec"]["ports"][0]
    assert all(backend["name"] == "portal-web" for backend in backends)
    assert all(backend["port"]["name"] == service_port["name"] for backend in backends)
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert port_names[service_port["targetPort"]] == PORTAL_PORT


def test_deployment_selectors_match_their_pod_labels(documents):
    for deployment in by_kind(documents, "Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]

        assert selector.items() <= labels.items(), deployment["metadata"]["name"]


def test_only_web_pods_match_the_service_selector(documents):
    selector = named(documents, "Service", "portal-web")["spec"]["selector"]
    matching = [
        workload["metadata"]["name"]
        for workload in workloads(documents)
        if selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()
    ]

    assert matching == ["portal-web"]


# --- settings ----------------------------------------------------------------------


def test_config_and_secret_hold_only_settings_the_portal_reads(documents, settings_env_names):
    config = config_data(documents)
    secret = only(documents, "Secret")["stringData"]

    assert not set(config) - settings_env_names
    assert not set(secret) - settings_env_names


def test_config_and_secret_together_set_every_documented_setting(documents, documented_settings):
    provided = set(config_data(documents)) | set(only(documents, "Secret")["stringData"])

    assert not set(documented_settings) - provided


def test_secret_settings_stay_out_of_the_config_map(documents, secret_settings):
    assert not set(secret_settings) & set(config_data(documents))
    assert set(secret_settings) <= set(only(documents, "Secret")["stringData"])


def test_secret_values_are_marked_as_placeholders(documents):
    secret = only(documents, "Secret")

    assert "data" not in secret
    assert all("change-me" in value for value in secret["stringData"].values())


def test_config_urls_name_schemes_that_settings_accepts(documents):
    config = config_data(documents)

    assert urlparse(config["REDIS_URL"]).scheme in {"redis", "rediss"}
    assert urlparse(config["MLFLOW_TRACKING_URI"]).scheme in {"http", "https"}
    assert urlparse(only(documents, "Secret")["stringData"]["DATABASE_URL"]).scheme == "postgres"


def test_every_workload_reads_the_rendered_config_and_secret(documents):
    config_name = only(documents, "ConfigMap")["metadata"]["name"]
    secret_name = only(documents, "Secret")["metadata"]["name"]

    for workload in workloads(documents):
        sources = container(workload)["envFrom"]
        assert {"configMapRef": {"name": config_name}} in sources
        assert {"secretRef": {"name": secret_name}} in sources


# --- hardening ---------------------------------------------------------------------


def test_every_pod_runs_as_the_image_user_and_never_as_root(documents):
    for workload in workloads(documents):
        security = pod_spec(workload)["securityContext"]

        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == 10001


def test_every_container_drops_privileges_and_has_resource_limits(documents):
    for workload in workloads(documents):
        spec = container(workload)

        assert spec["securityContext"]["allowPrivilegeEscalation"] is False
        assert spec["securityContext"]["capabilities"]["drop"] == ["ALL"]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(spec["resources"][bound])


def test_read_only_containers_can_write_their_var_dir_and_tmp(documents):
    var_dir = config_data(documents)["PORTAL_VAR_DIR"]

    for workload in workloads(documents):
        spec = container(workload)
        mounts = {mount["mountPath"] for mount in spec.get("volumeMounts", [])}

        assert spec["securityContext"]["readOnlyRootFilesystem"] is True
        assert {var_dir, "/tmp"} <= mounts, workload["metadata"]["name"]


# --- production overlay ------------------------------------------------------------


def test_production_pins_the_image_and_its_namespace(repo_root):
    documents = render(repo_root, "deploy/overlays/production")

    for workload in workloads(documents):
        image = container(workload)["image"]
        assert ":" in image and not image.endswith(":latest"), image
    assert {document["metadata"].get("namespace") for document in documents} == {"mlops-portal"}


# --- scripts/ensure_kubectl.sh -----------------------------------------------------


def run_ensure_kubectl(repo_root, env):
    return subprocess.run(
        ["/bin/bash", str(repo_root / "scripts" / "ensure_kubectl.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_ensure_kubectl_prints_a_kubectl_that_can_kustomize(repo_root):
    result = run_ensure_kubectl(repo_root, dict(os.environ))
    kubectl = result.stdout.strip()

    assert result.returncode == 0, result.stderr
    assert subprocess.run([kubectl, "kustomize", "--help"], capture_output=True).returncode == 0


def write_executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_ensure_kubectl_installs_debians_client_when_none_is_found(repo_root, tmp_path):
    # A stand-in apt-get whose first install fails (stale lists) and whose second,
    # after an update, puts a kubectl on PATH: the script must get there on its own.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    write_executable(
        bin_dir / "apt-get",
        f"""#!/bin/bash
echo "$*" >> {log}
case "$*" in
  *update*) : > {tmp_path}/updated ;;
  *"install"*kubernetes-client*)
    [ -e {tmp_path}/updated ] || exit 100
    printf '#!/bin/bash\\n[ "$1" = kustomize ]\\n' > {bin_dir}/kubectl
    {shutil.which("chmod")} +x {bin_dir}/kubectl ;;
esac
""",
    )
    os.symlink(shutil.which("id"), bin_dir / "id")

    result = run_ensure_kubectl(repo_root, {"PATH": str(bin_dir), "HOME": str(tmp_path)})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(bin_dir / "kubectl")
    calls = log.read_text().splitlines()
    assert [call.split()[0] for call in calls] == ["install", "update", "install"]


def test_ensure_kubectl_refuses_a_kubectl_that_cannot_kustomize(repo_root, tmp_path):
    broken = tmp_path / "kubectl"
    write_executable(broken, "#!/bin/sh\nexit 1\n")

    result = run_ensure_kubectl(repo_root, {**os.environ, "KUBECTL": str(broken)})

    assert result.returncode == 1
    assert result.stdout == ""
