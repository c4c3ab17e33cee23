"""Draw your own mask: click patches on one frame of the analysed clip to hide them (through every frame, as
tubes), or start from "hide what moves" / "hide what stays still", then reconstruct with that mask. The drawn
mask goes through ``pipeline.reconstruct`` like a generated one; each run is kept so two masks can be compared."""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr
import numpy as np
import torch

from ..masking import drawn_mask
from ..patches import cell_motion, tokens_to_pixels
from ..pipeline import VideoMAEPipeline, to_uint8
from ..reconstruction import Reconstruction
from ..render import Strip, display_factor, displayed_panels, first_of_slices, lab_grid, shade_cells
from .errors import refuse
from .lab import scores
from .limits import BY_HAND, Session, request_folder, request_png
from .presets import get_pipeline

STARTS = ("hide what moves", "hide what stays still")
START_SHARE = 0.5  # either start hides this share of the cells: the same count, so the two are comparable
MAX_RUNS = 8  # the comparison table keeps the last runs
EDITED = ", edited by hand"


def _strip(pipeline: VideoMAEPipeline) -> Strip:
    """One frame at the reconstructor's grid, upscaled like the lab: the picture a person clicks to draw."""
    config = pipeline.reconstructor_config
    return Strip(slices=1, side=config.image_size, patch=config.patch_size, factor=display_factor(config.image_size))


def _session(session: Session | None) -> Session:
    if session is None:
        raise refuse("Run an analysis first.")
    if session.drawn is None:
        session.drawn = np.zeros(get_pipeline(session.preset).reconstructor_config.grid[1:], dtype=bool)
    return session


def canvas(session: Session) -> str:
    """The middle frame of the clip with the patch grid and the drawn cells washed grey -> PNG path."""
    pipeline = get_pipeline(session.preset)
    frames = session.analysis.frames  # (T, H, W, 3) uint8
    strip = _strip(pipeline)
    image = strip.image(frames[len(frames) // 2][None], tubelet=1)
    shaded = shade_cells(image, session.drawn, strip.patch * strip.factor)
    return request_png(shaded, request_folder(), "drawn-mask")


def open_canvas(session: Session | None) -> tuple[str, str]:
    """After an analysis: an empty drawing (nothing hidden) -> (canvas PNG, how many cells are hidden)."""
    session = _session(session)
    return canvas(session), hidden_count(session)


def hidden_count(session: Session) -> str:
    """How many patch positions the drawing hides, as one line."""
    cells = session.drawn
    return f"{int(cells.sum())} of {cells.size} patch positions hidden ({cells.mean():.0%}), in every frame"


def toggle(session: Session | None, evt: gr.SelectData) -> tuple[str, str, Session]:
    """A click on the canvas hides the clicked patch position, or shows it again."""
    session = _session(session)
    token = _strip(get_pipeline(session.preset)).token_at(*evt.index)
    if token is None:
        raise refuse("Click inside the frame.")
    _, row, col = token
    session.drawn[row, col] = not session.drawn[row, col]
    if not session.drawn_origin.endswith(EDITED):
        session.drawn_origin += EDITED
    return canvas(session), hidden_count(session), session


def start_with(start: str) -> Callable[[Session | None], tuple[str, str, Session]]:
    """The handler of one of the STARTS buttons: replace the drawing by the half of the patch positions that change
    most over the clip ("hide what moves") or least ("hide what stays still")."""

    def handler(session: Session | None) -> tuple[str, str, Session]:
        return _start(_session(session), start)

    handler.__name__ = f"start_{start.replace(' ', '_')}"
    return handler


def _start(session: Session, start: str) -> tuple[str, str, Session]:
    config = get_pipeline(session.preset).reconstructor_config
    motion = cell_motion(torch.from_numpy(session.analysis.frames), config.patch_size)  # (h, w) float32
    order = motion.flatten().argsort(descending=start == STARTS[0])
    cells = np.zeros(motion.numel(), dtype=bool)
    cells[order[: round(START_SHARE * motion.numel())].numpy()] = True
    session.drawn, session.drawn_origin = cells.reshape(motion.shape), start
    return canvas(session), hidden_count(session), session


def clear(session: Session | None) -> tuple[str, str, Session]:
    """Show every patch again."""
    session = _session(session)
    session.drawn, session.drawn_origin = np.zeros_like(session.drawn), BY_HAND
    return canvas(session), hidden_count(session), session


def reconstruct_drawn(session: Session | None, progress: gr.Progress = gr.Progress()) -> tuple[str, str, str]:
    """Reconstruct the clip with the drawn mask -> (lab grid PNG, the scores, the table of this session's drawn
    runs)."""
    session = _session(session)
    cells = session.drawn
    if not cells.any():
        raise refuse("Hide some patches first: click them on the frame, or start from one of the buttons.")
    if cells.all():
        raise refuse("Leave at least one patch visible: the encoder needs something to see.")
    progress(0.0, desc="reconstructing with your mask")
    pipeline = get_pipeline(session.preset)
    config = pipeline.reconstructor_config
    mask = drawn_mask(torch.from_numpy(cells), config.grid[0])  # (N,) bool
    rec = pipeline.reconstruct(session.analysis.reconstructor_input, session.settings, mask=mask)
    session.drawn_runs = [*session.drawn_runs, _run_row(session, rec)][-MAX_RUNS:]
    views = displayed_panels(session.analysis.frames, to_uint8(rec.predicted),
                             tokens_to_pixels(rec.mask, config).numpy(), to_uint8(rec.interpolation))
    grid = lab_grid(first_of_slices(views, config.tubelet_size), columns=config.grid[0])
    return request_png(grid, request_folder(), "drawn-lab"), scores(rec), _table(session.drawn_runs)


def _run_row(session: Session, rec: Reconstruction) -> tuple:
    return (len(session.drawn_runs) + 1, session.drawn_origin, f"{session.drawn.mean():.0%}", rec.psnr,
            rec.interpolation_psnr, rec.baseline_psnr)


def _table(runs: list[tuple]) -> str:
    """The drawn runs as a Markdown table, so "hide what moves" and "hide what stays still" sit side by side."""
    lines = ["| run | mask | hidden | decoder (dB) | interpolation (dB) | mean colour (dB) |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {n} | {origin} | {hidden} | {psnr:.2f} | {interp:.2f} | {mean:.2f} |"
              for n, origin, hidden, psnr, interp, mean in runs]
    return "\n".join(lines)
