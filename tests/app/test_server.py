"""The app in a real browser: served as the README runs it, drawn by headless Chromium, clicked.

Chromium comes from the system (``scripts/system_deps.sh``, run by ``make test``); without it
this test fails rather than skips. The screenshot goes to the test's temporary folder."""

from __future__ import annotations

from mesa_report.app.server import (
    CLICKABLE_EPOCHS,
    HYPNOGRAM_CHART,
    INTER_EPOCH_CHART,
    click_and_wait,
    full_screenshot,
    open_page,
    sample_text,
    serve_app,
    wait_for_charts,
    wait_until_idle,
)

from ..browser_helpers import click_heatmap_row, demo_env

SEQ_LEN = 20


def test_the_served_app_draws_steps_and_selects_an_epoch(tmp_path_factory):
    with serve_app(env=demo_env(tmp_path_factory)) as url, open_page(url) as page:
        outside = []
        page.on("request", lambda r: None if r.url.startswith(url) else outside.append(r.url))
        assert sample_text(page) == "Sample 1 of 3"

        click_and_wait(page, "Next ▶")
        wait_for_charts(page)
        assert sample_text(page) == "Sample 2 of 3"
        assert "sample=2" in page.url and "subject=mesa-sleep-0001" in page.url

        # a click on row 5 of the inter-epoch heatmap selects night epoch 20 + 5
        heatmap = page.locator("[data-testid='stVegaLiteChart']").nth(INTER_EPOCH_CHART)
        click_heatmap_row(page, heatmap, SEQ_LEN + 5)
        page.wait_for_url("**epoch=25**")
        wait_until_idle(page)
        # the epoch picker follows (the channel and temporal maps, drawn on canvases, hold no DOM text)
        picker = page.locator("[data-testid='stSelectbox']").filter(has_text="Epoch")
        assert picker.locator("input").input_value().startswith("25 ")

        # a click on epoch 45 of the hypnogram's confidence panel shows sample 3 at epoch 45
        hypnogram = page.locator("[data-testid='stVegaLiteChart']").nth(HYPNOGRAM_CHART)
        bars = hypnogram.locator(CLICKABLE_EPOCHS)
        assert bars.count() == 3 * 3 * SEQ_LEN  # every epoch of the night, in each of the three panels
        bars.nth(2 * 3 * SEQ_LEN + 45).click()
        page.wait_for_url("**epoch=45**")
        wait_until_idle(page)
        assert "sample=3" in page.url and sample_text(page) == "Sample 3 of 3"

        shot = full_screenshot(page, tmp_path_factory.mktemp("artifacts") / "app_browser_test.png")
        assert shot.stat().st_size > 50_000
        assert outside == []  # everything is served from localhost; nothing is fetched elsewhere
