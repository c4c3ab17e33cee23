"""The Analyse button: run the pipeline on the uploaded clip, classify it (top-k, and the clip played backwards
when asked) and fill every panel."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import gradio as gr
import torch

from ..checkpoints import CheckpointError
from ..pipeline import DEFAULT_PRESET, Analysis, Settings, TimeLimitError
from ..reconstruction import STATS_LEAK_FREE
from ..render import displayed_panels, run_all
from ..video_io import VideoReadError, read_video
from .attention import attention_image, default_query, frame_strip
from .errors import refuse, tell
from .lab import counters, error_image, lab_image, side_by_side_video
from .limits import Session, request_folder, request_png, request_seconds
from .presets import get_pipeline

UPLOAD_CHECK_SECONDS = 10.0  # decoding one frame of an upload may take this long before it is refused
CACHED_ANALYSES = 4  # the last analyses kept, so a room clicking the same example waits once


class AnalysisCache:
    """The last few analyses by (preset, the clip's bytes, settings), filled lazily by the requests themselves:
    the gallery's examples are never analysed at start-up, and the second click on one costs only the rendering.
    An analysis is not changed after it is made (class relevance is added on demand, the same for everyone)."""

    def __init__(self, size: int) -> None:
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: tuple) -> Analysis | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key: tuple, analysis: Analysis) -> None:
        with self.lock:
            self.items[key] = analysis
            while len(self.items) > self.size:
                self.items.popitem(last=False)


ANALYSES = AnalysisCache(CACHED_ANALYSES)


def clip_digest(path: str) -> str:
    """SHA-256 of a clip's bytes: the same clip under any upload name is the same clip."""
    digest = hashlib.sha256()
    with open(path, "rb") as clip:
        for block in iter(lambda: clip.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_upload(video: str | None) -> str | None:
    """As soon as a clip is uploaded: a file the reader cannot decode gets its one-line reason and leaves the box
    (the browser's own "Video not playable" is silenced by ``layout.JS``); a good clip stays as it is."""
    if video:
        try:
            read_video(video, num_frames=1, timeout=UPLOAD_CHECK_SECONDS)
        except VideoReadError as err:
            tell(str(err))
            return None
    return gr.skip()


def analyze(video: str | None, preset: str = DEFAULT_PRESET, mask_ratio: float = 0.9, masking: str = "tube",
            seed: float = 0, start: float | None = None, end: float | None = None, stride: float | None = None,
            top_k: float = 5, stats: str = STATS_LEAK_FREE, compare_backwards: bool = False,
            progress: gr.Progress = gr.Progress()) -> tuple:
    """The main button and the ``/analyze`` endpoint: run the pipeline on the uploaded clip and render every panel.
    Only the clip is required: no segment means the whole clip, no stride the preset's sampling. Returns the top-k,
    the top-k of the clip played backwards (None unless ``compare_backwards``), the lab grid, the side-by-side video,
    the error map, the counters, the frame strip, the attention map and the session (the page's state)."""
    if not video:
        raise refuse("Upload a clip or pick an example first.")
    progress(0.0, desc=f"preparing the {preset} models (their first use loads the weights; a hub preset may download them)")
    pipeline = get_pipeline(preset)
    try:
        settings = Settings(mask_ratio=float(mask_ratio), masking=masking, seed=int(seed or 0), top_k=int(top_k),
                            start=start or None, end=end or None, stride=None if stride is None else int(stride),
                            stats=stats)
        key = (preset, clip_digest(video), settings)
        analysis = ANALYSES.get(key)
        cached = analysis is not None
        if not cached:
            analysis = pipeline.analyze(video, settings, progress=lambda f, desc: progress(f, desc=desc),
                                        time_limit=request_seconds())
            ANALYSES.put(key, analysis)
    except (VideoReadError, ValueError, CheckpointError, TimeLimitError) as err:
        raise refuse(str(err)) from None
    folder = request_folder()
    session = Session(preset=preset, settings=settings, analysis=analysis, query=default_query(pipeline),
                      clip=Path(video).name, cached=cached)
    reversed_labels = None
    if compare_backwards:
        with torch.inference_mode():
            labels, _ = pipeline.classify(analysis.classifier_input.flip(1), settings.top_k)
        reversed_labels = dict(labels)
    progress(0.9, desc="rendering")
    views = displayed_panels(analysis.frames, analysis.predicted, analysis.pixel_mask, analysis.interpolated)
    strip = frame_strip(pipeline, analysis)
    attn_png, error_file, video_file, lab, strip_png = run_all([  # figures first: they hold the GIL
        lambda: attention_image(pipeline, session, "rollout", analysis.attention.num_layers, "mean", None, folder),
        lambda: error_image(pipeline, analysis, folder),
        lambda: side_by_side_video(views, settings.mask_ratio, folder),
        lambda: lab_image(views, folder),
        lambda: request_png(strip.image(analysis.classifier_frames, pipeline.classifier_config.tubelet_size,
                                        session.query), folder, "strip"),
    ])
    return (dict(analysis.labels), reversed_labels, lab, video_file, error_file, counters(pipeline, session), strip_png,
            attn_png, session)


def attention_controls(session: Session, compare_backwards: bool, layer: float, head: str) -> tuple:
    """After an analysis, on the page only: show the backwards top-k when asked, and fit the attention controls to
    this model (its layers, heads and top-k classes), keeping the layer and head the page had where the model has
    them (``attention.restore_view`` then redraws the view)."""
    maps, labels = session.analysis.attention, [name for name, _ in session.analysis.labels]
    heads = ["mean"] + [str(h + 1) for h in range(maps.num_heads)]
    return (gr.update(visible=compare_backwards),
            gr.update(maximum=maps.num_layers, value=min(int(layer), maps.num_layers)),
            gr.update(choices=heads, value=head if head in heads else "mean"),
            gr.update(choices=labels, value=labels[0]))
