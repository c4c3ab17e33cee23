"""Symmetric views: every combination of the declared views, read back in the clip's own labels, averaged."""

from __future__ import annotations

import pytest
import torch

from tests.tiny import TINY, pixel_values, randomize
from videomae_viz.config import CLASSIFICATION, SYMMETRIES_KEY, VideoMAEConfig
from videomae_viz.embedded.train import SYMMETRIES
from videomae_viz.model import VideoMAEForVideoClassification
from videomae_viz.views import VIEWS, symmetric_views, view_average

CONFIG = TINY.replace(architectures=(CLASSIFICATION,), id2label={i: str(i) for i in range(8)},
                      extra={SYMMETRIES_KEY: SYMMETRIES})


@pytest.fixture(scope="module")
def model() -> VideoMAEForVideoClassification:
    return randomize(VideoMAEForVideoClassification(CONFIG)).eval()


def averaged(model: VideoMAEForVideoClassification, x: torch.Tensor, symmetries: dict) -> torch.Tensor:
    views, maps = symmetric_views(x, symmetries, CONFIG.num_labels)
    with torch.inference_mode():
        return view_average(model(views).logits, maps)


def test_views_are_all_distinct_with_the_clip_first():
    x = pixel_values(CONFIG, batch=2)
    views, maps = symmetric_views(x, CONFIG.label_symmetries, 8)
    assert views.shape == (16, *x.shape[1:]) and maps.shape == (8, 8)
    assert torch.equal(views[:2], x) and torch.equal(maps[0], torch.arange(8))
    assert len({tuple(v.flatten()[:64].tolist()) for v in views[::2]}) == 8  # the 8 elements of the square's group
    for row in maps:
        assert sorted(row.tolist()) == list(range(8))


def test_the_average_answers_a_view_with_its_mapped_labels(model):
    """Exact for any weights: a view of the clip has the same set of views, so its averaged answer is the clip's,
    with the labels mapped. This fails when the label maps do not compose as the views do (whether each map is
    right about the motions is checked on the embedded model, in test_embedded)."""
    x = pixel_values(CONFIG, batch=2)
    clip = averaged(model, x, CONFIG.label_symmetries)
    assert torch.allclose(clip.sum(dim=-1), torch.ones(2), atol=1e-6)
    for name, perm in CONFIG.label_symmetries.items():
        view = averaged(model, VIEWS[name](x), CONFIG.label_symmetries)
        assert torch.allclose(view[:, list(perm)], clip, atol=1e-6), name
        assert not torch.allclose(view, clip, atol=1e-3)  # the labels did move


def test_without_symmetries_it_is_one_forward_pass(model):
    x = pixel_values(CONFIG, batch=3)
    with torch.inference_mode():
        expected = model(x).logits.softmax(dim=-1)
    assert torch.allclose(averaged(model, x, {}), expected, atol=1e-6)


def test_bad_symmetries_are_refused():
    with pytest.raises(ValueError, match="not a permutation"):
        _ = CONFIG.replace(extra={SYMMETRIES_KEY: {"flip_width": [0, 0, 1, 2, 3, 4, 5, 6]}}).label_symmetries
    with pytest.raises(ValueError, match="unknown views spin"):
        symmetric_views(pixel_values(CONFIG), {"spin": tuple(range(8))}, 8)


def test_symmetries_round_trip_through_config_json(tmp_path):
    CONFIG.save(tmp_path / "config.json")
    assert VideoMAEConfig.from_json_file(tmp_path / "config.json").label_symmetries == CONFIG.label_symmetries
