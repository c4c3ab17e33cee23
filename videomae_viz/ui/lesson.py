"""The guided lesson: VideoMAE step by step on the analysed clip. Each step asks the room one question
(``explain.LESSON``) and a "reveal" shows the picture and the answer, with this clip's numbers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .. import explain
from ..patches import cell_motion
from ..pipeline import VideoMAEPipeline
from ..render import (
    Strip,
    display_factor,
    figure_to_array,
    first_of_slices,
    lab_grid,
    masked_view,
    panels,
    strategies_figure,
    tokens_row,
    topk_figure,
    upscale,
)
from .errors import refuse
from .lab import compare_sentence, error_image, scores
from .limits import Session, request_folder, request_png
from .presets import get_pipeline

MOTION_SHARE = 0.25  # step 6 compares the error of the most- and least-moving quarter of the hidden positions


def questions(session: Session | None) -> list[str]:
    """Each step's question, with the numbers of the analysed clip's model where the question needs them."""
    if session is None:
        return [question for _, question in explain.LESSON]
    config = get_pipeline(session.preset).reconstructor_config
    s = session.settings
    numbers = {"frames": config.num_frames, "side": config.image_size, "tokens": config.num_patches,
               "ratio": f"{s.mask_ratio:.0%}", "masking": s.masking}
    return [question.format(**numbers) for _, question in explain.LESSON]


def tubelets(pipeline: VideoMAEPipeline, session: Session) -> tuple[np.ndarray, str]:
    """Step 1: the first frame of each time slice with the patch grid -> (image, the token count and size)."""
    config, frames = pipeline.reconstructor_config, session.analysis.frames
    t, h, w = config.grid
    strip = Strip(slices=t, side=config.image_size, patch=config.patch_size, factor=display_factor(config.image_size))
    answer = (f"**{config.num_patches} tokens**: {config.num_frames} frames make {t} time slices of "
              f"{config.tubelet_size} frames, each cut into {h} x {w} patches of {config.patch_size} x "
              f"{config.patch_size} pixels. One token is a tubelet of {config.tubelet_size} x {config.patch_size} x "
              f"{config.patch_size} pixels x 3 colours = {config.patch_dim} numbers. The picture shows the first "
              "frame of each time slice with the patch grid.")
    return strip.image(frames, config.tubelet_size), answer


def mask(pipeline: VideoMAEPipeline, session: Session) -> tuple[np.ndarray, str]:
    """Step 2: the same frames with the hidden tubelets grey -> (image, how many tokens stay visible)."""
    config, a = pipeline.reconstructor_config, session.analysis
    strip = Strip(slices=config.grid[0], side=config.image_size, patch=config.patch_size,
                  factor=display_factor(config.image_size))
    answer = (f"**{a.visible_tokens} of {a.tokens} tokens** ({a.visible_tokens / a.tokens:.0%}) stay visible under "
              f"{session.settings.mask_ratio:.0%} {session.settings.masking} masking; the grey ones are hidden. "
              + ("Tube masking hides the same positions in every time slice: look down the columns."
                 if session.settings.masking == "tube" else ""))
    return strip.image(masked_view(a.frames, a.pixel_mask), config.tubelet_size), answer


def encoder_input(pipeline: VideoMAEPipeline, session: Session) -> tuple[np.ndarray, str]:
    """Step 3: the visible patches alone, as the encoder gets them -> (image, their share of a full pass)."""
    config, a = pipeline.reconstructor_config, session.analysis
    mask_tokens = a.reconstruction.mask.numpy()  # (N,) bool
    tiles = tokens_row(a.frames, mask_tokens, config.grid, config.tubelet_size, config.patch_size)
    share = config.encoder_flops(a.visible_tokens) / config.encoder_flops()
    answer = (f"The encoder's whole input is these **{a.visible_tokens} patches** (each shown by the first frame of "
              f"its tubelet), in token order, each with its position embedding. A pass over them costs **{share:.1%}** "
              f"of a pass over all {a.tokens} tokens: fewer tokens, and attention's cost falls with their square. "
              "That is why pre-training at 90% is cheap.")
    return upscale(tiles, display_factor(config.image_size) * 2), answer


def strategies(pipeline: VideoMAEPipeline, session: Session) -> tuple[np.ndarray, str]:
    """Step 4: the four strategies at this ratio and seed -> (bar chart, the best one and what copying gets)."""
    results = pipeline.compare_masking(session.analysis.reconstructor_input, session.settings)
    best = max(results, key=lambda name: results[name]["psnr"])
    answer = f"On this clip the decoder scores best under **{best}** masking. " + compare_sentence(results)
    return figure_to_array(strategies_figure(results, session.settings.mask_ratio)), answer


def prediction(pipeline: VideoMAEPipeline, session: Session) -> tuple[np.ndarray, str]:
    """Step 5: original / masked / prediction / + visible per time slice -> (image, the scores)."""
    a = session.analysis
    views = panels(a.frames, a.predicted, a.pixel_mask, a.interpolated)
    shown = {name: upscale(view, display_factor(a.frames.shape[1]))
             for name, view in first_of_slices(views, pipeline.reconstructor_config.tubelet_size).items()
             if name != "interpolation"}
    answer = ("Blurry where the scene has detail: the decoder is trained on squared error, and the average of all "
              "plausible answers minimises it. " + scores(a.reconstruction))
    return lab_grid(shown, columns=len(next(iter(shown.values())))), answer


def error(pipeline: VideoMAEPipeline, session: Session) -> tuple[str, str]:
    """Step 6: the error per hidden patch -> (PNG path, the error of the most and least moving quarters)."""
    config, a = pipeline.reconstructor_config, session.analysis
    t = config.grid[0]
    errors = a.reconstruction.patch_error.reshape(config.grid)  # (t, h, w) float
    hidden = a.reconstruction.mask.reshape(config.grid)  # (t, h, w) bool
    motion = cell_motion(torch.from_numpy(a.frames), config.patch_size).repeat(t, 1, 1)  # (t, h, w)
    moving, still = hidden & (motion >= motion[hidden].quantile(1 - MOTION_SHARE)), \
        hidden & (motion <= motion[hidden].quantile(MOTION_SHARE))
    answer = (f"Mean squared error of the quarter of hidden patches that move most: **{errors[moving].mean():.4f}**; "
              f"of the quarter that move least: **{errors[still].mean():.4f}**. Detail and motion are what a blurry "
              "guess misses; flat, still regions are easy.")
    return error_image(pipeline, a, request_folder()), answer


def pooling(pipeline: VideoMAEPipeline, session: Session) -> tuple[np.ndarray, str]:
    """Step 7: the top-k as bars -> (image, how mean pooling and the linear head give it)."""
    config, a = pipeline.classifier_config, session.analysis
    top = ", ".join(f"*{name}* {prob:.1%}" for name, prob in a.labels)
    answer = (f"By **mean pooling**: the classifier's encoder sees all {config.num_patches} tokens (no mask), their "
              f"{config.hidden_size}-number outputs of the last layer are averaged into one vector, normalised "
              f"(`fc_norm`) and sent through one linear layer; a softmax gives the probabilities: {top}.")
    if pipeline.classifier_views > 1:
        answer += (f" The embedded classifier does this for {pipeline.classifier_views} mirrored and transposed views "
                   "of the clip and averages them.")
    return figure_to_array(topk_figure(a.labels, config.num_patches)), answer


STEPS: tuple[Callable[[VideoMAEPipeline, Session], tuple[np.ndarray | str, str]], ...] = (
    tubelets, mask, encoder_input, strategies, prediction, error, pooling)
NEED_A_MASK = (strategies, prediction, error)  # steps that score hidden patches


def _reveal(step: int) -> Callable[[Session | None], tuple[str, str]]:
    """The handler of step ``step``'s reveal button: session -> (picture PNG path, the answer as Markdown)."""

    def handler(session: Session | None) -> tuple[str, str]:
        if session is None:
            raise refuse("Analyse a clip first: the lesson works on the clip you loaded.")
        if STEPS[step] in NEED_A_MASK and session.analysis.reconstruction.psnr is None:
            raise refuse("Nothing is hidden at a masking ratio of 0: raise it and analyse again for this step.")
        picture, answer = STEPS[step](get_pipeline(session.preset), session)
        path = picture if isinstance(picture, str) else request_png(picture, request_folder(), f"lesson-{step + 1}")
        return path, answer

    handler.__name__ = f"reveal_{STEPS[step].__name__}"
    return handler


REVEALS = tuple(_reveal(step) for step in range(len(STEPS)))  # one handler per step, made once
