"""Registry pages rendered for the personas."""

import pytest

from apps.registry import services
from apps.registry.models import PromotionState
from tests.registry.conftest import grant_demo_access

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(mirrored_model, data_scientist):
    model = mirrored_model()
    grant_demo_access(model, data_scientist=data_scientist)
    return model


def test_the_model_list_shows_only_visible_models(client, model, mirrored_model, data_scientist):
    hidden = mirrored_model(prefix="hidden")
    client.force_login(data_scientist)

    page = client.get("/models/").content.decode()

    assert model.name in page
    assert hidden.name not in page


def test_the_model_page_shows_versions_deltas_and_alias_history(client, model, data_scientist):
    client.force_login(data_scientist)

    page = client.get(model.get_absolute_url()).content.decode()

    assert 'data-testid="version-row-3"' in page
    assert "+0.1500" in page  # f1 of v3 against the production holder v1
    assert "Found at first sync" in page
    assert "Request promotion" in page
    assert "rollback-open" not in page


def test_the_version_page_compares_with_production(client, model, data_scientist):
    client.force_login(data_scientist)

    page = client.get(f"/models/{model.name}/versions/2/").content.decode()

    assert "compared with v1 (production)" in page
    assert "+0.0900" in page


def test_requesting_from_the_form_redirects_to_the_request(client, model, data_scientist):
    client.force_login(data_scientist)

    response = client.post(
        f"/models/{model.name}/request/",
        {"version": 3, "target": "production", "justification": "higher recall"},
    )

    promotion = model.promotions.get()
    assert response.status_code == 302 and response.url == promotion.get_absolute_url()
    assert promotion.state == PromotionState.REQUESTED


def test_an_invalid_request_shows_the_reason(client, model, data_scientist):
    client.force_login(data_scientist)

    response = client.post(
        f"/models/{model.name}/request/",
        {"version": 1, "target": "production", "justification": "again"},
    )

    assert response.status_code == 400
    assert "already holds production" in response.content.decode()


def test_approving_a_decided_request_answers_409_with_the_state(
    client, model, data_scientist, reviewer, second_reviewer
):
    promotion = services.promotion_request(
        user=data_scientist, model=model, version=3, target="production", justification="j"
    )
    services.promotion_reject(user=second_reviewer, promotion_id=promotion.pk, comment="no")
    client.force_login(reviewer)

    response = client.post(f"/models/-/promotions/{promotion.pk}/decide/", {"decision": "approve"})

    assert response.status_code == 409
    assert 'data-testid="conflict-state">rejected' in response.content.decode()


def test_my_reviews_lists_requests_waiting_for_the_reviewer(
    client, model, data_scientist, reviewer
):
    promotion = services.promotion_request(
        user=data_scientist, model=model, version=3, target="production", justification="j"
    )
    client.force_login(reviewer)

    page = client.get("/models/-/reviews/").content.decode()

    assert f'data-testid="review-{promotion.pk}"' in page


def test_the_request_page_offers_the_decision_to_eligible_reviewers_only(
    client, model, data_scientist, reviewer
):
    promotion = services.promotion_request(
        user=data_scientist, model=model, version=3, target="production", justification="j"
    )
    client.force_login(reviewer)
    assert 'data-testid="approve"' in client.get(promotion.get_absolute_url()).content.decode()

    services.MODEL_PERMISSIONS.grant("approve", data_scientist, model)
    client.force_login(data_scientist)
    page = client.get(promotion.get_absolute_url()).content.decode()
    assert 'data-testid="approve"' not in page
    assert "your own request" in page


def test_owners_edit_the_policy_from_the_model_page(client, model, platform_admin):
    client.force_login(platform_admin)

    response = client.post(
        f"/models/{model.name}/policy/",
        {"required_approvals": 2, "expiry_hours": 12, "metric_gates": "f1 >= 0.8"},
    )

    assert response.status_code == 302
    model.refresh_from_db()
    assert (model.policy.required_approvals, model.policy.metric_gates) == (2, "f1 >= 0.8")


def test_a_bad_gate_is_refused_with_a_message(client, model, platform_admin):
    client.force_login(platform_admin)

    response = client.post(
        f"/models/{model.name}/policy/",
        {"required_approvals": 2, "expiry_hours": 12, "metric_gates": "f1 >= __import__"},
        follow=True,
    )

    assert "Policy not saved" in response.content.decode()
    assert not hasattr(model, "policy") or model.policy.pk is None


def test_platform_admins_manage_global_webhooks_and_see_deliveries(client, platform_admin):
    client.force_login(platform_admin)

    response = client.post("/models/-/webhooks/", {"url": "https://hooks.example.com/x"})

    assert response.status_code == 302
    page = client.get("/models/-/webhooks/").content.decode()
    assert "https://hooks.example.com/x" in page
    assert 'data-testid="deliveries"' in page


def test_others_may_not_manage_global_webhooks(client, data_scientist):
    client.force_login(data_scientist)

    assert client.get("/models/-/webhooks/").status_code == 403
