"""The page: the gr.Blocks layout, its event wiring, and ``launch``."""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from .. import explain, memory
from ..masking import STRATEGIES
from ..pipeline import PRESETS
from ..reconstruction import STATS_LEAK_FREE, STATS_MODES
from . import links
from .api import analyze_json, compare_masking
from .attention import MAX_HEADS, MAX_LAYERS, MODES, pick_query, rerender, restore_view, space_time
from .classify import analyze, attention_controls, check_upload
from .draw import STARTS, clear, open_canvas, reconstruct_drawn, start_with, toggle
from .gpu import on_gpu, preload
from .lab import compare_strategies, download_all, sweep
from .lesson import REVEALS, questions
from .limits import CACHE_SWEEP_SECONDS, SESSION_SECONDS, keep_seconds, max_file_size
from .presets import default_preset, example_clips, example_thumbnails, pick_example

# The system's sans-serif rather than Gradio's bundled web font, whose semibold face draws a bold capital A as a small
# capital ("VideoMᴀE") in Chromium; a system font also works offline, where no web font can be fetched.
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"])
# A tighter page, so the first screen holds the clip, the controls, Analyse and the reconstruction at 1400 x 900.
CSS = """
.gradio-container { padding-top: 4px !important; }
#examples .grid-container { grid-template-columns: repeat(6, minmax(0, 1fr)) !important; gap: 4px !important;
                            grid-template-rows: none !important; grid-auto-rows: min-content !important; }
#examples .thumbnail-item { width: 100% !important; height: auto !important; min-width: 0 !important;
                            aspect-ratio: 1 / 1; }
#examples .caption-label { font-size: 10px; padding: 0 2px; }
"""
# The browser cannot play a file that is no video (or a codec it lacks) and Gradio then shows "Video not playable";
# ``classify.check_upload`` gives the reason instead, so the uploaded clip's media errors stop here.
JS = """() => {
  window.addEventListener("error", (event) => {
    if (event.target instanceof HTMLMediaElement && event.target.closest("#video")) {
      event.stopImmediatePropagation();
    }
  }, true);
}"""


