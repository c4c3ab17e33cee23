"""The Gradio app: plain handlers over ``VideoMAEPipeline`` and ``render``, then the Blocks layout and wiring.

Limits, request folders and what a session keeps are in ``limits``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import uuid
from pathlib import Path

import gradio as gr
import numpy as np
import torch

from .. import explain, memory
from ..checkpoints import ASSETS, CheckpointError
from ..masking import STRATEGIES
from ..pipeline import DEFAULT_PRESET, PRESETS, Analysis, Settings, TimeLimitError, VideoMAEPipeline
from ..reconstruction import STATS_LEAK_FREE, STATS_MODES
from ..render import (Strip, display_factor, displayed_panels, figure_to_array, heatmap_figure, lab_grid, run_all,
                      sweep_figure)
from ..video_io import VideoReadError, write_mp4
from .limits import (CACHE_SWEEP_SECONDS, SESSION_SECONDS, Session, keep_seconds, max_file_size, request_folder,
                     request_png, request_seconds)

log = logging.getLogger(__name__)

PRESET_ENV = "VIDEOMAE_VIZ_PRESET"  # a Space picks its default preset with this variable
MODES = tuple(explain.ATTENTION)
SWEEP_RATIOS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


_LOADING = threading.Lock()  # two first requests at once must not load the same weights twice


def get_pipeline(preset: str) -> VideoMAEPipeline:
    """A preset's pipeline, built once per process. Only known presets reach here (the UI offers no free text)."""
    if preset not in PRESETS:
        raise gr.Error(f"Unknown model preset {preset!r}.")
    with _LOADING:
        return _load_pipeline(preset)


@functools.lru_cache(maxsize=4)
def _load_pipeline(preset: str) -> VideoMAEPipeline:
    try:
        return VideoMAEPipeline.from_preset(preset)
    except CheckpointError as err:
        if preset == DEFAULT_PRESET:
            raise gr.Error(f"The embedded model could not be loaded: {err}") from None
        raise gr.Error(f"{err}. Hub models need network access (or a local hub cache); the '{DEFAULT_PRESET}' "
                       "preset works offline.") from None


