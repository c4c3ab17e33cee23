"""write_mp4: H.264 MP4s that browsers play, with their frames and colours."""

from __future__ import annotations

import av
import numpy as np
import pytest

from videomae_viz.video_io import read_video, write_mp4

# --- write_mp4 -------------------------------------------------------------------------------------------------------


def _smooth_frames(count: int, height: int, width: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    frames = []
    for t in range(count):
        r = 128 + 100 * np.sin(xs / 9 + t / 3)
        g = 128 + 100 * np.cos(ys / 7 - t / 4)
        b = 60 + 40 * np.sin((xs + ys) / 11)
        frames.append(np.stack([r, g, b], axis=-1))
    return np.clip(np.array(frames), 0, 255).astype(np.uint8)


def test_write_mp4_round_trip(tmp_path):
    frames = _smooth_frames(12, 61, 97)
    path = write_mp4(frames, tmp_path / "out.mp4", fps=8)
    assert path == tmp_path / "out.mp4"
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.format.name == "yuv420p"
        assert (stream.width, stream.height) == (98, 62)
        assert stream.average_rate == 8 and stream.frames == 12
    clip = read_video(path, 12)
    assert clip.indices == tuple(range(12))
    assert clip.frames.shape == (12, 62, 98, 3)
    mse = ((clip.frames[:, :61, :97].astype(float) - frames) ** 2).mean()
    assert 10 * np.log10(255**2 / mse) > 32  # PSNR in dB; 4:2:0 chroma alone costs this pattern 36 dB
    assert np.abs(clip.frames[:, 61, :97].astype(int) - frames[:, 60]).mean() < 6  # padding repeats the edge row
    assert np.abs(clip.frames[:, :61, 97].astype(int) - frames[:, :, 96]).mean() < 6  # ...and column


def test_write_mp4_keeps_colours(tmp_path):
    colours = np.array([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)], np.uint8)
    frames = np.broadcast_to(colours[:, None, None, :], (5, 32, 48, 3))
    clip = read_video(write_mp4(frames, tmp_path / "colours.mp4"), 5)
    assert np.abs(clip.frames.reshape(5, -1, 3).mean(axis=1) - colours).max() < 6


@pytest.mark.parametrize(
    "frames", [np.zeros((4, 8, 8), np.uint8), np.zeros((4, 8, 8, 3), np.float32), np.zeros((0, 8, 8, 3), np.uint8)]
)
def test_write_mp4_rejects_bad_arrays(tmp_path, frames):
    with pytest.raises(ValueError):
        write_mp4(frames, tmp_path / "bad.mp4")