def build_demo() -> gr.Blocks:
    """The layout and its wiring. The first screen holds the clip, the example gallery, the two masking controls,
    Analyse and the side-by-side reconstruction; everything else folds away or sits in the tabs below."""
    keep = max(1, round(keep_seconds()))
    with gr.Blocks(title="VideoMAE lab", delete_cache=(min(CACHE_SWEEP_SECONDS, keep), keep)) as demo:
        session = gr.State(None, time_to_live=SESSION_SECONDS)
        gr.Markdown(explain.HEADLINE)
        link_notice = gr.Markdown(visible=False, elem_id="link-notice")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                video = gr.Video(label="Clip", elem_id="video", sources=["upload"], height=180)
                examples = example_clips()
                gallery = gr.Gallery(example_thumbnails(examples), label="Examples: click one to load and analyse it",
                                     elem_id="examples", columns=6, height=170, allow_preview=False,
                                     object_fit="cover", buttons=[], visible=bool(examples))
                ratio = gr.Slider(0.0, 0.95, value=0.9, step=0.05, label="Masking ratio")
                masking = gr.Radio(list(STRATEGIES), value="tube", label="Masking strategy",
                                   info="tube: the same positions in every frame (VideoMAE)")
                run = gr.Button("Analyse", variant="primary", elem_id="run")
                with gr.Accordion("More settings: model, mask seed, frames, top-k, lesson link", open=False,
                                  elem_id="more-settings"):
                    preset = gr.Dropdown(list(PRESETS), value=default_preset(), label="Model preset",
                                         info="'embedded' works offline; the MCG-NJU pairs (CC-BY-NC-4.0) need the Hub")
                    seed = gr.Number(0, precision=0, label="Mask seed")
                    gr.Markdown(explain.STRATEGIES)
                    stats = gr.Radio(list(STATS_MODES), value=STATS_LEAK_FREE,
                                     label="Hidden-patch statistics (norm_pix_loss models only)")
                    gr.Markdown(explain.SAMPLING)
                    with gr.Row():
                        start = gr.Number(None, label="Segment start (s)")
                        end = gr.Number(None, label="Segment end (s)")
                        stride = gr.Number(None, precision=0, label="Stride (frames; empty: the preset's sampling, "
                                           "0: spread evenly)")
                    top_k = gr.Slider(1, 10, value=5, step=1, label="Top-k")
                    compare_backwards = gr.Checkbox(False, label="Also classify the clip played backwards",
                                                    info=explain.REVERSED)
                    link_button = gr.Button("Link to these settings", size="sm", elem_id="copy-link")
                    link = gr.Textbox(label="Open it on every laptop in the room: same clip, mask and seed",
                                      elem_id="link", buttons=["copy"], interactive=False)
            with gr.Column(scale=3, min_width=360):
                side = gr.Video(label="Original | masked | decoder + visible | interpolation (every sampled frame)",
                                show_label=False, elem_id="side-by-side", interactive=False, autoplay=True, loop=True,
                                buttons=["download"])
                with gr.Row():
                    topk = gr.Label(label="Top-k classes", elem_id="topk", num_top_classes=10)
                    topk_reversed = gr.Label(label="Time reversed", elem_id="topk-reversed", visible=False)
                counters = gr.Markdown("Pick an example or upload a clip, then **Analyse**: the scores appear here.",
                                       elem_id="counters", label="Counters")
        with gr.Tab("Masking lab"):
            lab = gr.Image(label="original / masked / prediction / + visible / interpolation, every sampled frame",
                           elem_id="frames", type="filepath", interactive=False, buttons=["download", "fullscreen"])
            gr.Markdown(explain.LAB)
            error = gr.Image(label="Error per patch", elem_id="error", type="filepath", interactive=False)
            with gr.Row():
                zip_button = gr.Button("Download all: figures, the side-by-side video and the numbers (zip)")
                zip_file = gr.File(label="Everything of this analysis", elem_id="download-all", interactive=False)
            gr.Markdown(explain.STATS)
            compare_button = gr.Button("Compare the masking strategies (same clip, ratio and seed)",
                                       elem_id="compare")
            compare_plot = gr.Image(label="Masked-patch PSNR under each strategy", elem_id="strategies",
                                    type="filepath", interactive=False)
            compare_text = gr.Markdown(elem_id="strategies-text")
            sweep_button = gr.Button("Sweep the masking ratio (same clip and seed)")
            sweep_plot = gr.Image(label="PSNR vs masking ratio", elem_id="sweep", type="filepath", interactive=False)
        with gr.Tab("Draw your own mask"):
            gr.Markdown(explain.DRAW)
            with gr.Row():
                with gr.Column(scale=2, min_width=300):
                    drawing = gr.Image(label="Click patches to hide or show them",
                                       elem_id="draw-canvas", type="filepath", interactive=False)
                    drawn_count = gr.Markdown(elem_id="draw-count")
                    with gr.Row():
                        starts = [gr.Button(name.capitalize(), size="sm") for name in STARTS]
                        clear_button = gr.Button("Show everything", size="sm")
                    draw_run = gr.Button("Reconstruct with my mask", variant="primary", elem_id="draw-run")
                with gr.Column(scale=3, min_width=360):
                    drawn_lab = gr.Image(label="Your mask: original / masked / prediction / + visible / interpolation",
                                         elem_id="draw-lab", type="filepath", interactive=False)
                    drawn_scores = gr.Markdown(elem_id="draw-scores")
                    drawn_table = gr.Markdown(elem_id="draw-table")
        with gr.Tab("Attention"):
            strip = gr.Image(label="Click a patch to use it as the query (one frame per time slice)",
                             elem_id="query-strip", type="filepath", interactive=False)
            with gr.Row():
                mode = gr.Radio(list(MODES), value="rollout", label="View")
                layer = gr.Slider(1, MAX_LAYERS, value=MAX_LAYERS, step=1, label="Layer (up to the model's depth)")
                query = gr.Textbox(visible=False, elem_id="query")  # the clicked patch "t,row,col", for links
                head = gr.Dropdown(["mean"] + [str(h) for h in range(1, MAX_HEADS + 1)], value="mean",
                                   label="Head (the model's heads, or their mean)")
                class_label = gr.Dropdown([], label="Class (relevance)")
            attention = gr.Image(label="Attention map", elem_id="attention", type="filepath", interactive=False)
            mode_text = gr.Markdown(explain.ATTENTION["rollout"])
            gr.Markdown(explain.ATTENTION_NOTE)
            space_time_button = gr.Button("Space or time: how much attention stays in its own moment?")
            space_time_plot = gr.Image(label="Share of attention in the query's own time slice, per layer and head",
                                       elem_id="space-time", type="filepath", interactive=False)
            gr.Markdown(explain.SPACE_TIME)
            space_time_text = gr.Markdown(elem_id="space-time-text")
        with gr.Tab("Guided lesson"):
            gr.Markdown(explain.LESSON_INTRO)
            with gr.Walkthrough(selected=0, elem_id="lesson") as walkthrough:
                lesson_questions, lesson_steps = [], []
                for i, (title, question) in enumerate(explain.LESSON):
                    with gr.Step(title, id=i):
                        lesson_questions.append(gr.Markdown(question))
                        reveal_button = gr.Button("Reveal the answer", elem_id=f"lesson-reveal-{i + 1}")
                        picture = gr.Image(label=title, elem_id=f"lesson-picture-{i + 1}", type="filepath",
                                           interactive=False)
                        answer = gr.Markdown(elem_id=f"lesson-answer-{i + 1}")
                        with gr.Row():
                            back = gr.Button("Back", size="sm", visible=i > 0)
                            forward = gr.Button("Next step", size="sm", visible=i + 1 < len(explain.LESSON),
                                                elem_id=f"lesson-next-{i + 1}")
                    lesson_steps.append((reveal_button, picture, answer, back, forward))
        with gr.Tab("How VideoMAE works"):
            gr.Markdown(explain.INTRO)
            gr.Markdown(explain.PIPELINE)

        linked = [video, preset, ratio, masking, seed, mode, layer, head, query]  # links.KEYS in order
        demo.load(links.on_load, None, [*linked, link_notice], api_visibility="private")
        link_button.click(None, linked, link, js=links.COPY_LINK_JS)
        video.upload(check_upload, video, video, api_visibility="private")
        analysis_inputs = [video, preset, ratio, masking, seed, start, end, stride, top_k, stats, compare_backwards]
        analysis_outputs = [topk, topk_reversed, lab, side, error, counters, strip, attention, session]

        def after_analysis(event: gr.events.Dependency) -> None:
            """What follows every analysis on the page: the attention controls fit the model and the view the page
            had is redrawn, the lesson's questions take its numbers, the drawing starts empty."""
            event.success(
                attention_controls, [session, compare_backwards, layer, head], [topk_reversed, layer, head, class_label],
                api_visibility="private").then(
                on_gpu(restore_view), [session, mode, layer, head, class_label, query],
                [strip, attention, mode_text, session], api_visibility="private", concurrency_limit=4,
                concurrency_id="render").then(
                questions, session, lesson_questions, api_visibility="private").then(
                open_canvas, session, [drawing, drawn_count], api_visibility="private")

        after_analysis(run.click(on_gpu(analyze), analysis_inputs, analysis_outputs, api_name="analyze",
                                 concurrency_limit=2, concurrency_id="model"))
        after_analysis(gallery.select(pick_example(examples), None, video, api_visibility="private").success(
            on_gpu(analyze), analysis_inputs, analysis_outputs, api_visibility="private", concurrency_limit=2,
            concurrency_id="model"))
        controls = [session, mode, layer, head, class_label]
        for control in (mode, layer, head, class_label):
            control.input(on_gpu(rerender), controls, [attention, mode_text], api_visibility="private",
                          concurrency_limit=4, concurrency_id="render")
        strip.select(on_gpu(pick_query), [session, layer, head, class_label],
                     [strip, attention, mode, mode_text, query, session],
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
        drawing.select(toggle, session, [drawing, drawn_count, session], api_visibility="private",
                       concurrency_limit=4, concurrency_id="render")
        for button, name in zip(starts, STARTS):
            button.click(start_with(name), session, [drawing, drawn_count, session], api_visibility="private",
                         concurrency_limit=4, concurrency_id="render")
        clear_button.click(clear, session, [drawing, drawn_count, session], api_visibility="private",
                           concurrency_limit=4, concurrency_id="render")
        draw_run.click(on_gpu(reconstruct_drawn), session, [drawn_lab, drawn_scores, drawn_table],
                       api_visibility="private", concurrency_limit=2, concurrency_id="model")
        for i, (reveal_button, picture, answer, back, forward) in enumerate(lesson_steps):
            reveal_button.click(on_gpu(REVEALS[i]), session, [picture, answer], api_visibility="private",
                                concurrency_limit=2, concurrency_id="model")
            back.click(go_to(i - 1), None, walkthrough, api_visibility="private")
            forward.click(go_to(i + 1), None, walkthrough, api_visibility="private")
    demo.queue(max_size=64, default_concurrency_limit=2)
    return demo


def go_to(step: int) -> Callable[[], gr.Walkthrough]:
    """A lesson button's handler: show step ``step``."""

    def handler() -> gr.Walkthrough:
        return gr.Walkthrough(selected=step)

    handler.__name__ = f"go_to_step_{step + 1}"
    return handler


def launch(server_name: str | None = None, server_port: int | None = None) -> None:
    """Start the app; host and port default to GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, as Gradio reads them."""
    memory.keep_heap_flat()
    preload(default_preset())
    build_demo().launch(server_name=server_name, server_port=server_port, max_file_size=max_file_size(), theme=THEME,
                        css=CSS, js=JS, footer_links=["api", "gradio"])
