"""Each preset samples frames as its models were trained, unless the user gives a stride or a segment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.tiny import save_tiny_pair
from videomae_viz.pipeline import PRESETS, SPREAD, Settings, VideoMAEPipeline
from videomae_viz.video_io import sample_indices, write_mp4


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[Path, Path, Path, Path]:
    """Tiny classifier and reconstructor folders (4 frames each), a 100-frame clip and a 10-frame clip."""
    folder = tmp_path_factory.mktemp("sampling")
    classifier, reconstructor = save_tiny_pair(folder / "models")
    frames = np.zeros((100, 32, 32, 3), np.uint8)
    frames[..., 0] = np.arange(100, dtype=np.uint8)[:, None, None] * 2
    long = write_mp4(frames, folder / "long.mp4", fps=25)
    short = write_mp4(frames[:10], folder / "short.mp4", fps=25)
    return Path(classifier), Path(reconstructor), long, short


def test_every_preset_says_how_it_samples():
    assert PRESETS["videomae-base-kinetics"].stride == 4 and PRESETS["videomae-base-ssv2"].stride is None
    assert all(preset.sampling for preset in PRESETS.values())


def test_the_preset_stride_is_the_default(clips):
    classifier, reconstructor, long, _ = clips
    strided = VideoMAEPipeline(str(classifier), str(reconstructor), stride=4)
    clip = strided.decode(long, Settings())
    assert clip.indices == tuple(sample_indices(100, 4, stride=4)) and clip.notes == ()
    spread = VideoMAEPipeline(str(classifier), str(reconstructor))
    assert spread.decode(long, Settings()).indices == tuple(sample_indices(100, 4))


def test_a_stride_or_a_segment_the_user_gives_wins(clips):
    classifier, reconstructor, long, _ = clips
    pipeline = VideoMAEPipeline(str(classifier), str(reconstructor), stride=4)
    assert pipeline.decode(long, Settings(stride=10)).indices == tuple(sample_indices(100, 4, stride=10))
    assert pipeline.decode(long, Settings(stride=SPREAD)).indices == tuple(sample_indices(100, 4))
    segment = pipeline.decode(long, Settings(start=1.0, end=2.0))
    assert segment.indices == tuple(sample_indices(100, 4, start=25, end=50))


def test_a_clip_too_short_for_the_preset_stride_is_spread_evenly(clips):
    classifier, reconstructor, _, short = clips
    pipeline = VideoMAEPipeline(str(classifier), str(reconstructor), stride=4)
    clip = pipeline.decode(short, Settings())  # 10 frames; 4 frames 4 apart need 13
    assert clip.indices == tuple(sample_indices(10, 4))
    assert "spread evenly" in clip.notes[0]
    asked = pipeline.decode(short, Settings(stride=4))  # a stride the user asked for is kept, frames repeated
    assert asked.indices == tuple(sample_indices(10, 4, stride=4))


def test_a_negative_stride_is_refused():
    with pytest.raises(ValueError, match="stride"):
        Settings(stride=-1)