def _counters(pipeline: VideoMAEPipeline, session: Session) -> str:
    a, s = session.analysis, session.settings
    rec, config = a.reconstruction, pipeline.reconstructor_config
    share = config.encoder_flops(a.visible_tokens) / config.encoder_flops()
    lines = [
        f"**Tokens** {a.tokens} ({config.grid[0]} time slices x {config.grid[1]} x {config.grid[2]}) · "
        f"**visible** {a.visible_tokens} ({a.visible_tokens / a.tokens:.0%}) · "
        f"**encoder compute used** {share:.1%} of a full pass",
    ]
    views = pipeline.classifier_views
    if views > 1:
        lines.append(f"**Top-k** is the average over {views} views of the clip: as given, mirrored and transposed, "
                     "each view's labels mapped back (a mirrored *moving left* counts for *moving right*). Time is "
                     "never reversed in a view. The attention maps and class relevance show the clip as given.")
    if rec.psnr is None:
        lines.append("Nothing is masked at ratio 0, so there is nothing to reconstruct or score.")
    else:
        lines.append(f"**Masked-patch PSNR** {rec.psnr:.2f} dB vs **baseline** {rec.baseline_psnr:.2f} dB "
                     f"({rec.psnr - rec.baseline_psnr:+.2f} dB)")
    if config.norm_pix_loss:
        lines.append(f"Hidden-patch statistics: **{s.stats}**" + (" (uses the hidden patches' true mean/std: "
                     "this leaks)" if s.stats == "paper" else " (estimated from visible neighbours)"))
    notes = "; ".join(a.clip.notes)
    lines.append(f"Frames {list(a.clip.indices)} of a {a.clip.duration:.1f} s clip at {a.clip.fps:.1f} fps"
                 + (f". {notes}" if notes else ""))
    lines.append("Timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in a.timings.items()))
    return "\n\n".join(lines)


def _strip(pipeline: VideoMAEPipeline, analysis: Analysis) -> Strip:
    config = pipeline.classifier_config
    return Strip(slices=config.grid[0], side=config.image_size, patch=config.patch_size,
                 factor=display_factor(config.image_size))


def attention_image(pipeline: VideoMAEPipeline, session: Session, mode: str, layer: int, head: str,
                    class_label: str | None, folder: Path) -> str:
    """Render one attention view from the cached analysis (no model call, except the first time a class's
    relevance is asked for) -> PNG path."""
    a, config = session.analysis, pipeline.classifier_config
    maps = a.attention
    if maps is None:
        raise gr.Error("This analysis has no attention maps.")
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


def analyze(video: str | None, preset: str, mask_ratio: float, masking: str, seed: float, start: float | None,
            end: float | None, stride: float | None, top_k: float, stats: str, reverse: bool,
            progress: gr.Progress = gr.Progress()) -> tuple:
    """The main button: run the pipeline on the uploaded clip and render every panel."""
    if not video:
        raise gr.Error("Upload a clip or pick an example first.")
    pipeline = get_pipeline(preset)
    try:
        settings = Settings(mask_ratio=float(mask_ratio), masking=masking, seed=int(seed or 0), top_k=int(top_k),
                            start=start or None, end=end or None, stride=int(stride) if stride else None,
                            stats=stats)
        analysis = pipeline.analyze(video, settings, progress=lambda f, desc: progress(f, desc=desc),
                                    time_limit=request_seconds())
    except (VideoReadError, ValueError, CheckpointError, TimeLimitError) as err:
        raise gr.Error(str(err)) from None
    folder = request_folder()
    session = Session(preset=preset, settings=settings, analysis=analysis, query=_default_query(pipeline))
    reversed_labels = None
    if reverse:
        with torch.inference_mode():
            labels, _ = pipeline.classify(analysis.classifier_input.flip(1), settings.top_k)
        reversed_labels = dict(labels)
    progress(0.9, desc="rendering")
    views = displayed_panels(analysis.frames, analysis.predicted, analysis.pixel_mask)
    config = pipeline.reconstructor_config
    error = analysis.reconstruction.patch_error.reshape(config.grid).numpy()
    strip = _strip(pipeline, analysis)

    def error_png() -> str:
        fig = heatmap_figure(analysis.frames, error, config.tubelet_size,
                             "Squared error per hidden patch (visible patches are 0)", "mean squared error",
                             patch=config.patch_size, cmap="viridis")
        return request_png(figure_to_array(fig), folder, "error")

    def video_out() -> str:
        side = np.concatenate([views[name] for name in ("original", "masked", "+ visible")], axis=2)
        return str(write_mp4(side, folder / "side_by_side.mp4", fps=4.0))

    attn_png, error_file, video_file, lab, strip_png = run_all([  # figures first: they hold the GIL
        lambda: attention_image(pipeline, session, "rollout", analysis.attention.num_layers, "mean", None, folder),
        error_png,
        video_out,
        lambda: request_png(lab_grid(views), folder, "lab"),
        lambda: request_png(strip.image(analysis.classifier_frames, pipeline.classifier_config.tubelet_size,
                                        session.query), folder, "strip"),
    ])
    heads = ["mean"] + [str(h + 1) for h in range(analysis.attention.num_heads)]
    label_names = [name for name, _ in analysis.labels]
    return (
        dict(analysis.labels),
        gr.update(value=reversed_labels, visible=reverse),
        lab,
        video_file,
        error_file,
        _counters(pipeline, session),
        strip_png,
        attn_png,
        gr.update(value="rollout"),
        gr.update(maximum=analysis.attention.num_layers, value=analysis.attention.num_layers),
        gr.update(choices=heads, value="mean"),
        gr.update(choices=label_names, value=label_names[0]),
        explain.ATTENTION["rollout"],
        session,
    )


def _default_query(pipeline: VideoMAEPipeline) -> tuple[int, int, int]:
    t, h, w = pipeline.classifier_config.grid
    return t // 2, h // 2, w // 2


def rerender(session: Session | None, mode: str, layer: float, head: str, class_label: str | None) -> tuple:
    """Layer, head, class or mode changed: redraw from the cached analysis."""
    if session is None:
        raise gr.Error("Run an analysis first.")
    pipeline = get_pipeline(session.preset)
    folder = request_folder()
    return attention_image(pipeline, session, mode, layer, head, class_label, folder), explain.ATTENTION[mode]


def pick_query(session: Session | None, layer: float, head: str, class_label: str | None,
               evt: gr.SelectData) -> tuple:
    """A click on the frame strip: the clicked patch becomes the query and the view switches to it."""
    if session is None:
        raise gr.Error("Run an analysis first.")
    pipeline = get_pipeline(session.preset)
    token = _strip(pipeline, session.analysis).token_at(*evt.index)
    if token is None:
        raise gr.Error("Click inside one of the frames.")
    session.query = token
    folder = request_folder()
    strip = _strip(pipeline, session.analysis).image(session.analysis.classifier_frames,
                                                     pipeline.classifier_config.tubelet_size, token)
    image = attention_image(pipeline, session, "query patch", layer, head, class_label, folder)
    return (request_png(strip, folder, "strip"), image, gr.update(value="query patch"),
            explain.ATTENTION["query patch"], session)


def sweep(session: Session | None, progress: gr.Progress = gr.Progress()) -> str:
    """Masked-patch PSNR against the ratio for the same clip, strategy and seed."""
    if session is None:
        raise gr.Error("Run an analysis first.")
    pipeline = get_pipeline(session.preset)
    proc = pipeline.reconstructor_processor
    pixel_values = proc(session.analysis.clip.frames)["pixel_values"]
    psnr, baseline = [], []
    for i, ratio in enumerate(SWEEP_RATIOS):
        progress(i / len(SWEEP_RATIOS), desc=f"ratio {ratio:.2f}")
        s = session.settings
        rec = pipeline.reconstruct(pixel_values, Settings(mask_ratio=ratio, masking=s.masking, seed=s.seed, stats=s.stats))
        psnr.append(rec.psnr)
        baseline.append(rec.baseline_psnr)
    fig = sweep_figure(list(SWEEP_RATIOS), psnr, baseline, session.settings.mask_ratio)
    return request_png(figure_to_array(fig), request_folder(), "sweep")


def example_clips() -> list[list]:
    """[[path, label], ...] from assets/examples/index.json (empty when the examples are absent)."""
    index = ASSETS / "examples" / "index.json"
    if not index.is_file():
        return []
    return [[str(ASSETS / "examples" / item["file"]), item["label"]] for item in json.loads(index.read_text())]


def default_preset() -> str:
    name = os.environ.get(PRESET_ENV, DEFAULT_PRESET)
    if name not in PRESETS:
        log.warning("%s=%r is not a preset; using %s", PRESET_ENV, name, DEFAULT_PRESET)
        return DEFAULT_PRESET
    return name


def build_demo() -> gr.Blocks:
    """The layout and its wiring."""
    keep = max(1, round(keep_seconds()))
    with gr.Blocks(title="VideoMAE lab", delete_cache=(min(CACHE_SWEEP_SECONDS, keep), keep)) as demo:
        session = gr.State(None, time_to_live=SESSION_SECONDS)
        gr.Markdown(explain.INTRO)
        with gr.Row():
            with gr.Column(scale=2, min_width=300):
                video = gr.Video(label="Clip", elem_id="video", sources=["upload"], height=260)
                examples = example_clips()
                if examples:
                    hidden_label = gr.Textbox(visible=False)
                    gr.Examples(examples, inputs=[video, hidden_label], label="Example clips (the label is the truth)")
                preset = gr.Dropdown(list(PRESETS), value=default_preset(), label="Model preset",
                                     info="'embedded' works offline; the MCG-NJU pairs (CC-BY-NC-4.0) need the Hub")
                with gr.Accordion("Masking", open=True):
                    ratio = gr.Slider(0.0, 0.95, value=0.9, step=0.05, label="Masking ratio")
                    masking = gr.Radio(list(STRATEGIES), value="tube", label="Strategy",
                                       info="tube: same positions in every frame (VideoMAE); random: per token; "
                                            "frame: whole time slices; running-cell: VideoMAE v2's rotating cell")
                    seed = gr.Number(0, precision=0, label="Mask seed")
                    stats = gr.Radio(list(STATS_MODES), value=STATS_LEAK_FREE,
                                     label="Hidden-patch statistics (norm_pix_loss models only)")
                with gr.Accordion("Frame sampling", open=False):
                    gr.Markdown("16 frames, spread evenly over the clip unless you set a stride "
                                "(source frames between samples; VideoMAE trained with 4).")
                    start = gr.Number(None, label="Segment start (s)")
                    end = gr.Number(None, label="Segment end (s)")
                    stride = gr.Number(None, precision=0, label="Stride (frames)")
                top_k = gr.Slider(1, 10, value=5, step=1, label="Top-k")
                reverse = gr.Checkbox(False, label="Also classify the clip played backwards", info=explain.REVERSED)
                run = gr.Button("Analyse", variant="primary", elem_id="run")
            with gr.Column(scale=3, min_width=360):
                with gr.Row():
                    topk = gr.Label(label="Top-k classes", elem_id="topk", num_top_classes=10)
                    topk_reversed = gr.Label(label="Time reversed", elem_id="topk-reversed", visible=False)
                counters = gr.Markdown("Run an analysis to see token counts and scores.", elem_id="counters")
        with gr.Tab("Masking lab"):
            lab = gr.Image(label="original / masked / prediction / + visible, every sampled frame", elem_id="frames",
                           type="filepath", interactive=False, buttons=["download", "fullscreen"])
            side = gr.Video(label="Side by side (original, masked, + visible)", elem_id="side-by-side",
                            interactive=False, loop=True, buttons=["download"], height=240)
            error = gr.Image(label="Error per patch", elem_id="error", type="filepath", interactive=False)
            gr.Markdown(explain.LAB)
            gr.Markdown(explain.STATS)
            sweep_button = gr.Button("Sweep the masking ratio (same clip and seed)")
            sweep_plot = gr.Image(label="PSNR vs masking ratio", elem_id="sweep", type="filepath", interactive=False)
        with gr.Tab("Attention"):
            strip = gr.Image(label="Click a patch to use it as the query (one frame per time slice)",
                             elem_id="query-strip", type="filepath", interactive=False)
            with gr.Row():
                mode = gr.Radio(list(MODES), value="rollout", label="View")
                layer = gr.Slider(1, 12, value=12, step=1, label="Layer")
                head = gr.Dropdown(["mean"], value="mean", label="Head")
                class_label = gr.Dropdown([], label="Class (relevance)")
            attention = gr.Image(label="Attention map", elem_id="attention", type="filepath", interactive=False)
            mode_text = gr.Markdown(explain.ATTENTION["rollout"])
            gr.Markdown(explain.ATTENTION_NOTE)
        with gr.Tab("How VideoMAE works"):
            gr.Markdown(explain.PIPELINE)

        run.click(analyze, [video, preset, ratio, masking, seed, start, end, stride, top_k, stats, reverse],
                  [topk, topk_reversed, lab, side, error, counters, strip, attention, mode, layer, head, class_label,
                   mode_text, session], api_name="analyze", concurrency_limit=2, concurrency_id="model")
        controls = [session, mode, layer, head, class_label]
        for control in (mode, layer, head, class_label):
            control.input(rerender, controls, [attention, mode_text], api_visibility="private",
                          concurrency_limit=4, concurrency_id="render")
        strip.select(pick_query, [session, layer, head, class_label], [strip, attention, mode, mode_text, session],
                     api_visibility="private", concurrency_limit=4, concurrency_id="render")
        sweep_button.click(sweep, session, sweep_plot, api_visibility="private", concurrency_limit=2,
                           concurrency_id="model")
    demo.queue(max_size=64, default_concurrency_limit=2)
    return demo


def launch(server_name: str | None = None, server_port: int | None = None) -> None:
    """Start the app; host and port default to GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, as Gradio reads them."""
    memory.keep_heap_flat()
    build_demo().launch(server_name=server_name, server_port=server_port, max_file_size=max_file_size(),
                        footer_links=["api", "gradio"])
