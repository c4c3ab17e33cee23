"""API-only endpoints for programs: ``/analyze_json`` (the CLI's JSON record of one clip, plus download URLs) and
``/compare_masking`` (the clip's reconstruction under every masking strategy)."""

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


def _clip_path(video: FileData | dict | None) -> str:
    path = video.path if isinstance(video, FileData) else (video or {}).get("path")
    if not path:
        raise refuse("Upload a clip first.")
    return path


def analyze_json(video: FileData, preset: str = DEFAULT_PRESET, mask_ratio: float = 0.9, masking: str = "tube",
                 seed: int = 0, top_k: int = 5, start: float | None = None, end: float | None = None,
                 stride: int | None = None, stats: str = STATS_LEAK_FREE, play_backwards: bool = False,
                 attention: bool = True) -> dict:
    """Analyse one uploaded clip as ``videomae-viz --out`` does -> the same JSON object (same keys, same numbers),
    with ``urls``: for each written file, the path to download it from this server (relative to its address).
    Settings are keywords with the CLI's defaults; no segment means the whole clip, no stride the preset's
    sampling."""
    path = _clip_path(video)
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


def compare_masking(video: FileData, preset: str = DEFAULT_PRESET, mask_ratio: float = 0.9, seed: int = 0,
                    start: float | None = None, end: float | None = None, stride: int | None = None,
                    stats: str = STATS_LEAK_FREE) -> dict:
    """The clip under tube, random, frame and running-cell masking at one ratio and seed -> {strategy: {"psnr",
    "baseline_psnr", "interpolation_psnr", "copy_psnr" (null where nothing can be copied), "visible_tokens",
    "views"}}, the numbers ``videomae-viz --masking STRATEGY`` prints for the same settings."""
    path = _clip_path(video)
    pipeline = get_pipeline(preset)
    try:
        settings = Settings(mask_ratio=mask_ratio, seed=seed, start=start, end=end, stride=stride, stats=stats,
                            attention=False)
        clip = pipeline.decode(path, settings)
        pixel_values = pipeline.reconstructor_processor(clip.frames)["pixel_values"]
        results = pipeline.compare_masking(pixel_values, settings)
    except (VideoReadError, ValueError, CheckpointError) as err:
        raise refuse(str(err)) from None
    return {name: {key: None if value is None else (round(value, 3) if isinstance(value, float) else value)
                   for key, value in values.items()} for name, values in results.items()}
