"""The Analyse button: run the pipeline on the uploaded clip, classify it (top-k, and the clip played backwards
when asked) and fill every panel."""

from __future__ import annotations

import gradio as gr
import torch

from .. import explain
from ..checkpoints import CheckpointError
from ..pipeline import Settings, TimeLimitError
from ..render import displayed_panels, run_all
from ..video_io import VideoReadError
from .attention import attention_image, default_query, frame_strip
from .lab import counters, error_image, lab_image, side_by_side_video
from .limits import Session, request_folder, request_png, request_seconds
from .presets import get_pipeline


def analyze(video: str | None, preset: str, mask_ratio: float, masking: str, seed: float, start: float | None,
            end: float | None, stride: float | None, top_k: float, stats: str, compare_backwards: bool,
            progress: gr.Progress = gr.Progress()) -> tuple:
    """The main button: run the pipeline on the uploaded clip and render every panel."""
    if not video:
        raise gr.Error("Upload a clip or pick an example first.")
    pipeline = get_pipeline(preset)
    try:
        settings = Settings(mask_ratio=float(mask_ratio), masking=masking, seed=int(seed or 0), top_k=int(top_k),
                            start=start or None, end=end or None, stride=None if stride is None else int(stride),
                            stats=stats)
        analysis = pipeline.analyze(video, settings, progress=lambda f, desc: progress(f, desc=desc),
                                    time_limit=request_seconds())
    except (VideoReadError, ValueError, CheckpointError, TimeLimitError) as err:
        raise gr.Error(str(err)) from None
    folder = request_folder()
    session = Session(preset=preset, settings=settings, analysis=analysis, query=default_query(pipeline))
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
    heads = ["mean"] + [str(h + 1) for h in range(analysis.attention.num_heads)]
    label_names = [name for name, _ in analysis.labels]
    return (
        dict(analysis.labels),
        gr.update(value=reversed_labels, visible=compare_backwards),
        lab,
        video_file,
        error_file,
        counters(pipeline, session),
        strip_png,
        attn_png,
        gr.update(value="rollout"),
        gr.update(maximum=analysis.attention.num_layers, value=analysis.attention.num_layers),
        gr.update(choices=heads, value="mean"),
        gr.update(choices=label_names, value=label_names[0]),
        explain.ATTENTION["rollout"],
        session,
    )
