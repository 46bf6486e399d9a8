"""alice signs in; a task in the real worker notifies her; the toast appears live."""

import pytest

from apps.core.tasks import send_notification
from tests.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_notification_from_the_worker_appears_as_a_toast_and_stays_unread(
    data_scientist, daphne_server, celery_worker_process, browser, screenshot_dir
):
    page = sign_in(browser, daphne_server, "alice")
    page.wait_for_selector("#live-status.connected", timeout=15000)
    assert page.locator("#unread-badge").get_attribute("data-count") == "0"

    send_notification.delay(
        user_ids=[data_scientist.pk],
        title="Promotion approved",
        body="fraud-iforest v7 is ready to promote.",
        level="success",
    )

    toast = page.locator(".toast", has_text="Promotion approved")
    toast.wait_for(state="visible", timeout=20000)
    assert "fraud-iforest v7" in toast.inner_text()
    assert page.locator("#unread-badge").get_attribute("data-count") == "1"
    assert "Promotion approved" in page.locator("#home-unread").inner_text()
    page.wait_for_timeout(400)  # let the fade-in finish before the picture
    page.screenshot(path=str(screenshot_dir / "notification-toast.png"))

    page.reload()
    page.wait_for_selector("#live-status.connected", timeout=15000)
    page.wait_for_function("document.querySelector('#unread-badge').dataset.count === '1'")
    page.click("#notif-bell")
    assert "Promotion approved" in page.locator("#unread-list").inner_text()

    page.goto("/notifications/")
    item = page.locator("[data-testid=notification-list] li", has_text="Promotion approved")
    assert "unread" in item.inner_text()
    page.context.close()


def test_anonymous_visitors_are_sent_to_the_login_page(daphne_server, browser, screenshot_dir):
    context = browser.new_context(base_url=daphne_server)
    page = context.new_page()
    page.goto("/audit/")
    assert page.url.startswith(f"{daphne_server}/accounts/login/")
    page.screenshot(path=str(screenshot_dir / "login.png"))
    context.close()
