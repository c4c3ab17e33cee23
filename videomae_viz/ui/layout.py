"""The page: the gr.Blocks layout, its event wiring, and ``launch``."""

from __future__ import annotations

import gradio as gr

from .. import explain, memory
from ..masking import STRATEGIES
from ..pipeline import PRESETS
from ..reconstruction import STATS_LEAK_FREE, STATS_MODES
from . import links
from .api import analyze_json, compare_masking
from .attention import MODES, pick_query, rerender, space_time
from .classify import analyze, attention_controls
from .gpu import on_gpu, preload
from .lab import compare_strategies, download_all, sweep
from .limits import CACHE_SWEEP_SECONDS, SESSION_SECONDS, keep_seconds, max_file_size
from .presets import default_preset, example_clips

# The system's sans-serif rather than Gradio's bundled web font, whose semibold face draws a bold capital A as a small
# capital ("VideoMᴀE") in Chromium; a system font also works offline, where no web font can be fetched.
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"])


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
                    gr.Examples(examples, inputs=[video, hidden_label],
                                label="Example clips: held-out real scenes first, then generated motions with their "
                                      "true label")
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
                    gr.Markdown(explain.SAMPLING)
                    start = gr.Number(None, label="Segment start (s)")
                    end = gr.Number(None, label="Segment end (s)")
                    stride = gr.Number(None, precision=0, label="Stride (frames; empty: the preset's sampling, "
                                       "0: spread evenly)")
                top_k = gr.Slider(1, 10, value=5, step=1, label="Top-k")
                compare_backwards = gr.Checkbox(False, label="Also classify the clip played backwards",
                                                info=explain.REVERSED)
                run = gr.Button("Analyse", variant="primary", elem_id="run")
                with gr.Row():
                    link_button = gr.Button("Link to these settings", size="sm", elem_id="copy-link")
                    link = gr.Textbox(label="Open it on every laptop in the room: same clip, mask and seed",
                                      elem_id="link", buttons=["copy"], interactive=False)
                link_notice = gr.Markdown(visible=False, elem_id="link-notice")
            with gr.Column(scale=3, min_width=360):
                with gr.Row():
                    topk = gr.Label(label="Top-k classes", elem_id="topk", num_top_classes=10)
                    topk_reversed = gr.Label(label="Time reversed", elem_id="topk-reversed", visible=False)
                counters = gr.Markdown("Run an analysis to see token counts and scores.", elem_id="counters",
                               label="Counters")
        with gr.Tab("Masking lab"):
            lab = gr.Image(label="original / masked / prediction / + visible / interpolation, every sampled frame",
                           elem_id="frames",
                           type="filepath", interactive=False, buttons=["download", "fullscreen"])
            side = gr.Video(label="Side by side (original, masked, decoder + visible, interpolation)",
                            elem_id="side-by-side",
                            interactive=False, loop=True, buttons=["download"], height=240)
            error = gr.Image(label="Error per patch", elem_id="error", type="filepath", interactive=False)
            with gr.Row():
                zip_button = gr.Button("Download all: figures, the side-by-side video and the numbers (zip)")
                zip_file = gr.File(label="Everything of this analysis", elem_id="download-all", interactive=False)
            gr.Markdown(explain.LAB)
            gr.Markdown(explain.STATS)
            compare_button = gr.Button("Compare the masking strategies (same clip, ratio and seed)")
            compare_plot = gr.Image(label="Masked-patch PSNR under each strategy", elem_id="strategies",
                                    type="filepath", interactive=False)
            compare_text = gr.Markdown(elem_id="strategies-text")
            sweep_button = gr.Button("Sweep the masking ratio (same clip and seed)")
            sweep_plot = gr.Image(label="PSNR vs masking ratio", elem_id="sweep", type="filepath", interactive=False)
        with gr.Tab("Attention"):
            strip = gr.Image(label="Click a patch to use it as the query (one frame per time slice)",
                             elem_id="query-strip", type="filepath", interactive=False)
            with gr.Row():
                mode = gr.Radio(list(MODES), value="rollout", label="View")
                layer = gr.Slider(1, 12, value=12, step=1, label="Layer (up to the model's depth)")
                head = gr.Dropdown(["mean"], value="mean", label="Head (the model's heads, or their mean)")
                class_label = gr.Dropdown([], label="Class (relevance)")
            attention = gr.Image(label="Attention map", elem_id="attention", type="filepath", interactive=False)
            mode_text = gr.Markdown(explain.ATTENTION["rollout"])
            gr.Markdown(explain.ATTENTION_NOTE)
            space_time_button = gr.Button("Space or time: how much attention stays in its own moment?")
            space_time_plot = gr.Image(label="Share of attention in the query's own time slice, per layer and head",
                                       elem_id="space-time", type="filepath", interactive=False)
            gr.Markdown(explain.SPACE_TIME)
            space_time_text = gr.Markdown(elem_id="space-time-text")
        with gr.Tab("How VideoMAE works"):
            gr.Markdown(explain.PIPELINE)

        demo.load(links.on_load, None, [video, preset, ratio, masking, seed, link_notice], api_visibility="private")
        link_button.click(None, [video, preset, ratio, masking, seed], link, js=links.COPY_LINK_JS)
        run.click(on_gpu(analyze),
                  [video, preset, ratio, masking, seed, start, end, stride, top_k, stats, compare_backwards],
                  [topk, topk_reversed, lab, side, error, counters, strip, attention, session], api_name="analyze",
                  concurrency_limit=2, concurrency_id="model").success(
            attention_controls, [session, compare_backwards], [topk_reversed, mode, layer, head, class_label, mode_text],
            api_visibility="private")
        controls = [session, mode, layer, head, class_label]
        for control in (mode, layer, head, class_label):
            control.input(on_gpu(rerender), controls, [attention, mode_text], api_visibility="private",
                          concurrency_limit=4, concurrency_id="render")
        strip.select(on_gpu(pick_query), [session, layer, head, class_label],
                     [strip, attention, mode, mode_text, session],
                     api_visibility="private", concurrency_limit=4, concurrency_id="render")
        gr.api(on_gpu(analyze_json), api_name="analyze_json", concurrency_limit=2, concurrency_id="model")
        compare_button.click(on_gpu(compare_strategies), session, [compare_plot, compare_text],
                             api_visibility="private", concurrency_limit=2, concurrency_id="model")
        gr.api(on_gpu(compare_masking), api_name="compare_masking", concurrency_limit=2, concurrency_id="model")
        space_time_button.click(space_time, session, [space_time_plot, space_time_text], api_visibility="private",
                                concurrency_limit=4, concurrency_id="render")
        zip_button.click(on_gpu(download_all), session, zip_file, api_visibility="private", concurrency_limit=2,
                         concurrency_id="model")
        sweep_button.click(on_gpu(sweep), session, sweep_plot, api_visibility="private", concurrency_limit=2,
                           concurrency_id="model")
    demo.queue(max_size=64, default_concurrency_limit=2)
    return demo


def launch(server_name: str | None = None, server_port: int | None = None) -> None:
    """Start the app; host and port default to GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, as Gradio reads them."""
    memory.keep_heap_flat()
    preload(default_preset())
    build_demo().launch(server_name=server_name, server_port=server_port, max_file_size=max_file_size(), theme=THEME,
                        footer_links=["api", "gradio"])
