"""End to end: the real app (``python app.py``, the shared ``app_url`` fixture of conftest.py) driven by headless
Chromium and by gradio_client.

Only structure and facts that hold for any weights are checked (label names, probability sums, token counts, image
sizes), so the tests survive retraining of the embedded model. Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.server import analyze
from videomae_viz.video_io import read_video, write_mp4

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CONFIG = json.loads((ROOT / "assets" / "motion-tiny" / "config.json").read_text())
LABELS = set(CONFIG["id2label"].values())
SLICES = CONFIG["num_frames"] // CONFIG["tubelet_size"]  # panels in the query strip
PER_SLICE = (CONFIG["image_size"] // CONFIG["patch_size"]) ** 2  # tokens per time slice


def visible_tokens(ratio: float) -> int:
    """Tube masking hides int(ratio * PER_SLICE) positions of every time slice."""
    return SLICES * (PER_SLICE - int(ratio * PER_SLICE))
STRIP_GAP = 6  # natural pixels between the strip's panels (render.Strip.gap)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 frames of 96x128: a red square moving left to right over a dark background."""
    frames = np.full((24, 96, 128, 3), 30, np.uint8)
    for i in range(24):
        frames[i, 32:64, 4 + 4 * i: 36 + 4 * i] = (220, 60, 40)
    return write_mp4(frames, tmp_path_factory.mktemp("clip") / "moving-right.mp4", fps=12)


# --- the browser ------------------------------------------------------------------------------------------------

def _wait_loaded(page, selector: str, timeout: float, other_than: str | None = None) -> str:
    """Wait until ``selector`` is an <img> with a src (different from ``other_than``) that has loaded -> its src."""
    page.wait_for_function(
        """([selector, old]) => {
            const img = document.querySelector(selector);
            return !!img && !!img.getAttribute('src') && img.src !== old && img.complete && img.naturalWidth > 0;
        }""", arg=[selector, other_than], timeout=timeout)
    return page.locator(selector).get_attribute("src")


@pytest.mark.browser
def test_browser_run_and_query_click(app_url, clip):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page_errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda err: page_errors.append(str(err)))
            response = page.goto(app_url, wait_until="domcontentloaded", timeout=60_000)
            assert response is not None and response.ok
            headers = response.all_headers()
            assert "x-frame-options" not in headers, headers
            assert "frame-ancestors" not in headers.get("content-security-policy", "").lower(), headers

            page.locator("#video input[type=file]").set_input_files(str(clip))
            page.locator("#video video").wait_for(state="attached", timeout=30_000)  # the upload finished
            page.locator("#run").click()

            # Top-k: percentages, and names from the embedded model's labels.
            confidences = page.locator("#topk .confidence-set dd.confidence")
            expect(confidences.first).to_have_text(re.compile(r"^\s*\d+%\s*$"), timeout=60_000)
            percents = [int(re.fullmatch(r"\s*(\d+)%\s*", text).group(1)) for text in confidences.all_inner_texts()]
            names = [text.strip() for text in page.locator("#topk .confidence-set dt.text").all_inner_texts()]
            assert 1 <= len(percents) == len(names) <= len(LABELS)
            assert set(names) <= LABELS, names
            assert percents == sorted(percents, reverse=True)
            assert sum(percents) <= 100 + len(percents) / 2  # each shown value is rounded by at most 0.5
            expect(page.locator("#counters")).to_contain_text("Tokens")

            # The masking lab's frame grid is a real, loaded image.
            frames_src = _wait_loaded(page, "#frames img", 30_000)
            assert frames_src
            shot = ARTIFACTS / "app-after-run.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot: {shot}")

            # Attention tab: the rollout map, then a click on the 3rd panel of the query strip.
            page.get_by_role("tab", name="Attention").click()
            attention_src = _wait_loaded(page, "#attention img", 30_000)
            strip_src = _wait_loaded(page, "#query-strip img", 30_000)
            strip_img = page.locator("#query-strip img")
            strip_img.scroll_into_view_if_needed()
            box = strip_img.evaluate("""img => {
                const r = img.getBoundingClientRect();
                return {width: r.width, height: r.height, nw: img.naturalWidth, nh: img.naturalHeight};
            }""")
            panel = (box["nw"] - (SLICES - 1) * STRIP_GAP) / SLICES
            assert panel == box["nh"], box  # square panels: one per time slice, STRIP_GAP apart
            # object-fit: scale-down, as Gradio's own click mapping assumes
            scale = min(box["width"] / box["nw"], box["height"] / box["nh"], 1.0)
            left = (box["width"] - box["nw"] * scale) / 2
            top = (box["height"] - box["nh"] * scale) / 2
            # A quarter into the 3rd panel (natural pixels): off the centre patch, which is the default query, so
            # the strip must be redrawn with the marker elsewhere.
            x = 2 * (panel + STRIP_GAP) + panel / 4
            y = panel / 4
            strip_img.click(position={"x": left + x * scale, "y": top + y * scale})
            new_src = _wait_loaded(page, "#attention img", 30_000, other_than=attention_src)
            assert new_src != attention_src
            _wait_loaded(page, "#query-strip img", 30_000, other_than=strip_src)  # redrawn with the new marker
            expect(page.get_by_role("radio", name="query patch")).to_be_checked()
            assert page.locator(".toast-body.error").count() == 0
            shot = ARTIFACTS / "app-attention-after-click.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
        finally:
            browser.close()
    assert not page_errors, page_errors


