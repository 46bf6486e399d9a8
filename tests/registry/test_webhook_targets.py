"""Webhooks may only reach public hosts unless the operator allows private ones."""

import pytest
from django.core.exceptions import ValidationError

from apps.registry.models import Webhook
from apps.registry.targets import check_webhook_target


@pytest.fixture
def public_only(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.7/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
    ],
)
def test_private_and_local_targets_are_refused(public_only, url):
    with pytest.raises(ValidationError, match="private or local address"):
        check_webhook_target(url)


def test_a_public_address_is_accepted(public_only):
    check_webhook_target("https://93.184.216.34/hooks/portal")


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/x", "not a url", "http:///path-only"])
def test_malformed_urls_are_refused_with_a_clear_message(public_only, url):
    with pytest.raises(ValidationError, match="http:// or https://"):
        check_webhook_target(url)


def test_operators_may_allow_private_targets(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    check_webhook_target("http://10.1.2.3/hook")


@pytest.mark.django_db
def test_adding_a_loopback_webhook_shows_why_on_the_form(client, platform_admin, public_only):
    client.force_login(platform_admin)
    response = client.post("/models/-/webhooks/", {"url": "http://127.0.0.1:9/hook"})

    assert response.status_code == 200
    assert "private or local address" in response.content.decode()
    assert not Webhook.objects.exists()
