"""The dashboard's value-by-stage charts, in Arabic and French, on a desk (1366×768) and a
phone (390×844): every stage is labelled on the chart's axis, in the table's order, with
room for its label; each bar's value is the table's; the page never scrolls sideways and
passes axe-core's WCAG 2.1 AA checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import ADMIN, Console, login, screenshot, switch_language
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser

SIZES = {
    "desk": {"viewport": {"width": 1366, "height": 768}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
VALUE_CHARTS = ["pipeline-value", "pipeline-value-usd"]  # one chart and one table per currency

# For one chart: the stage axis's tick labels (wrapped labels joined again), the lines of
# each, the pixel of each tick, and the bars' values.
READ_CHART = """key => {
    const chart = window.Chart.getChart(document.querySelector(`canvas[data-chart="${key}"]`));
    const axis = chart.scales[chart.options.indexAxis];
    const lines = axis.ticks.map(t => Array.isArray(t.label) ? t.label : [String(t.label)]);
    return {
        labels: lines.map(l => l.join(' ')),
        lines: lines.map(l => l.length),
        pixels: axis.ticks.map((t, i) => axis.getPixelForTick(i)),
        fontSize: window.Chart.defaults.font.size,
        values: chart.data.datasets[0].data.map(Number),
    };
}"""
READ_TABLE = """key => [...document.querySelectorAll(`[data-testid=table-${key}] tbody tr`)].map(row => ({
    stage: row.querySelector('th').textContent.trim(),
    value: Number(row.querySelector('td').dataset.value),
}))"""
WAIT_FOR_CHARTS = (
    "[...document.querySelectorAll('canvas[data-chart]')].every(c => window.Chart && window.Chart.getChart(c))"
)


def _open_dashboard(new_page: Callable[..., Any], lang: str, size: str, **options: Any) -> Any:
    page = new_page(**SIZES[size], **options)
    login(page, ADMIN)
    if page.locator("html").get_attribute("lang") != lang:
        if size == "phone":  # the language buttons are behind the menu button
            page.locator("button.navbar-toggler").click()
            page.locator("#nav.show").wait_for()
        switch_language(page, lang)
    page.goto("/dashboard")
    page.wait_for_function(WAIT_FOR_CHARTS)
    page.evaluate("Object.values(window.Chart.instances).forEach(c => { c.stop(); c.update('none'); })")
    return page


def language_back(new_page: Callable[..., Any], email: str, code: str) -> None:
    """Give a demo user their language back (the language buttons save it for them)."""
    page = new_page()
    login(page, email)
    if page.locator("html").get_attribute("lang") != code:
        switch_language(page, code)


@pytest.fixture
def restore_language(new_page: Callable[..., Any]) -> Any:
    """The demo admin's language is English again after the test (others expect it)."""
    yield
    language_back(new_page, ADMIN, "en")


@pytest.mark.parametrize("size", ["desk", "phone"])
@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_every_stage_of_the_value_charts_is_labelled_beside_its_own_value(
    new_page: Callable[..., Any], console: Console, restore_language: None, lang: str, size: str
) -> None:
    page = _open_dashboard(new_page, lang, size)
    width = page.viewport_size["width"]
    for key in VALUE_CHARTS:
        table = page.evaluate(READ_TABLE, key)
        chart = page.evaluate(READ_CHART, key)
        stages = [row["stage"] for row in table]
        assert len(stages) == 8
        # Every stage's label is drawn, none skipped, in the table's order...
        assert chart["labels"] == stages, (key, chart["labels"])
        # ...each with the height its lines need (the labels do not overlap)...
        gaps = [abs(b - a) for a, b in zip(chart["pixels"], chart["pixels"][1:], strict=False)]
        for i, gap in enumerate(gaps):
            needed = (chart["lines"][i] + chart["lines"][i + 1]) / 2 * chart["fontSize"]
            assert gap >= needed, (key, stages[i], gap, needed)
        # ...and each bar is the table's value for that stage.
        assert chart["values"] == [row["value"] for row in table], key
        canvas = page.locator(f'canvas[data-chart="{key}"]').bounding_box()
        assert canvas is not None and canvas["x"] >= -1 and canvas["x"] + canvas["width"] <= width + 1, canvas
    assert any(v > 0 for v in page.evaluate(READ_CHART, "pipeline-value-usd")["values"])
    # The stage axis stands where the reader starts: on the right in Arabic.
    box = page.locator('canvas[data-chart="pipeline-value"]').bounding_box()
    stage_axis = page.evaluate(
        """() => { const c = window.Chart.getChart(document.querySelector('canvas[data-chart="pipeline-value"]'));
                   return {left: c.scales.y.left, width: c.width}; }"""
    )
    assert (stage_axis["left"] > stage_axis["width"] / 2) == (lang == "ar"), stage_axis
    assert box is not None
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    screenshot(page, f"dashboard-{lang}-{size}")
    console.assert_clean()


@pytest.mark.parametrize("size", ["desk", "phone"])
@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_the_dashboard_passes_the_wcag_aa_checks(
    new_page: Callable[..., Any], restore_language: None, lang: str, size: str
) -> None:
    assert AXE.exists(), "axe-core is missing: run `npm ci` (make test does)"
    page = _open_dashboard(new_page, lang, size, bypass_csp=True)
    page.add_script_tag(path=str(AXE))
    problems = page.evaluate(RUN_AXE)
    assert problems == [], problems
