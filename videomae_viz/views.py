"""Symmetric views: ask a model about mirrored and transposed copies of a clip and average the answers.

Some label sets map predictably under such views. For the embedded motion model, mirroring left-right turns
"moving left" into "moving right" and clockwise into counterclockwise; transposing turns "moving left" into
"moving up". A checkpoint declares this in its config (``VideoMAEConfig.label_symmetries``); each view's
probabilities are then read back in the clip's own labels and averaged, which evens out the single views' errors.
Checkpoints without symmetries (the Kinetics and SSv2 ones) get one view, the clip as given. Time is never reversed:
the time-reversal test must stay a test of the model.

A reconstruction can average views too (``square_views``): each view of the clip is masked at the view of the same
patches, the decoder's prediction is mapped back, and the predictions are averaged. Every view sees exactly the
patches the clip shows, so nothing hidden is used; a checkpoint says how many views it wants
(``VideoMAEConfig.reconstruction_views``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
from torch import Tensor

# name -> the view of (B, T, C, H, W) pixel values; the names are the keys of a config's label symmetries
VIEWS: dict[str, Callable[[Tensor], Tensor]] = {
    "flip_width": lambda x: x.flip(-1),
    "flip_height": lambda x: x.flip(-2),
    "transpose": lambda x: x.transpose(-2, -1),
}


def square_views(count: int) -> list[tuple[str, ...]]:
    """The first ``count`` (1, 2, 4 or 8) combinations of the views, each the names applied in order, the clip as given
    first; all 8 are the symmetries of a square (mirrors and quarter turns)."""
    if count not in (1, 2, 4, 8):
        raise ValueError(f"a reconstruction averages 1, 2, 4 or 8 views, got {count}")
    names = list(VIEWS)[:count.bit_length() - 1]
    return [tuple(name for name, on in zip(names, chosen) if on)
            for chosen in itertools.product((False, True), repeat=len(names))]


def apply_view(x: Tensor, view: tuple[str, ...]) -> Tensor:
    """A view of anything whose last two dimensions are (height, width): pixels, frames or the token grid."""
    for name in view:
        x = VIEWS[name](x)
    return x


def undo_view(x: Tensor, view: tuple[str, ...]) -> Tensor:
    """``apply_view``'s inverse (each of the views is its own inverse, so they are undone in reverse order)."""
    for name in reversed(view):
        x = VIEWS[name](x)
    return x


def view_count(symmetries: dict[str, tuple[int, ...]]) -> int:
    """How many views ``symmetric_views`` makes: every combination of the declared ones, the clip as given included."""
    return 2 ** len(symmetries)


def symmetric_views(pixel_values: Tensor, symmetries: dict[str, tuple[int, ...]],
                    num_labels: int) -> tuple[Tensor, Tensor]:
    """Every combination of the declared views: (B, T, C, H, W) -> ((V * B, T, C, H, W), (V, L) int64), V = 2^k for
    k symmetries, view-major with the clip as given first (so batch element 0 is the first clip, unchanged).
    Row v of the second tensor maps labels: class c of the clip is class maps[v, c] of view v."""
    unknown = set(symmetries) - set(VIEWS)
    if unknown:
        raise ValueError(f"unknown views {', '.join(sorted(unknown))} in the label symmetries; "
                         f"known: {', '.join(VIEWS)}")
    names = [name for name in VIEWS if name in symmetries]
    views, maps = [], []
    for chosen in itertools.product((False, True), repeat=len(names)):
        x, labels = pixel_values, torch.arange(num_labels)
        for name, apply in zip(names, chosen):
            if apply:
                x, labels = VIEWS[name](x), torch.tensor(symmetries[name])[labels]
        views.append(x)
        maps.append(labels)
    return torch.cat(views), torch.stack(maps)


def view_average(logits: Tensor, maps: Tensor) -> Tensor:
    """(V * B, L) logits of ``symmetric_views`` -> (B, L) float32 probabilities: the softmax of the views' mean
    log-probability of each of the clip's classes (a normalised geometric mean)."""
    V, L = maps.shape
    logp = logits.float().log_softmax(dim=-1).view(V, -1, L)  # (V, B, L) in each view's labels
    aligned = logp.gather(2, maps[:, None, :].expand_as(logp))  # (V, B, L) in the clip's labels
    return aligned.mean(dim=0).softmax(dim=-1)
