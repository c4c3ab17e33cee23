"""video_io: frames sampled from every kind of video are the frames asked for; bad inputs fail with a clear reason."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.clips import (
    assert_frames_match_indices,
    bar_colours,
    pattern_frame,
    read_index,
    write_clip,
)
from videomae_viz import video_io
from videomae_viz.video_io import VideoReadError, read_video, sample_indices, sampler

X265 = {"x265-params": "log-level=none"}


# --- sample_indices -------------------------------------------------------------------------------------------------


def test_even_sampling_takes_segment_centres():
    assert sample_indices(160, 16) == list(range(5, 160, 10))
    assert sample_indices(100, 4) == [12, 37, 62, 87]
    assert sample_indices(16, 16) == list(range(16))


def test_even_sampling_within_a_segment():
    assert sample_indices(1000, 4, start=100, end=200) == [112, 137, 162, 187]
    assert sample_indices(1000, 1, start=10, end=11) == [10]


def test_stride_window_is_centred():
    indices = sample_indices(100, 16, stride=4)
    assert np.diff(indices).tolist() == [4] * 15
    assert indices[0] == (100 - 61) // 2 and indices[-1] == indices[0] + 60
    assert sample_indices(1000, 4, start=100, end=120, stride=2) == [106, 108, 110, 112]  # 7 of 20 frames, centred


def test_stride_too_long_repeats_the_strided_frames_in_order():
    indices = sample_indices(40, 16, stride=4)  # 61 frames needed, 10 frames 4 apart exist
    assert indices == sorted(indices)
    assert sorted(set(indices)) == list(range(indices[0], 40, 4))
    assert len(set(indices)) == 10


def test_short_clip_repeats_frames_in_time_order():
    assert sample_indices(5, 16) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert sample_indices(1, 16) == [0] * 16


@given(
    n=st.integers(1, 5000),
    k=st.integers(1, 64),
    stride=st.one_of(st.none(), st.integers(1, 8)),
    data=st.data(),
)
def test_sample_indices_properties(n, k, stride, data):
    start = data.draw(st.integers(0, n - 1))
    end = data.draw(st.integers(start + 1, n))
    indices = sample_indices(n, k, start=start, end=end, stride=stride)
    assert len(indices) == k
    assert indices == sorted(indices)
    assert all(start <= i < end for i in indices)
    needed = k if stride is None else (k - 1) * stride + 1
    if end - start >= needed:
        assert len(set(indices)) == k


@pytest.mark.parametrize(
    "args, kwargs",
    [((0, 16), {}), ((10, 0), {}), ((10, 4), {"start": 5, "end": 5}), ((10, 4), {"end": 11}), ((10, 4), {"stride": 0})],
)
def test_sample_indices_rejects_bad_arguments(args, kwargs):
    with pytest.raises(ValueError):
        sample_indices(*args, **kwargs)


# --- formats ---------------------------------------------------------------------------------------------------------

FORMATS = {
    "h264.mp4": {},
    "h264-with-audio.mp4": {"audio": True},
    "h264-with-audio.mkv": {"audio": True},
    "hevc.mp4": {"codec": "libx265", "options": X265},
    "hevc.mkv": {"codec": "libx265", "options": X265},
    "vp9.webm": {"codec": "libvpx-vp9"},
    "mjpeg.avi": {"codec": "mjpeg", "pix_fmt": "yuvj420p"},
    "animation.gif": {"codec": "gif", "pix_fmt": "rgb8"},
    "h264-10bit.mp4": {"pix_fmt": "yuv420p10le"},
    "hevc-10bit.mkv": {"codec": "libx265", "pix_fmt": "yuv420p10le", "options": X265},
    "h264-444.mp4": {"pix_fmt": "yuv444p"},
    "gray-ffv1.mkv": {"codec": "ffv1", "pix_fmt": "gray"},
    "gray-h264.mp4": {"pix_fmt": "gray"},
    "odd-97x61-h264.mp4": {"size": (97, 61), "pix_fmt": "yuv444p"},
    "odd-97x61-ffv1.mkv": {"size": (97, 61), "codec": "ffv1"},
    "odd-97x61-mjpeg.avi": {"size": (97, 61), "codec": "mjpeg", "pix_fmt": "yuvj444p"},
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_gives_the_sampled_frames(tmp_path, name):
    spec = FORMATS[name]
    width, height = spec.get("size", (64, 48))
    path = write_clip(tmp_path / name, n_frames=40, **spec)
    clip = read_video(path, 8)
    assert clip.frames.shape == (8, height, width, 3) and clip.frames.dtype == np.uint8
    assert clip.frames.flags.c_contiguous
    assert clip.indices == tuple(sample_indices(40, 8))
    assert_frames_match_indices(clip)
    assert clip.times == pytest.approx([i / 25 for i in clip.indices], abs=1e-3)
    assert clip.fps == pytest.approx(25)
    assert clip.duration == pytest.approx(40 / 25, abs=0.05)
    assert clip.source_size == (width, height)
    assert clip.notes == ()
    colours = bar_colours(clip.frames[0])
    if "gray" in name:
        assert np.ptp(colours, axis=1).max() < 4  # no colour at all, but still RGB
    else:
        assert (colours.argmax(axis=1) == [0, 1, 2]).all()  # red, green, blue: RGB order
        assert (colours.max(axis=1) > 180).all()


@pytest.mark.parametrize("name, spec", [("raw.h264", {}), ("live.webm", {"codec": "libvpx-vp9", "seekable": False})])
def test_stream_without_duration_or_frame_count(tmp_path, name, spec):
    """A raw H.264 stream, or a WebM recorded live (as browsers do), has no duration and no frame count: the packets
    are counted first."""
    path = write_clip(tmp_path / name, n_frames=50, **spec)
    with av.open(str(path)) as container:
        assert container.duration is None and container.streams.video[0].frames == 0
    clip = read_video(path, 5)
    assert clip.indices == tuple(sample_indices(50, 5))
    assert_frames_match_indices(clip)
    assert clip.duration == pytest.approx(2.0)


def test_gif_that_cannot_seek_is_decoded_in_order(tmp_path):
    """GIF seeks land at the start; far-apart targets must still come out right (decoded in order)."""
    path = write_clip(tmp_path / "long.gif", n_frames=300, codec="gif", pix_fmt="rgb8")
    clip = read_video(path, 4)
    assert clip.indices == tuple(sample_indices(300, 4))
    assert_frames_match_indices(clip)


# --- geometry --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_metadata_is_applied(tmp_path, rotation):
    path = write_clip(tmp_path / f"rotated{rotation}.mp4", n_frames=10, size=(64, 48), rotation=rotation)
    with av.open(str(path)) as container:
        assert next(container.decode(video=0)).rotation % 360 == rotation % 360
    clip = read_video(path, 4)
    turned = rotation % 180 != 0
    assert clip.frames.shape == ((4, 64, 48, 3) if turned else (4, 48, 64, 3))
    assert clip.source_size == ((48, 64) if turned else (64, 48))
    for frame, index in zip(clip.frames, clip.indices):
        expected = np.rot90(pattern_frame(index, 64, 48), rotation // 90)  # counter-clockwise, as displayed
        assert np.abs(frame.astype(int) - expected).mean() < 6
        upright = np.rot90(frame, -(rotation // 90))
        assert read_index(upright) == index
    assert clip.notes == (ROTATION_NOTES[rotation],)


ROTATION_NOTES = {
    90: "rotation metadata applied: the video is turned 90° counter-clockwise for display",
    -90: "rotation metadata applied: the video is turned 90° clockwise for display",
    180: "rotation metadata applied: the video is turned 180° for display",
}


def test_rotated_clip_is_downscaled_on_its_long_side(tmp_path):
    path = write_clip(tmp_path / "portrait.mp4", n_frames=2, size=(320, 240), rotation=-90)
    clip = read_video(path, 2, max_side=160)
    assert clip.frames.shape == (2, 160, 120, 3)
    assert clip.source_size == (240, 320)


def test_non_square_pixels_are_stretched_to_display_size(tmp_path):
    path = write_clip(tmp_path / "anamorphic.mp4", n_frames=4, size=(64, 48), sample_aspect_ratio=Fraction(2, 1))
    clip = read_video(path, 2)
    assert clip.frames.shape == (2, 48, 128, 3)
    assert clip.source_size == (128, 48)
    assert_frames_match_indices(clip)


def test_4k_frame_is_downscaled_in_the_decoder(tmp_path):
    path = write_clip(tmp_path / "uhd.mp4", n_frames=1, size=(3840, 2160), options={"preset": "ultrafast"})
    clip = read_video(path, 16, max_side=640)
    assert clip.frames.shape == (16, 360, 640, 3)
    assert clip.source_size == (3840, 2160)
    assert clip.indices == (0,) * 16
    assert_frames_match_indices(clip)
    assert (bar_colours(clip.frames[0]).argmax(axis=1) == [0, 1, 2]).all()


def test_small_frames_are_not_upscaled(tmp_path):
    path = write_clip(tmp_path / "small.mp4", n_frames=4, size=(64, 48))
    assert read_video(path, 2, max_side=640).frames.shape == (2, 48, 64, 3)


# --- sampling --------------------------------------------------------------------------------------------------------


def test_short_clip_repeats_frames_with_a_note(tmp_path):
    path = write_clip(tmp_path / "five.mp4", n_frames=5)
    clip = read_video(path, 16)
    assert clip.frames.shape[0] == 16
    assert clip.indices == tuple(sample_indices(5, 16))
    assert_frames_match_indices(clip)
    assert clip.notes == ("the clip has 5 frames; frames were repeated to make 16",)


def test_one_frame_video(tmp_path):
    path = write_clip(tmp_path / "one.webm", n_frames=1, codec="libvpx-vp9")
    clip = read_video(path, 16)
    assert clip.frames.shape == (16, 48, 64, 3)
    assert clip.indices == (0,) * 16 and clip.times == (0.0,) * 16
    assert (clip.frames == clip.frames[0]).all()
    assert clip.notes == ("the clip has 1 frame; frames were repeated to make 16",)


@pytest.fixture(scope="module")
def hundred(tmp_path_factory) -> Path:
    """100 frames at 25 fps (4 s), keyframe every 12 frames, B-frames."""
    return write_clip(tmp_path_factory.mktemp("hundred") / "hundred.mp4", n_frames=100, options={"g": "12"})


def test_segment_in_seconds(hundred):
    clip = read_video(hundred, 4, start=1.0, end=2.0)
    assert clip.indices == tuple(sample_indices(100, 4, start=25, end=50))
    assert_frames_match_indices(clip)
    assert all(1.0 <= t < 2.0 for t in clip.times)


def test_segment_to_the_end(hundred):
    clip = read_video(hundred, 4, start=3.0)
    assert clip.indices == tuple(sample_indices(100, 4, start=75))
    assert_frames_match_indices(clip)


def test_stride_sampling(hundred):
    clip = read_video(hundred, 16, stride=4)
    assert clip.indices == tuple(range(19, 80, 4))
    assert_frames_match_indices(clip)
    assert clip.notes == ()


def test_stride_longer_than_the_segment_repeats_with_a_note(hundred):
    clip = read_video(hundred, 16, start=0.0, end=1.6, stride=4)  # 40 frames, 61 needed
    assert clip.indices == tuple(sample_indices(100, 16, start=0, end=40, stride=4))
    assert_frames_match_indices(clip)
    assert clip.notes == ("the segment has 40 frames, too few for 16 frames 4 apart; frames were repeated to make 16",)


def test_a_default_stride_spreads_a_short_segment_evenly_instead(hundred):
    clip = read_video(hundred, 16, start=0.0, end=1.6, stride=4, spread_if_short=True)  # 40 frames, 61 needed
    assert clip.indices == tuple(sample_indices(100, 16, start=0, end=40))
    assert len(set(clip.indices)) == 16
    assert_frames_match_indices(clip)
    assert clip.notes == ("the clip is shorter than 16 frames 4 apart, so its frames were spread evenly over it",)
    long_enough = read_video(hundred, 16, stride=4, spread_if_short=True)
    assert long_enough.indices == tuple(range(19, 80, 4)) and long_enough.notes == ()


def test_segment_after_the_end_is_an_error(hundred):
    with pytest.raises(VideoReadError, match="after the end of the video"):
        read_video(hundred, 4, start=10.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_frames": 0},
        {"stride": 0},
        {"max_side": 0},
        {"timeout": 0},
        {"start": -1},
        {"start": 2, "end": 1},
        {"end": 0},
    ],
)
def test_bad_arguments_raise_value_error(hundred, kwargs):
    with pytest.raises(ValueError):
        read_video(hundred, **kwargs)


def test_long_gop_beyond_the_budget_keeps_the_nearest_frame_and_says_so(tmp_path, monkeypatch):
    path = write_clip(tmp_path / "one-gop.mp4", n_frames=200, options={"g": "1000", "bf": "0", "sc_threshold": "0"})
    monkeypatch.setattr(video_io.sampler, "FORWARD_BUDGET_PIXELS", 20 * 64 * 48)  # 20 frames per target
    clip = read_video(path, 4)
    assert_frames_match_indices(clip)  # honest: the indices are those of the frames returned
    requested = sample_indices(200, 4)
    assert all(got < want for got, want in zip(clip.indices, requested))
    assert any("keyframes are far apart" in note for note in clip.notes)


# --- the 10-minute clip ----------------------------------------------------------------------------------------------


def test_ten_minute_720p_clip_is_sampled_by_seeking(long_clip, monkeypatch):
    decoded = []
    next_frame = sampler._Sampler._next
    monkeypatch.setattr(sampler._Sampler, "_next", lambda self: decoded.append(1) or next_frame(self))
    clip = read_video(long_clip, 16)
    assert len(decoded) <= 16 * 60, f"{len(decoded)} frames decoded"  # at most a 2-second GOP per sampled frame
    assert clip.duration == pytest.approx(600.0) and clip.fps == pytest.approx(30.0)
    assert clip.frames.shape == (16, 360, 640, 3)
    assert clip.source_size == (1280, 720)
    requested = sample_indices(18000, 16)
    assert all(abs(got - want) <= 1 for got, want in zip(clip.indices, requested))
    assert_frames_match_indices(clip, modulo=60)
    assert clip.times == pytest.approx([i / 30 for i in clip.indices], abs=1e-3)


def test_ten_minute_clip_dense_window(long_clip):
    clip = read_video(long_clip, 16, start=300.0, end=310.0, stride=4)
    assert clip.indices == tuple(sample_indices(18000, 16, start=9000, end=9300, stride=4))
    assert_frames_match_indices(clip, modulo=60)


def test_timeout_is_enforced(long_clip):
    with pytest.raises(VideoReadError, match="longer than the 0.05 s limit"):
        read_video(long_clip, 16, timeout=0.05)