# --- the API ----------------------------------------------------------------------------------------------------

def _confidences(value: dict) -> list[tuple[str, float]]:
    return [(item["label"], item["confidence"]) for item in value["confidences"]]


def _png(path) -> Image.Image:
    path = Path(path)
    assert path.is_file() and path.suffix == ".png", path
    with open(path, "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n", path
    image = Image.open(path)
    image.load()
    return image


def test_api_analyze(app_url, clip, tmp_path):
    from gradio_client import Client

    client = Client(app_url, verbose=False, download_files=str(tmp_path))
    out = analyze(client, clip, compare_backwards=True)
    assert len(out) == 13  # 14 outputs minus the session state
    topk, reversed_, lab, side, error, counters, strip, attention, mode, layer, head, class_label, mode_text = out

    ranked = _confidences(topk)
    assert len(ranked) == 3 and {name for name, _ in ranked} <= LABELS and topk["label"] == ranked[0][0]
    scores = [score for _, score in ranked]
    assert all(0 <= s <= 1 for s in scores) and scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1 + 1e-6

    assert reversed_.get("visible") is True
    backwards = _confidences(reversed_["value"])
    assert len(backwards) == 3 and {name for name, _ in backwards} <= LABELS
    assert 0 < sum(score for _, score in backwards) <= 1 + 1e-6

    lab_image = _png(lab)
    assert lab_image.width > lab_image.height > 200
    for path in (error, attention):  # heat-map figures: one panel per time slice in a row
        image = _png(path)
        assert image.width > image.height > 200, (path, image.size)
    strip_image = _png(strip)
    panel = strip_image.height
    assert strip_image.width == SLICES * panel + (SLICES - 1) * STRIP_GAP and panel >= 100

    side = Path(side)
    assert side.suffix == ".mp4" and side.read_bytes()[4:8] == b"ftyp"
    video = read_video(side, num_frames=4)
    _, height, width, _ = video.frames.shape
    assert abs(width / height - 3) < 0.1, video.frames.shape  # original, masked, + visible side by side

    text = counters.replace("**", "")
    assert f"Tokens {SLICES * PER_SLICE}" in text
    assert f"visible {visible_tokens(0.9)}" in text
    psnr = re.search(r"PSNR (-?\d+\.\d+) dB", text)
    assert psnr and float(psnr.group(1)) > 0, text

    assert mode["value"] == "rollout"
    assert layer["maximum"] == layer["value"] == CONFIG["num_hidden_layers"]
    assert [c[0] for c in head["choices"]] == ["mean"] + [str(h + 1) for h in range(CONFIG["num_attention_heads"])]
    assert [c[0] for c in class_label["choices"]] == [name for name, _ in ranked]
    assert "rollout" in mode_text.lower()


def test_api_bad_upload_then_good(app_url, clip, tmp_path):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    bad = tmp_path / "notes.mp4"
    bad.write_text("These are my lecture notes, not a video.\n" * 20)
    client = Client(app_url, verbose=False, download_files=str(tmp_path / "downloads"))
    with pytest.raises(AppError) as info:
        analyze(client, bad, compare_backwards=True)
    assert "not a video" in str(info.value)

    out = analyze(client, clip, ratio=0.5, top_k=2)  # the server still works
    assert len(_confidences(out[0])) == 2
    assert out[1].get("visible") is False
    text = out[5].replace("**", "")
    assert f"visible {visible_tokens(0.5)}" in text
