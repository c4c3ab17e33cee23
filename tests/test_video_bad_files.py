"""video_io on files that are not good videos: each fails with a clear reason or gives the frames it can."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.clips import (
    assert_frames_match_indices,
    write_audio,
    write_blanked_payload,
    write_clip,
    write_image,
    write_truncated,
    write_unknown_codec,
    write_y4m_header,
)
from videomae_viz.video_io import VideoReadError, read_video

# --- bad inputs ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mp4s(tmp_path_factory) -> dict[str, Path]:
    """A small MP4 with its index at the end (the default) and one with it at the front (faststart)."""
    folder = tmp_path_factory.mktemp("mp4s")
    return {
        "moov-at-end": write_clip(folder / "end.mp4", n_frames=100, size=(160, 120)),
        "faststart": write_clip(
            folder / "front.mp4", n_frames=100, size=(160, 120), container_options={"movflags": "+faststart"}
        ),
    }


def _bad_file(kind: str, folder: Path, mp4s: dict[str, Path]) -> Path:
    target = folder / "upload.mp4"
    if kind == "empty":
        target.write_bytes(b"")
    elif kind == "random bytes":
        target.write_bytes(np.random.default_rng(0).bytes(20_000))
    elif kind == "text":
        target.write_text("This is not a video.\n" * 50)
    elif kind in ("PNG", "JPEG", "WebP", "BMP", "TIFF"):
        write_image(target, kind)
    elif kind == "AAC audio":
        write_audio(folder / "upload.m4a", "aac").rename(target)
    elif kind == "MP3 audio":
        write_audio(folder / "upload.mp3", "mp3").rename(target)
    elif kind == "WAV audio":
        write_audio(folder / "upload.wav", "pcm_s16le").rename(target)
    elif kind == "MP3 with cover art":
        write_audio(folder / "upload.mp3", "mp3", cover=True).rename(target)
    elif kind == "truncated (index at the end)":
        write_truncated(mp4s["moov-at-end"], target, 0.5)
    elif kind == "truncated inside the index":
        write_truncated(mp4s["faststart"], target, 0.05)
    elif kind == "no decodable frame":
        write_blanked_payload(mp4s["faststart"], target)
    elif kind == "absurd dimensions":
        write_y4m_header(target, 16000, 16000)
    elif kind == "absurd aspect":
        write_y4m_header(target, 20000, 8)
    elif kind == "unknown codec":
        write_unknown_codec(folder / "upload.avi").rename(target)
    elif kind == "folder":
        target.mkdir()
    elif kind != "missing":
        raise AssertionError(kind)
    return target


BAD_FILES = {
    "empty": "the file is empty",
    "random bytes": "not a video: the file format was not recognised",
    "text": "not a video: it is a text file",
    "PNG": "not a video: it is a PNG image",
    "JPEG": "not a video: it is a JPEG image",
    "WebP": "not a video: it is a WebP image",
    "BMP": "not a video: it is a BMP image",
    "TIFF": "not a video: it is a TIFF image",
    "AAC audio": "no video stream (audio only)",
    "MP3 audio": "no video stream (audio only)",
    "WAV audio": "no video stream (audio only)",
    "MP3 with cover art": "no video stream (audio with a cover picture)",
    "truncated (index at the end)": "the file is truncated or corrupt",
    "truncated inside the index": "the file is truncated or corrupt",
    "no decodable frame": "the file is truncated or corrupt: no frame could be decoded",
    "absurd dimensions": "absurd dimensions: 16000x16000",
    "absurd aspect": "absurd dimensions: 20000x8",
    "unknown codec": "unsupported codec",
    "folder": "it is a folder, not a video file",
    "missing": "the file does not exist",
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_input_raises_a_clear_reason(tmp_path, mp4s, kind):
    path = _bad_file(kind, tmp_path, mp4s)
    with pytest.raises(VideoReadError) as caught:
        read_video(path)
    message = str(caught.value)
    assert message.startswith(BAD_FILES[kind])
    assert "\n" not in message and "Errno" not in message and len(message) < 160


def test_half_of_a_faststart_mp4_gives_frames_from_the_part_that_decodes(tmp_path, mp4s):
    path = write_truncated(mp4s["faststart"], tmp_path / "half.mp4", 0.5)
    clip = read_video(path, 8)
    assert clip.frames.shape == (8, 120, 160, 3)
    assert_frames_match_indices(clip)
    assert len(set(clip.indices)) == 8 and list(clip.indices) == sorted(clip.indices)
    assert clip.indices[-1] < 60  # the second half is gone...
    assert clip.indices[-1] - clip.indices[0] > 15  # ...but the samples spread over what is left
    assert len(clip.notes) == 1 and clip.notes[0].startswith("the file seems truncated")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_files_give_frames_or_video_read_error(tmp_path, mp4s, data):
    """Nothing but VideoReadError escapes, whatever bytes are flipped or cut."""
    source = mp4s[data.draw(st.sampled_from(sorted(mp4s)))].read_bytes()
    damaged = bytearray(source[: data.draw(st.integers(1, len(source)))])
    for _ in range(data.draw(st.integers(0, 20))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path / "damaged.mp4"
    path.write_bytes(bytes(damaged))
    try:
        clip = read_video(path, 4, timeout=10)
    except VideoReadError as err:
        assert str(err) and "\n" not in str(err)
    else:
        assert clip.frames.shape[0] == 4 and clip.frames.ndim == 4 and clip.frames.dtype == np.uint8
        assert len(clip.indices) == len(clip.times) == 4


