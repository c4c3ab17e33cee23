"""``/analyze_json``, an API-only endpoint for programs: the CLI's JSON record of one clip, plus download URLs."""

from __future__ import annotations

from pathlib import Path

from gradio import processing_utils, utils
from gradio.data_classes import FileData

from ..checkpoints import CheckpointError
from ..cli import run_clip
from ..pipeline import DEFAULT_PRESET, Settings, TimeLimitError
from ..reconstruction import STATS_LEAK_FREE
from ..video_io import VideoReadError
from .errors import refuse
from .limits import request_folder, request_seconds
from .presets import get_pipeline


def analyze_json(video: FileData, preset: str = DEFAULT_PRESET, mask_ratio: float = 0.9, masking: str = "tube",
                 seed: int = 0, top_k: int = 5, start: float | None = None, end: float | None = None,
                 stride: int | None = None, stats: str = STATS_LEAK_FREE, play_backwards: bool = False,
                 attention: bool = True) -> dict:
    """Analyse one uploaded clip as ``videomae-viz --out`` does -> the same JSON object (same keys, same numbers),
    with ``urls``: for each written file, the path to download it from this server (relative to its address).
    Settings are keywords with the CLI's defaults; no segment means the whole clip, no stride the preset's
    sampling."""
    path = video.path if isinstance(video, FileData) else (video or {}).get("path")
    if not path:
        raise refuse("Upload a clip first.")
    pipeline = get_pipeline(preset)
    try:
        settings = Settings(mask_ratio=mask_ratio, masking=masking, seed=seed, top_k=top_k, start=start, end=end,
                            stride=stride, stats=stats, play_backwards=play_backwards, attention=attention)
        record = run_clip(pipeline, path, settings, request_folder(), time_limit=request_seconds())
    except (VideoReadError, ValueError, CheckpointError, TimeLimitError) as err:
        raise refuse(str(err)) from None
    cache = utils.get_upload_folder()  # Gradio's cache, the only place it serves files from
    record["urls"] = {name: "gradio_api/file=" + processing_utils.save_file_to_cache(Path(file), cache)
                      for name, file in record["outputs"].items()}
    return record
