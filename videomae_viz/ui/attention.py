"""The attention panel: the frame strip to click a query patch on, and the attention maps (query patch,
attention received, rollout, class relevance) redrawn from the cached analysis."""

from __future__ import annotations

import uuid
from pathlib import Path

import gradio as gr
import numpy as np

from .. import explain
from ..attention import own_slice_share
from ..pipeline import Analysis, VideoMAEPipeline
from ..render import Strip, display_factor, figure_to_array, heatmap_figure, layer_head_figure
from .errors import refuse
from .limits import Session, request_folder, request_png
from .presets import get_pipeline

MODES = tuple(explain.ATTENTION)
MAX_LAYERS = 24  # the deepest preset's encoder (ViT-L): the layer slider's range before a model is known
MAX_HEADS = 16  # the most heads of a preset (ViT-L): the head choices before a model is known


def frame_strip(pipeline: VideoMAEPipeline, analysis: Analysis) -> Strip:
    """The strip a person clicks to choose the query patch: one frame per time slice of the classifier."""
    config = pipeline.classifier_config
    return Strip(slices=config.grid[0], side=config.image_size, patch=config.patch_size,
                 factor=display_factor(config.image_size))


def default_query(pipeline: VideoMAEPipeline) -> tuple[int, int, int]:
    """The query token before any click: the middle of the grid (time slice, row, column)."""
    t, h, w = pipeline.classifier_config.grid
    return t // 2, h // 2, w // 2


def attention_image(pipeline: VideoMAEPipeline, session: Session, mode: str, layer: int, head: str,
                    class_label: str | None, folder: Path) -> str:
    """Render one attention view from the cached analysis (no model call, except the first time a class's
    relevance is asked for) -> PNG path."""
    a, config = session.analysis, pipeline.classifier_config
    maps = a.attention
    if maps is None:
        raise refuse("This analysis has no attention maps.")
    layer_index = min(max(int(layer), 1), maps.num_layers) - 1
    head_label = "mean of heads" if head == "mean" else f"head {head}"
    if mode == "query patch":
        t, row, col = session.query
        token = (t * config.grid[1] + row) * config.grid[2] + col
        rows = maps.query(layer_index, token)  # (heads, N)
        values = rows.mean(dim=0) if head == "mean" else rows[int(head) - 1]
        title = f"Where token (slice {t}, row {row}, col {col}) looks: layer {layer_index + 1}, {head_label}"
        label, marker = "attention weight", session.query
    elif mode == "attention received":
        values = maps.received[layer_index].mean(dim=0) if head == "mean" else maps.received[layer_index, int(head) - 1]
        title, label, marker = f"Attention received: layer {layer_index + 1}, {head_label}", "mean attention", None
    elif mode == "rollout":
        values = maps.rollout[layer_index]
        title = f"Attention rollout through layers 1–{layer_index + 1} (heads averaged), mean-pooling readout"
        label, marker = "share of the pooled output", None
    else:
        label_name = class_label or a.labels[0][0]
        values = pipeline.relevance(a, pipeline.class_id(label_name))[layer_index].clamp(min=0)
        title = f"Relevance for '{label_name}' through layers 1–{layer_index + 1} (Chefer et al. 2021)"
        label, marker = "relevance", None
    heat = values.reshape(config.grid).float().numpy()
    fig = heatmap_figure(a.classifier_frames, heat, config.tubelet_size, title, label, marker=marker,
                         patch=config.patch_size)
    return request_png(figure_to_array(fig), folder, f"attention-{uuid.uuid4().hex[:8]}")


def rerender(session: Session | None, mode: str, layer: float, head: str, class_label: str | None) -> tuple:
    """Layer, head, class or mode changed: redraw from the cached analysis."""
    if session is None:
        raise refuse("Run an analysis first.")
    pipeline = get_pipeline(session.preset)
    folder = request_folder()
    return attention_image(pipeline, session, mode, layer, head, class_label, folder), explain.ATTENTION[mode]


def pick_query(session: Session | None, layer: float, head: str, class_label: str | None,
               evt: gr.SelectData) -> tuple:
    """A click on the frame strip: the clicked patch becomes the query and the view switches to it."""
    if session is None:
        raise refuse("Run an analysis first.")
    pipeline = get_pipeline(session.preset)
    token = frame_strip(pipeline, session.analysis).token_at(*evt.index)
    if token is None:
        raise refuse("Click inside one of the frames.")
    session.query = token
    folder = request_folder()
    strip = frame_strip(pipeline, session.analysis).image(session.analysis.classifier_frames,
                                                          pipeline.classifier_config.tubelet_size, token)
    image = attention_image(pipeline, session, "query patch", layer, head, class_label, folder)
    return (request_png(strip, folder, "strip"), image, gr.update(value="query patch"),
            explain.ATTENTION["query patch"], ",".join(map(str, token)), session)


def read_query(text: str | None) -> tuple[int, int, int] | None:
    """A query patch written as "t,row,col" -> (t, row, col), or None when it is not three whole numbers from 0. The
    model's own grid bounds it after an analysis (``restore_view``)."""
    parts = (text or "").split(",")
    if len(parts) != 3 or not all(part.strip().isdecimal() for part in parts):
        return None
    t, row, col = (int(part) for part in parts)
    return t, row, col


def restore_view(session: Session, mode: str, layer: float, head: str, class_label: str | None,
                 query: str | None) -> tuple:
    """After an analysis: keep the view, layer, head and query patch the page had (from a lesson link or an earlier
    analysis), fitted to this model: the layer clamped to its depth, a head it lacks becomes the mean, a query
    outside its grid the middle -> (frame strip PNG, attention PNG, the view's text, session)."""
    pipeline = get_pipeline(session.preset)
    maps, grid = session.analysis.attention, pipeline.classifier_config.grid
    token = read_query(query)
    if token is not None and all(0 <= value < size for value, size in zip(token, grid)):
        session.query = token
    if head != "mean" and not 1 <= int(head) <= maps.num_heads:
        head = "mean"
    folder = request_folder()
    strip = frame_strip(pipeline, session.analysis).image(session.analysis.classifier_frames,
                                                          pipeline.classifier_config.tubelet_size, session.query)
    image = attention_image(pipeline, session, mode, min(int(layer), maps.num_layers), head, class_label, folder)
    return request_png(strip, folder, "strip"), image, explain.ATTENTION[mode], session


def space_time(session: Session | None) -> tuple[str, str]:
    """The layer x head map of the attention that stays in the query's own time slice, from the recorded maps
    -> (PNG path, one sentence that reads it)."""
    if session is None or session.analysis.attention is None:
        raise refuse("Run an analysis first.")
    pipeline = get_pipeline(session.preset)
    grid = pipeline.classifier_config.grid
    share = own_slice_share(session.analysis.attention, grid).numpy()  # (L, heads)
    chance = 1.0 / grid[0]
    fig = layer_head_figure(share, "Attention kept in the query's own time slice", "share of attention", chance)
    first, last = share[0].mean(), share[-1].mean()
    most = np.unravel_index(share.argmin(), share.shape)
    sentence = (f"Spread evenly over the {grid[0]} time slices, a head would keep {chance:.0%} of its attention in "
                f"its own slice. Here layer 1 keeps {first:.0%} on average and layer {share.shape[0]} {last:.0%}; "
                f"the head that looks across time the most is layer {most[0] + 1}, head {most[1] + 1} "
                f"({share[most]:.0%} in its own slice).")
    return request_png(figure_to_array(fig), request_folder(), "space-time"), sentence
