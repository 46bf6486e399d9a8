"""The governance journey in real browsers: request, two live approvals, promote, roll back."""

import pytest

from apps.core.demo import ensure_team
from apps.core.roles import REVIEWER
from apps.registry.models import ApprovalPolicy
from tests.conftest import make_user, sign_in
from tests.registry.conftest import grant_demo_access

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def live(page):
    page.wait_for_selector("#live-status.connected", timeout=15000)
    return page


def shot(page, screenshot_dir, name):
    page.wait_for_timeout(450)  # let fades finish before the picture
    page.screenshot(path=str(screenshot_dir / f"registry-{name}.png"), full_page=True)


def test_request_approve_twice_promote_and_roll_back(
    data_scientist,
    reviewer,
    platform_admin,
    mirrored_model,
    daphne_server,
    celery_worker_process,
    browser,
    screenshot_dir,
):
    make_user("dan", role=REVIEWER, teams=["reviewers"])
    model = mirrored_model(prefix="fraud-iforest")
    grant_demo_access(model, data_scientist=data_scientist)
    policy = ApprovalPolicy.objects.create(
        model=model, required_approvals=2, expiry_hours=48, metric_gates="f1 >= 0.7"
    )
    policy.eligible_teams.set([ensure_team("reviewers").group])

    bob = live(sign_in(browser, daphne_server, "bob"))
    bob.goto("/models/-/reviews/")
    live(bob)
    assert "Nothing waits for you" in bob.inner_text("[data-testid=awaiting]")
    bob.evaluate(
        "window.seen = []; document.addEventListener('portal:notification',"
        " (e) => window.seen.push(e.detail.title))"
    )

    alice = live(sign_in(browser, daphne_server, "alice"))
    alice.goto(f"/models/{model.name}/")
    shot(alice, screenshot_dir, "model-page")
    alice.click("[data-testid=promote-v3]")
    alice.fill("#id_justification", "v3 lifts f1 by 0.15 on the September validation window.")
    shot(alice, screenshot_dir, "request-form")
    alice.click("[data-testid=submit-request]")
    alice.wait_for_selector("[data-testid=promotion-state][data-state=requested]")

    # bob sees the live notification and the request arrives in his list without a reload.
    bob.wait_for_function(
        "window.seen.some((t) => t.startsWith('Review requested'))", timeout=20000
    )
    bob.locator(".toast", has_text="Review requested").wait_for(state="visible")
    bob.locator("[data-testid=awaiting] a", has_text="Review").wait_for(timeout=15000)
    shot(bob, screenshot_dir, "my-reviews-live")
    live(alice)
    shot(alice, screenshot_dir, "request-detail")

    bob.locator("[data-testid=awaiting] a", has_text="Review").click()
    bob.fill("[data-testid=decision-comment]", "Metrics and data window look right.")
    bob.click("[data-testid=approve]")
    bob.wait_for_selector("[data-testid=approval-count]:has-text('1 of 2')")

    dan = live(sign_in(browser, daphne_server, "dan"))
    dan.goto(bob.url)
    dan.fill("[data-testid=decision-comment]", "Approved for production.")
    dan.click("[data-testid=approve]")

    # alice's page moves to promoted by itself.
    alice.wait_for_selector("[data-testid=promotion-state][data-state=promoted]", timeout=30000)
    assert "v3 holds" in alice.inner_text("[data-testid=promoted-banner]")
    shot(alice, screenshot_dir, "promoted-live")

    carol = live(sign_in(browser, daphne_server, "carol"))
    carol.goto(f"/models/{model.name}/")
    assert carol.inner_text("[data-testid=env-production-version]") == "v3"
    carol.click("[data-testid=rollback-open]")
    carol.fill("[data-testid=rollback-form] textarea[name=reason]", "Alert: precision dropped.")
    shot(carol, screenshot_dir, "rollback-dialog")
    carol.click("[data-testid=rollback-confirm]")
    carol.wait_for_selector("[data-testid=promotion-state][data-state=promoted]", timeout=30000)

    carol.goto(f"/models/{model.name}/#history")
    assert carol.inner_text("[data-testid=env-production-version]") == "v1"
    history = carol.inner_text("[data-testid=alias-history]")
    assert "Emergency roll back" in history and "Alert: precision dropped." in history
    assert "bob, dan" in history
    shot(carol, screenshot_dir, "alias-history")

    carol.goto("/audit/?object_type=registry.promotionrequest")
    trail = carol.inner_text("body")
    for action in (
        "promotion.requested",
        "promotion.approved",
        "promotion.promoted",
        "rollback.emergency",
        "rollback.performed",
    ):
        assert action in trail
    shot(carol, screenshot_dir, "audit-trail")

    for page in (alice, bob, dan, carol):
        page.context.close()
