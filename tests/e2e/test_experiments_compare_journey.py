"""Browser journey: alice filters runs, selects three, compares them."""

import pytest

from tests.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_alice_filters_selects_three_runs_and_compares_them(
    browser, daphne_server, data_scientist, mirrored, screenshot_dir
):
    page = sign_in(browser, daphne_server, "alice")
    fraud = mirrored["t-fraud"]["id"]

    page.goto(f"/experiments/runs/?experiment={fraud}")
    page.fill("[data-testid=run-filter]", "params.algorithm != 'elliptic' and metrics.f1 > 0.05")
    page.press("[data-testid=run-filter]", "Enter")
    page.wait_for_url("**filter=*")
    boxes = page.locator(".run-select")
    assert boxes.count() >= 3
    for index in range(3):
        boxes.nth(index).check()
    page.click("[data-testid=compare-selected]")
    page.wait_for_url("**/experiments/compare/?runs=*")
    page.wait_for_function(
        "document.getElementById('histories').data && document.getElementById('parcoords').data"
    )

    parcoords = page.evaluate(
        "() => { const d = document.getElementById('parcoords').data[0];"
        " return {type: d.type,"
        " dims: d.dimensions.map(x => ({label: x.label, n: x.values.length}))}; }"
    )
    histories = page.evaluate(
        "() => document.getElementById('histories').data.map(t => ({name: t.name, n: t.y.length}))"
    )
    page.screenshot(path=str(screenshot_dir / "experiments-compare.png"), full_page=True)

    assert parcoords["type"] == "parcoords"
    assert len(parcoords["dims"]) >= 3
    assert all(dim["n"] == 3 for dim in parcoords["dims"])
    assert len(histories) == 3
    assert all(trace["n"] > 1 for trace in histories)
    assert page.locator("[data-testid=param-table] tr.differs").count() >= 1
    page.check("[data-testid=hide-equal]")
    assert page.locator("[data-testid=param-table] tr.equal:visible").count() == 0
    assert page.locator("[data-testid=param-table] tr.differs:visible").count() >= 1
    assert page.locator("[data-testid=metric-table] td.best").count() >= 1

    # Zooming (as a drag on the chart does) asks the API for that range only.
    page.evaluate("() => Plotly.relayout('histories', {'xaxis.range[0]': 5, 'xaxis.range[1]': 9})")
    page.wait_for_function("document.getElementById('history-note').textContent.includes('zoomed')")
    zoomed_steps = page.evaluate("() => document.getElementById('histories').data[0].x")
    assert zoomed_steps == [5, 6, 7, 8, 9]
    page.context.close()
