"""The workshop panels without a browser: the drawn mask (through the pipeline's own reconstruction), the guided
lesson's steps, the example gallery, and the pieces they draw with."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from tests.tiny import save_tiny_pair
from videomae_viz import explain
from videomae_viz.masking import drawn_mask, make_mask
from videomae_viz.patches import cell_motion
from videomae_viz.pipeline import Settings
from videomae_viz.render import shade_cells, tokens_row, topk_figure

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "assets" / "examples" / "real_cup.mp4"


def test_drawn_mask_is_a_tube_in_token_order():
    cells = torch.zeros(3, 4, dtype=torch.bool)
    cells[1, 2] = cells[0, 0] = True
    mask = drawn_mask(cells, slices=2)  # (N,) = (2 * 3 * 4,)
    assert mask.dtype == torch.bool and mask.shape == (24,)
    assert mask.reshape(2, 3, 4).equal(cells.expand(2, 3, 4))
    # a tube mask made by make_mask is its own drawing: the same cells give the same tokens
    tube = make_mask("tube", (2, 3, 4), 0.5, seed=7)
    assert drawn_mask(tube.reshape(2, 3, 4)[0], 2).equal(tube)
    with pytest.raises(ValueError, match="2-D bool"):
        drawn_mask(cells.float(), 2)


def test_cell_motion_finds_the_moving_patch():
    frames = torch.zeros(4, 16, 16, 3, dtype=torch.uint8)
    for t in range(4):
        frames[t, 8:16, 0:8] = 60 * t  # the bottom-left 8 x 8 cell brightens by 60 a frame
    motion = cell_motion(frames, patch=8)
    assert motion.shape == (2, 2)
    assert motion[1, 0] == pytest.approx(60.0) and motion.flatten()[[0, 1, 3]].eq(0).all()


def test_shade_cells_washes_only_the_hidden_cells():
    image = np.full((16, 24, 3), 200, np.uint8)
    cells = np.zeros((2, 3), bool)
    cells[0, 1] = True
    out = shade_cells(image, cells, cell=8)
    assert (out[:8, 8:16] < 200).all() and (out[:8, :8] == 200).all() and (out[8:] == 200).all()


def test_tokens_row_holds_exactly_the_visible_patches():
    grid, patch, tubelet = (2, 2, 2), 4, 2
    frames = np.zeros((4, 8, 8, 3), np.uint8)
    for n, (t, r, c) in enumerate(np.ndindex(*grid)):
        frames[t * tubelet, r * patch:(r + 1) * patch, c * patch:(c + 1) * patch] = 10 * (n + 1)
    mask = np.array([True, False, True, False, False, True, True, True])  # tokens 1, 3, 4 visible
    out = tokens_row(frames, mask, grid, tubelet, patch, columns=3, gap=1)
    assert out.shape == (4, 14, 3)  # 1 row x 3 tiles of 4 px, 1 px between
    assert [int(out[0, c * 5, 0]) for c in range(3)] == [20, 40, 50]


def test_topk_figure_lists_every_label():
    fig = topk_figure([("moving left", 0.7), ("growing", 0.2)], pooled_tokens=324)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["moving left", "growing"]
    assert "324" in ax.get_title() and len(ax.patches) == 2


def test_reconstruct_takes_a_drawn_mask_and_checks_it(tmp_path):
    from videomae_viz.pipeline import VideoMAEPipeline

    pipeline = VideoMAEPipeline(*save_tiny_pair(tmp_path), device="cpu")
    config = pipeline.reconstructor_config
    t, h, w = config.grid
    pixel_values = torch.randn(1, config.num_frames, 3, config.image_size, config.image_size)
    cells = torch.zeros(h, w, dtype=torch.bool)
    cells[0] = True
    rec = pipeline.reconstruct(pixel_values, Settings(), mask=drawn_mask(cells, t))
    assert rec.mask.equal(drawn_mask(cells, t)) and rec.psnr is not None
    generated = pipeline.reconstruct(pixel_values, Settings(masking="random", mask_ratio=0.5))
    assert not generated.mask.equal(rec.mask)
    with pytest.raises(ValueError, match="bool"):
        pipeline.reconstruct(pixel_values, Settings(), mask=torch.zeros(3, dtype=torch.bool))


@pytest.fixture(scope="module")
def session():
    """An analysis of a held-out real clip on the embedded default, as the page keeps it."""
    from videomae_viz.ui.attention import default_query
    from videomae_viz.ui.limits import Session
    from videomae_viz.ui.presets import get_pipeline

    pipeline = get_pipeline("embedded")
    settings = Settings(mask_ratio=0.75)
    return Session(preset="embedded", settings=settings, analysis=pipeline.analyze(EXAMPLE, settings),
                   query=default_query(pipeline), clip=EXAMPLE.name)


def _quiet(*args, **kwargs) -> None:
    """A stand-in for gr.Progress outside a request."""


def test_drawing_hides_what_moves_or_what_stays_and_reconstructs_through_the_pipeline(session):
    from videomae_viz.ui import draw
    from videomae_viz.ui.presets import get_pipeline

    pipeline = get_pipeline("embedded")
    t, h, w = pipeline.reconstructor_config.grid
    canvas, count, _ = draw.clear(session)
    assert Image.open(canvas).size[0] > w and count.startswith(f"0 of {h * w}")
    with pytest.raises(Exception, match="Hide some patches first"):
        draw.reconstruct_drawn(session, progress=_quiet)
    # one click on the top-left patch hides it
    draw.toggle(session, SimpleNamespace(index=(1, 1)))
    assert session.drawn[0, 0] and session.drawn.sum() == 1 and session.drawn_origin.endswith("edited by hand")
    results = {}
    for start in draw.STARTS:
        draw.start_with(start)(session)
        assert session.drawn.sum() == round(draw.START_SHARE * h * w) and session.drawn_origin == start
        picture, text, table = draw.reconstruct_drawn(session, progress=_quiet)
        results[start] = session.drawn_runs[-1]
        # the same numbers as the pipeline's reconstruction with that mask, and the run lands in the table
        pixel_values = pipeline.reconstructor_processor(session.analysis.clip.frames)["pixel_values"]
        rec = pipeline.reconstruct(pixel_values, session.settings, mask=drawn_mask(torch.from_numpy(session.drawn), t))
        assert f"**decoder** {rec.psnr:.2f} dB" in text and f"| {start} |" in table
        assert Image.open(picture).size[0] > 0
    moved, still = results[draw.STARTS[0]], results[draw.STARTS[1]]
    # on real footage of a moving hand and cup, the still half is easier to fill than the moving half
    assert still[3] > moved[3] and still[4] > moved[4]
    session.drawn[:] = True
    with pytest.raises(Exception, match="at least one patch visible"):
        draw.reconstruct_drawn(session, progress=_quiet)


def test_every_lesson_step_reveals_a_picture_and_an_answer_with_the_clips_numbers(session):
    from videomae_viz.ui.lesson import REVEALS, STEPS, questions
    from videomae_viz.ui.presets import get_pipeline

    config = get_pipeline("embedded").reconstructor_config
    asked = questions(session)
    assert len(asked) == len(STEPS) == len(explain.LESSON)
    assert str(config.num_patches) in asked[1] and "75%" in asked[1] and "{" not in "".join(asked)
    answers = []
    for step in range(len(STEPS)):
        picture, answer = REVEALS[step](session)
        assert Image.open(picture).size[0] > 100 and answer
        answers.append(answer)
    assert f"**{config.num_patches} tokens**" in answers[0]
    a = session.analysis
    assert f"**{a.visible_tokens} of {a.tokens} tokens**" in answers[1]
    share = config.encoder_flops(a.visible_tokens) / config.encoder_flops()
    assert f"**{share:.1%}**" in answers[2]
    assert "copying" in answers[3] and f"{a.reconstruction.psnr:.2f} dB" in answers[4]
    assert a.labels[0][0] in answers[6]
    with pytest.raises(Exception, match="Analyse a clip first"):
        REVEALS[0](None)


def test_the_gallery_shows_every_example_and_a_click_picks_its_clip():
    from videomae_viz.ui.presets import example_clips, example_thumbnails, pick_example

    examples = example_clips()
    thumbnails = example_thumbnails(examples)
    assert len(thumbnails) == len(examples) >= 3
    assert [caption for _, caption in thumbnails[:3]] == ["real cup", "real tree", "photo building"]
    assert max(Image.open(thumbnails[0][0]).size) <= 160
    assert pick_example(examples)(SimpleNamespace(index=1)) == examples[1][0]


def test_the_lesson_says_so_when_nothing_is_hidden(session):
    import dataclasses

    from videomae_viz.ui.lesson import NEED_A_MASK, REVEALS, STEPS
    from videomae_viz.ui.presets import get_pipeline

    pipeline = get_pipeline("embedded")
    settings = Settings(mask_ratio=0.0)
    unmasked = dataclasses.replace(session, settings=settings, analysis=pipeline.analyze(EXAMPLE, settings))
    for step, handler in zip(STEPS, REVEALS):
        if step in NEED_A_MASK:
            with pytest.raises(Exception, match="Nothing is hidden"):
                handler(unmasked)
        else:
            assert handler(unmasked)[1]


def test_a_room_clicking_the_same_example_waits_once(monkeypatch, tmp_path):
    """The same clip (by its bytes) with the same settings comes from the cache; other settings are computed."""
    import shutil

    from videomae_viz.ui import classify
    from videomae_viz.ui.presets import get_pipeline

    pipeline = get_pipeline("embedded")
    calls = []
    real = type(pipeline).analyze
    monkeypatch.setattr(type(pipeline), "analyze", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    monkeypatch.setattr(classify, "ANALYSES", classify.AnalysisCache(2))
    copy = tmp_path / "another-name.mp4"
    shutil.copy(EXAMPLE, copy)
    first = classify.analyze(str(EXAMPLE), seed=5, progress=_quiet)
    second = classify.analyze(str(copy), seed=5, progress=_quiet)
    assert len(calls) == 1 and second[-1].cached and not first[-1].cached
    assert second[-1].analysis is first[-1].analysis and first[0] == second[0]
    assert "came from the cache" in second[5] and "cache" not in first[5]
    classify.analyze(str(EXAMPLE), seed=6, progress=_quiet)
    assert len(calls) == 2


def test_the_counters_say_what_a_small_classifier_can_answer(session):
    from videomae_viz.ui.lab import counters
    from videomae_viz.ui.presets import get_pipeline

    pipeline = get_pipeline("embedded")
    labels = list(pipeline.classifier_config.id2label.values())
    text = counters(pipeline, session)
    assert f"knows {len(labels)} only" in text and all(label in text for label in labels)
