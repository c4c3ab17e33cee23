"""End to end: the real app (``python app.py``, the shared ``app_url`` fixture of conftest.py) driven by headless
Chromium and by gradio_client.

Only structure and facts that hold for any weights are checked (label names, probability sums, token counts, image
sizes), so the tests survive retraining of the embedded model. Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.server import analyze
from videomae_viz.pipeline import PRESETS
from videomae_viz.render import display_factor
from videomae_viz.video_io import read_video, write_mp4

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CONFIG = json.loads((ROOT / "assets" / PRESETS["embedded"].classifier / "config.json").read_text())
RECONSTRUCTOR = json.loads((ROOT / "assets" / PRESETS["embedded"].reconstructor / "config.json").read_text())
LABELS = set(CONFIG["id2label"].values())
SLICES = CONFIG["num_frames"] // CONFIG["tubelet_size"]  # panels in the query strip
# the masking lab's tokens: the reconstructor's grid
REC_SLICES = RECONSTRUCTOR["num_frames"] // RECONSTRUCTOR["tubelet_size"]
PER_SLICE = (RECONSTRUCTOR["image_size"] // RECONSTRUCTOR["patch_size"]) ** 2  # tokens per time slice


def visible_tokens(ratio: float) -> int:
    """Tube masking hides int(ratio * PER_SLICE) positions of every time slice."""
    return REC_SLICES * (PER_SLICE - int(ratio * PER_SLICE))
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
    assert len(out) == 8  # 9 outputs minus the session state; the page's own controls are set by a private event
    topk, reversed_, lab, side, error, counters, strip, attention = out

    ranked = _confidences(topk)
    assert len(ranked) == 3 and {name for name, _ in ranked} <= LABELS and topk["label"] == ranked[0][0]
    scores = [score for _, score in ranked]
    assert all(0 <= s <= 1 for s in scores) and scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1 + 1e-6

    backwards = _confidences(reversed_)
    assert len(backwards) == 3 and {name for name, _ in backwards} <= LABELS
    assert 0 < sum(score for _, score in backwards) <= 1 + 1e-6

    lab_image = _png(lab)
    frame_side = RECONSTRUCTOR["image_size"] * display_factor(RECONSTRUCTOR["image_size"])  # a frame as displayed
    views, blocks, gap = 5, 2, 3  # original, masked, prediction, + visible, interpolation; 16 frames as 2 x 8
    assert lab_image.height == blocks * (views * frame_side + (views - 1) * gap) + (blocks - 1) * 4 * gap
    assert lab_image.width > 8 * frame_side
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
    assert 3.4 < width / height < 4.1, video.frames.shape  # original, masked, decoder, interpolation under titles

    text = counters.replace("**", "")
    assert f"Tokens {REC_SLICES * PER_SLICE}" in text
    assert f"visible {visible_tokens(0.9)}" in text
    for fill in ("decoder", "mean colour", "interpolation"):
        psnr = re.search(fill + r" (-?\d+\.\d+) dB", text)
        assert psnr and float(psnr.group(1)) > 0, (fill, text)
    assert "copy: impossible" in text  # tube masking: no hidden patch is visible in another slice



def test_api_needs_only_the_clip_and_names_everything(app_url, clip, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(app_url, verbose=False, download_files=str(tmp_path))
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/analyze"]
    required = [p["parameter_name"] for p in api["parameters"] if not p["parameter_has_default"]]
    assert required == ["video"]
    names = [p["parameter_name"] for p in api["parameters"]] + [r["label"] for r in api["returns"]]
    assert not any(re.fullmatch(r"(value|parameter)_\d+", name) for name in names), names
    assert {"start", "end", "stride", "compare_backwards"} <= set(names)
    topk, reversed_, *_ = client.predict(handle_file(str(clip)), api_name="/analyze")
    assert len(_confidences(topk)) == 5 and not reversed_  # the app's defaults: top 5, no backwards run (empty)


def test_api_analyze_json_is_the_cli_record(app_url, clip, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(app_url, verbose=False)
    record = client.predict(handle_file(str(clip)), mask_ratio=0.75, masking="random", seed=3,
                            api_name="/analyze_json")
    cli = subprocess.run([sys.executable, "-m", "videomae_viz", "--mask-ratio", "0.75", "--masking", "random",
                          "--seed", "3", "--out", str(tmp_path / "cli"), str(clip)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    assert set(record) == set(expected) | {"urls"} and set(record["urls"]) == set(expected["outputs"])
    assert [item["label"] for item in record["labels"]] == [item["label"] for item in expected["labels"]]
    for got, want in zip(record["labels"], expected["labels"]):
        assert abs(got["score"] - want["score"]) <= 1e-6
    for key, want in expected["reconstruction"].items():
        assert record["reconstruction"][key] == pytest.approx(want, abs=1e-6), key
    assert record["frames"] == expected["frames"] and record["visible_tokens"] == expected["visible_tokens"]
    with urllib.request.urlopen(app_url + record["urls"]["original"], timeout=30) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    bad = tmp_path / "notes.mp4"
    bad.write_text("These are my lecture notes, not a video.\n" * 20)
    with pytest.raises(AppError) as info:
        client.predict(handle_file(str(bad)), api_name="/analyze_json")
    assert "not a video" in str(info.value) and len(str(info.value).strip().splitlines()) == 1


def test_api_compare_masking_shows_the_copy_shortcut_and_matches_the_cli(app_url, tmp_path):
    from gradio_client import Client, handle_file

    y, x = np.mgrid[0:96, 0:128]
    scene = np.stack([(x * 2) % 256, (y * 3) % 256, ((x + y) * 5) % 256], axis=-1).astype(np.uint8)
    static = write_mp4(np.repeat(scene[None], 48, axis=0), tmp_path / "static.mp4", fps=12)  # nothing moves
    client = Client(app_url, verbose=False)
    results = client.predict(handle_file(str(static)), mask_ratio=0.75, seed=1, api_name="/compare_masking")
    assert list(results) == ["tube", "random", "frame", "running-cell"]
    assert results["tube"]["copy_psnr"] is None  # every hidden patch is hidden in every frame
    # a static scene copies exactly wherever a patch is visible in another frame (the rest keeps the mean fill)
    assert results["random"]["copy_psnr"] > results["random"]["baseline_psnr"] + 3
    for strategy in ("tube", "random"):
        cli = subprocess.run([sys.executable, "-m", "videomae_viz", "--mask-ratio", "0.75", "--seed", "1",
                              "--masking", strategy, "--no-attention", str(static)],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert cli.returncode == 0, cli.stderr
        record = json.loads(cli.stdout)
        assert {key: results[strategy][key] for key in record["reconstruction"]} == record["reconstruction"]
        assert results[strategy]["visible_tokens"] == record["visible_tokens"]


def test_api_bad_upload_then_good(app_server, clip, tmp_path):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    bad = tmp_path / "notes.mp4"
    bad.write_text("These are my lecture notes, not a video.\n" * 20)
    client = Client(app_server.url, verbose=False, download_files=str(tmp_path / "downloads"))
    logged = app_server.log.stat().st_size
    with pytest.raises(AppError) as info:
        analyze(client, bad, compare_backwards=True)
    assert "not a video" in str(info.value)
    with pytest.raises(AppError, match="Upload a clip"):
        client.predict(None, api_name="/analyze")
    with open(app_server.log, encoding="utf-8", errors="replace") as log:
        log.seek(logged)
        lines = log.read().splitlines()
    refusals = [line for line in lines if "refused a request" in line]
    assert len(refusals) == 2 and "not a video" in refusals[0] and "Upload a clip" in refusals[1], lines
    assert not any("Traceback" in line for line in lines), lines  # a person's mistake is not a server fault

    out = analyze(client, clip, ratio=0.5, top_k=2)  # the server still works
    assert len(_confidences(out[0])) == 2
    assert not out[1]  # the backwards top-k was not asked for: empty, not an update
    text = out[5].replace("**", "")
    assert f"visible {visible_tokens(0.5)}" in text


def test_download_all_holds_what_it_lists(tmp_path):
    """The zip of one analysis: every figure, the side-by-side video and analysis.json, which lists them."""
    import zipfile

    from videomae_viz.pipeline import Settings
    from videomae_viz.ui.attention import default_query
    from videomae_viz.ui.lab import download_all
    from videomae_viz.ui.limits import Session
    from videomae_viz.ui.presets import get_pipeline

    pipeline = get_pipeline("embedded")
    example = ROOT / "assets" / "examples" / "00_moving_left.mp4"
    settings = Settings(mask_ratio=0.75, seed=2)
    session = Session(preset="embedded", settings=settings, analysis=pipeline.analyze(example, settings),
                      query=default_query(pipeline), clip=example.name)
    with zipfile.ZipFile(download_all(session, progress=lambda *args, **kwargs: None)) as bundle:
        names = set(bundle.namelist())
        record = json.loads(bundle.read("analysis.json"))
        assert bundle.read("side_by_side.mp4")[4:8] == b"ftyp" and bundle.read("attention.png")[:4] == b"\x89PNG"
    assert names == set(record["files"]) | {"analysis.json"}
    assert {"original.png", "masked.png", "prediction.png", "reconstruction.png", "interpolation.png",
            "side_by_side.mp4", "attention.png", "relevance.png"} <= names
    assert record["clip"] == example.name and record["mask_ratio"] == 0.75
    assert record["reconstruction"]["psnr"] == round(session.analysis.reconstruction.psnr, 3)


def test_link_settings_are_read_and_bad_ones_reported():
    from videomae_viz.ui.links import read

    values, notices = read({"masking": "random", "ratio": "0.75", "seed": "3", "preset": "embedded"})
    assert values == {"masking": "random", "ratio": 0.75, "seed": 3, "preset": "embedded"} and notices == []
    values, notices = read({"view": "rollout", "layer": "3", "head": "2", "query": "1,2,3"})
    assert values == {"view": "rollout", "layer": 3, "head": "2", "query": "1,2,3"} and notices == []
    values, notices = read({"masking": "spiral", "ratio": "2", "seed": "-1", "zoom": "4", "example": "../x.mp4",
                            "view": "x-ray", "layer": "99", "head": "17", "query": "1,2"})
    assert values == {} and len(notices) == 9


@pytest.mark.browser
def test_browser_opens_a_lesson_link_and_runs_with_it(app_url):
    from playwright.sync_api import expect, sync_playwright

    example = json.loads((ROOT / "assets" / "examples" / "index.json").read_text())[0]["file"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{app_url}?masking=random&ratio=0.75&seed=3&example={example}&zoom=2&view=query+patch&layer=2"
                      "&head=2&query=1,2,3",
                      wait_until="domcontentloaded", timeout=60_000)
            expect(page.get_by_role("radio", name="random")).to_be_checked(timeout=30_000)
            expect(page.locator("#link-notice")).to_contain_text("'zoom' is not a setting")
            page.locator("#video video").wait_for(state="attached", timeout=30_000)  # the example clip is loaded
            page.locator("#run").click()
            expect(page.locator("#counters")).to_contain_text(f"visible {REC_SLICES * PER_SLICE - int(0.75 * REC_SLICES * PER_SLICE)} ",
                                                              timeout=60_000)
            # the attention view of the link survives the analysis: query patch, layer 2, the linked patch
            page.get_by_role("tab", name="Attention").click()
            expect(page.get_by_role("radio", name="query patch")).to_be_checked(timeout=30_000)
            expect(page.get_by_label("number input for Layer (up to the model's depth)")).to_have_value("2")
            page.get_by_text("More settings").click()
            page.locator("#copy-link").click()
            link = page.locator("#link textarea")
            expect(link).to_have_value(re.compile(r"masking=random.*|.*masking=random"), timeout=10_000)
            value = link.input_value()
            assert "ratio=0.75" in value and "seed=3" in value and f"example={example}" in value, value
            assert "view=query+patch" in value and "layer=2" in value and "query=1%2C2%2C3" in value, value
            assert "head=2" in value, value
        finally:
            browser.close()
