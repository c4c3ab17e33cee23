"""The workshop in a real browser (headless Chromium on the shared app): the first screen at 1400 x 900 after one
gallery click, a drawn mask, the space-or-time map, the guided lesson to its end and the zip download. One page
analyses one example; the tests then visit its tabs in order. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_app import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _wait_loaded
from videomae_viz import explain

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1400, "height": 900}
LOADED = 60_000  # ms: an analysis on 2 CPU cores shared with the server takes a few seconds


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Headless Chromium for this module's pages."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(browser, app_url: str) -> Iterator:
    """One page at 1400 x 900 on which the first gallery thumbnail was clicked once and its analysis arrived."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(app_url, wait_until="domcontentloaded", timeout=60_000)
    page.locator("#examples img").first.click(timeout=60_000)
    expect(page.locator("#counters")).to_contain_text("Tokens", timeout=LOADED)
    page.wait_for_function("() => { const v = document.querySelector('#side-by-side video');"
                           " return !!v && v.readyState >= 2; }", timeout=LOADED)
    yield page
    page.close()
    assert not errors, errors


def _inside_viewport(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    return {"box": box, "inside": box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"]
            and box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"]}


def test_first_screen_shows_analyse_and_the_reconstruction_after_one_gallery_click(page):
    assert page.evaluate("() => window.scrollY") == 0
    for selector in ("#run", "#side-by-side video", "#examples", "#topk"):
        where = _inside_viewport(page, selector)
        assert where["inside"], (selector, where["box"])
    assert page.locator("#more-settings").get_by_label("Mask seed").is_hidden()  # folded away
    assert page.locator(".toast-body.error").count() == 0
    page.screenshot(path=str(ARTIFACTS / "first-screen-1400.png"))


def test_the_strategies_compare_with_numbers(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Masking lab").click()
    page.get_by_role("button", name="Compare the masking strategies").click()
    _wait_loaded(page, "#strategies img", LOADED)
    text = page.locator("#strategies-text")
    expect(text).to_contain_text("Under random masking", timeout=LOADED)
    assert len(re.findall(r"\d+\.\d dB", text.inner_text())) >= 3


def test_a_drawn_mask_changes_the_reconstruction(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Draw your own mask").click()
    _wait_loaded(page, "#draw-canvas img", LOADED)
    expect(page.locator("#draw-count")).to_contain_text("0 of ")
    canvas = page.locator("#draw-canvas img")
    canvas.click(position={"x": 5, "y": 5})  # the top-left patch
    expect(page.locator("#draw-count")).to_contain_text("1 of ", timeout=LOADED)
    sources = []
    for start in ("Hide what moves", "Hide what stays still"):
        page.get_by_role("button", name=start).click()
        expect(page.locator("#draw-count")).to_contain_text("(50%)", timeout=LOADED)
        page.locator("#draw-run").click()
        sources.append(_wait_loaded(page, "#draw-lab img", LOADED, other_than=sources[-1] if sources else None))
        expect(page.locator("#draw-table")).to_contain_text(start.lower(), timeout=LOADED)
    rows = page.locator("#draw-table tbody tr")
    expect(rows).to_have_count(2)
    moved, still = (rows.nth(i).locator("td").nth(3).inner_text() for i in range(2))
    assert moved != still  # two masks, two reconstructions
    page.screenshot(path=str(ARTIFACTS / "draw-your-own-mask.png"), full_page=True)


def test_the_space_or_time_map_renders(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Attention").click()
    page.get_by_role("button", name="Space or time").click()
    _wait_loaded(page, "#space-time img", LOADED)
    expect(page.locator("#space-time-text")).to_contain_text("layer 1 keeps", timeout=LOADED)


def test_the_lesson_steps_through_to_the_end(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Guided lesson").click()
    steps = len(explain.LESSON)
    for step in range(1, steps + 1):
        page.locator(f"#lesson-reveal-{step}").click()
        _wait_loaded(page, f"#lesson-picture-{step} img", LOADED)
        expect(page.locator(f"#lesson-answer-{step}")).not_to_be_empty(timeout=LOADED)
        if step < steps:
            page.locator(f"#lesson-next-{step}").click()
    expect(page.locator(f"#lesson-answer-{steps}")).to_contain_text("mean pooling")
    page.screenshot(path=str(ARTIFACTS / "lesson-last-step.png"), full_page=True)


def test_the_zip_downloads_and_holds_what_it_lists(page, tmp_path: Path):
    page.get_by_role("tab", name="Masking lab").click()
    page.get_by_role("button", name="Download all").click()
    link = page.locator("#download-all a").first
    link.wait_for(timeout=LOADED)
    with page.expect_download(timeout=LOADED) as download:
        link.click()
    path = tmp_path / "lab.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as bundle:
        names = set(bundle.namelist())
        record = json.loads(bundle.read("analysis.json"))
    assert names == set(record["files"]) | {"analysis.json"} and "side_by_side.mp4" in names
    assert record["clip"] == "real_cup.mp4"


def test_a_bad_upload_gets_one_message(browser, app_url, tmp_path: Path):
    """A text file uploaded as a clip: our one line, not the browser's "Video not playable" beside it."""
    from playwright.sync_api import expect

    bad = tmp_path / "notes.mp4"
    bad.write_text("These are my lecture notes, not a video.\n" * 20)
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(app_url, wait_until="domcontentloaded", timeout=60_000)
        page.locator("#video input[type=file]").set_input_files(str(bad))
        toasts = page.locator(".toast-body")
        expect(toasts.first).to_contain_text("not a video", timeout=LOADED)
        page.wait_for_timeout(2_000)  # a second message would have arrived by now
        texts = toasts.all_inner_texts()
        assert len(texts) == 1 and "not playable" not in texts[0], texts
        expect(page.locator("#video video")).to_have_count(0)  # the box is empty again
    finally:
        page.close()
