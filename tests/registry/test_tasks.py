"""Tasks with the real Celery worker, the real PostgreSQL and the real MLflow store."""

import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from apps.core import mlflow_gateway
from apps.core.models import AuditEntry
from apps.registry import services
from apps.registry.exceptions import StateConflict
from apps.registry.models import (
    AliasAssignment,
    ApprovalPolicy,
    DeliveryState,
    PromotionRequest,
    PromotionState,
    Webhook,
    WebhookDelivery,
)
from apps.registry.tasks import promote_version
from tests.conftest import free_port, start_http_service, start_worker, stop_process
from tests.registry.conftest import grant_demo_access

SETTLED = {PromotionState.PROMOTED, PromotionState.FAILED}


def wait_for(predicate, timeout=60, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}")


def settled(pk):
    promotion = PromotionRequest.objects.get(pk=pk)
    return promotion if promotion.state in SETTLED else None


def mlflow_holder(client, name, alias="production"):
    value = client.get_registered_model(name).aliases.get(alias)
    return None if value is None else int(value)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_approvals_promote_exactly_once(
    celery_worker_process,
    mirrored_model,
    mlflow_client,
    data_scientist,
    reviewer,
    second_reviewer,
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    policy = ApprovalPolicy.objects.create(model=model, required_approvals=1)

    for round_number in range(20):
        # Odd rounds need both approvals, even rounds let the first one decide.
        policy.required_approvals = 2 if round_number % 2 else 1
        policy.save()
        target_version = 3 if round_number % 2 == 0 else 1
        promotion = services.promotion_request(
            user=data_scientist,
            model=model,
            version=target_version,
            target="production",
            justification=f"round {round_number}",
        )
        outcomes = approve_at_once(promotion.pk, [reviewer, second_reviewer])

        done = wait_for(lambda pk=promotion.pk: settled(pk), message=f"round {round_number}")
        assert done.state == PromotionState.PROMOTED, done.failure_reason
        expected = ["approved", "approved"] if round_number % 2 else ["approved", "conflict"]
        assert sorted(outcomes) == expected
        assert AliasAssignment.objects.filter(promotion=promotion).count() == 1
        for action in ("promotion.approved", "promotion.promoting", "promotion.promoted"):
            assert AuditEntry.objects.filter(action=action, object_id=promotion.pk).count() == 1
        assert mlflow_holder(mlflow_client, model.name) == target_version

    assert AliasAssignment.objects.filter(model=model, alias="production").count() == 21


def approve_at_once(promotion_id, reviewers) -> list[str]:
    """Each reviewer approves from a thread of their own (own connection), released together."""
    barrier = threading.Barrier(len(reviewers))
    outcomes = []

    def approve(user):
        try:
            barrier.wait()
            services.promotion_approve(user=user, promotion_id=promotion_id)
            outcomes.append("approved")
        except StateConflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_the_promote_task_run_twice_by_the_worker_moves_the_alias_once(
    celery_worker_process, mirrored_model, mlflow_client, data_scientist, reviewer
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    promotion = services.promotion_request(
        user=data_scientist, model=model, version=3, target="production", justification="j"
    )
    services.promotion_approve(user=reviewer, promotion_id=promotion.pk)
    promote_version.delay(promotion.pk)

    wait_for(lambda: settled(promotion.pk), message="promotion")
    promote_version.delay(promotion.pk)
    wait_for(
        lambda: AuditEntry.objects.filter(action="promotion.promoted").exists(), message="audit"
    )
    time.sleep(2)

    assert mlflow_holder(mlflow_client, model.name) == 3
    assert AliasAssignment.objects.filter(promotion=promotion).count() == 1
    assert (
        AuditEntry.objects.filter(action="promotion.promoted", object_id=promotion.pk).count() == 1
    )


@pytest.mark.django_db
def test_mlflow_down_during_promotion_retries_then_promotes_once_it_is_back(
    mirrored_model, mlflow_client, data_scientist, reviewer
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    promotion = services.promotion_request(
        user=data_scientist, model=model, version=3, target="production", justification="j"
    )
    services.promotion_approve(user=reviewer, promotion_id=promotion.pk)
    dead = f"http://127.0.0.1:{free_port()}"

    # Called directly, Celery's retry re-raises the error instead of scheduling the retry.
    with (
        override_settings(MLFLOW_TRACKING_URI=dead),
        pytest.raises(mlflow_gateway.MlflowUnavailable),
    ):
        promote_version.run(promotion.pk)

    promotion.refresh_from_db()
    assert (promotion.state, promotion.retrying) == (PromotionState.PROMOTING, True)
    assert promotion.state_label == "Promoting (retrying)"
    assert mlflow_holder(mlflow_client, model.name) == 1
    assert not AliasAssignment.objects.filter(promotion=promotion).exists()

    assert promote_version.run(promotion.pk) == PromotionState.PROMOTED
    promotion.refresh_from_db()
    assert (promotion.state, promotion.retrying, promotion.attempts) == ("promoted", False, 2)
    assert mlflow_holder(mlflow_client, model.name) == 3
    assert AliasAssignment.objects.filter(promotion=promotion).count() == 1


class Receiver:
    """A real HTTP receiver on loopback that fails the first `failures` POSTs with 500."""

    def __init__(self, failures=1):
        self.failures = failures
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                failing = len(receiver.requests) <= receiver.failures
                self.send_response(500 if failing else 200)
                self.end_headers()
                self.wfile.write(b"try later" if failing else b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.django_db(transaction=True)
def test_webhooks_are_signed_retried_and_recorded(
    celery_worker_process, mirrored_model, data_scientist, platform_admin
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)

    with Receiver(failures=1) as receiver:
        hook = services.webhook_create(
            user=platform_admin,
            model=model,
            url=receiver.url,
            events=["promotion.requested"],
        )
        promotion = services.promotion_request(
            user=data_scientist, model=model, version=3, target="production", justification="j"
        )
        delivery = wait_for(
            lambda: WebhookDelivery.objects.filter(
                webhook=hook, state=DeliveryState.DELIVERED
            ).first(),
            message="webhook delivery",
        )

    assert delivery.attempts == 2 and delivery.response_status == 200
    assert len(receiver.requests) == 2
    headers, body = receiver.requests[-1]
    expected = hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Portal-Signature"] == f"sha256={expected}"
    assert headers["X-Portal-Event"] == "promotion.requested"
    assert headers["X-Portal-Delivery"] == str(delivery.delivery_id)
    payload = json.loads(body)
    assert (payload["model"], payload["version"], payload["promotion"]["id"]) == (
        model.name,
        3,
        promotion.pk,
    )


@pytest.mark.django_db(transaction=True)
def test_a_webhook_only_gets_the_events_it_asked_for(
    celery_worker_process, mirrored_model, data_scientist, reviewer, platform_admin
):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    global_hook = Webhook.objects.create(
        url="http://127.0.0.1:9/unused", events=["model.rolled_back"]
    )

    services.promotion_request(
        user=data_scientist, model=model, version=3, target="production", justification="j"
    )

    assert not WebhookDelivery.objects.filter(webhook=global_hook).exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_retries_while_mlflow_is_down_and_promotes_once_it_is_up(
    mirrored_model, mlflow_client, data_scientist, reviewer, monkeypatch, tmp_path
):
    """A worker of its own points at an MLflow server that is not running yet; the server
    is then started on that address over the run's real store."""
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    promotion = services.promotion_request(
        user=data_scientist, model=model, version=3, target="production", justification="j"
    )
    # Approved directly: the service would queue the task for the shared worker instead.
    PromotionRequest.objects.filter(pk=promotion.pk).update(state=PromotionState.APPROVED)

    port = free_port()
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-mlflow-down"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("REGISTRY_PROMOTE_RETRY_SECONDS", "1")
    monkeypatch.setenv("REGISTRY_PROMOTE_RETRY_CAP_SECONDS", "2")
    worker = start_worker(queue, tmp_path / "worker.log")
    server = None
    try:
        promote_version.apply_async(args=[promotion.pk], queue=queue)
        retrying = wait_for(
            lambda: PromotionRequest.objects.filter(pk=promotion.pk, retrying=True).first(),
            message="promoting (retrying)",
        )
        assert retrying.state_label == "Promoting (retrying)"
        assert mlflow_holder(mlflow_client, model.name) == 1

        server = start_http_service(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                settings.MLFLOW_TRACKING_URI,
                "--default-artifact-root",
                str(tmp_path / "art"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            health_url=f"http://127.0.0.1:{port}/health",
            log=tmp_path / "server.log",
            cwd=tmp_path,
        )
        done = wait_for(lambda: settled(promotion.pk), timeout=90, message="promotion")
    finally:
        stop_process(worker)
        if server is not None:
            stop_process(server)

    assert done.state == PromotionState.PROMOTED and not done.retrying
    assert done.attempts >= 2
    assert mlflow_holder(mlflow_client, model.name) == 3
    assert AliasAssignment.objects.filter(promotion=promotion).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_approved_request_whose_task_was_lost_is_promoted_by_the_resume_beat(
    celery_worker_process, mirrored_model, mlflow_client, data_scientist
):
    from datetime import timedelta

    from django.utils import timezone

    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    promotion = services.promotion_request(
        user=data_scientist, model=model, version=3, target="production", justification="j"
    )
    # As if the broker lost the task: approved an hour ago, never queued.
    PromotionRequest.objects.filter(pk=promotion.pk).update(
        state=PromotionState.APPROVED, updated_at=timezone.now() - timedelta(hours=1)
    )

    assert services.promotions_resume_stalled() == [promotion.pk]

    done = wait_for(lambda: settled(promotion.pk), message="promotion")
    assert done.state == PromotionState.PROMOTED
    assert mlflow_holder(mlflow_client, model.name) == 3
    assert services.promotions_resume_stalled() == []


@pytest.mark.django_db
def test_migrate_installs_the_registry_beat_schedule():
    from django_celery_beat.models import PeriodicTask

    from apps.registry.schedule import ensure_registry_schedule

    ensure_registry_schedule()

    tasks = set(
        PeriodicTask.objects.filter(name__startswith="registry:").values_list("task", flat=True)
    )
    assert tasks == {
        "apps.registry.tasks.sync_registry",
        "apps.registry.tasks.expire_promotions",
        "apps.registry.tasks.resume_stalled_promotions",
    }
