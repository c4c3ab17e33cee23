"""Reconstruction maths: exactness with a perfect decoder, and proof that leak-free mode ignores hidden patches."""

from __future__ import annotations

import pytest
import torch

from tests.tiny import TINY, randomize
from videomae_viz.config import (
    IMAGENET_DEFAULT_MEAN,
    IMAGENET_DEFAULT_STD,
    IMAGENET_STANDARD_MEAN,
    IMAGENET_STANDARD_STD,
)
from videomae_viz.masking import make_mask
from videomae_viz.model import VideoMAEForPreTraining
from videomae_viz.patches import tokens_to_pixels
from videomae_viz.reconstruction import predict, reconstruct, target_to_input_pixels, view_inputs
from videomae_viz.views import apply_view, square_views, undo_view

MASK = make_mask("tube", TINY.grid, 0.75, seed=0)


def clip(seed: int = 0) -> torch.Tensor:
    """(1, T, 3, H, W) pixel_values normalised with ImageNet statistics, pixels in [0, 1]."""
    pixels = torch.rand(1, TINY.num_frames, 3, TINY.image_size, TINY.image_size, generator=torch.Generator().manual_seed(seed))
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 1, 3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD).view(1, 1, 3, 1, 1)
    return (pixels - mean) / std


def perfect_logits(config, pixel_values):
    """What a perfect decoder outputs: the loss target at the masked tokens."""
    model = VideoMAEForPreTraining(config)
    return model.pixel_targets(pixel_values)[:, MASK]


def test_perfect_raw_pixel_decoder_is_exact():
    config = TINY.replace(norm_pix_loss=False)
    x = clip()
    rec = reconstruct(perfect_logits(config, x), x, MASK, config, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)
    assert torch.allclose(rec.predicted, rec.original, atol=1e-5)
    assert rec.psnr > 90 and rec.baseline_psnr < 20
    assert rec.patch_error[~MASK].abs().max() == 0


def test_paper_mode_is_exact_and_leak_free_mode_ignores_hidden_patches():
    config = TINY.replace(norm_pix_loss=True)
    x = clip()
    logits = perfect_logits(config, x)
    paper = reconstruct(logits, x, MASK, config, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, stats="paper")
    assert torch.allclose(paper.predicted, paper.original, atol=1e-4)
    # Change only what is hidden: the leak-free picture of the masked patches must not move; the paper one does.
    hidden = x.clone()
    pixel_mask = MASK.view(*TINY.grid).repeat_interleave(2, 0).repeat_interleave(8, 1).repeat_interleave(8, 2)
    hidden[0].permute(1, 0, 2, 3)[:, pixel_mask] += 0.7
    free_a = reconstruct(logits, x, MASK, config, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, stats="leak-free")
    free_b = reconstruct(logits, hidden, MASK, config, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, stats="leak-free")
    paper_b = reconstruct(logits, hidden, MASK, config, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, stats="paper")
    assert torch.equal(free_a.predicted, free_b.predicted)
    assert not torch.allclose(paper.predicted, paper_b.predicted, atol=1e-3)


def test_other_processor_statistics_map_back_exactly():
    frames = torch.rand(4, 3, 8, 8)
    pixel_values = (frames - 0.5) / 0.5  # a 0.5/0.5 processor
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD).view(3, 1, 1)
    target_space = pixel_values * std + mean  # what the loss un-normalises to
    back = target_to_input_pixels(target_space, IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD)
    assert torch.allclose(back, frames, atol=1e-6)


def test_nothing_masked_has_no_score():
    config = TINY.replace(norm_pix_loss=False)
    x = clip()
    none = torch.zeros(TINY.num_patches, dtype=torch.bool)
    rec = reconstruct(torch.zeros(1, 0, config.patch_dim), x, none, config, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)
    assert rec.psnr is None and rec.baseline_psnr is None


def test_decoder_masking_predicts_only_the_chosen_masked_tokens():
    config = TINY.replace(norm_pix_loss=False)
    torch.manual_seed(0)
    model = VideoMAEForPreTraining(config).eval()
    x = clip()
    masks = MASK[None]  # (1, N)
    full = model(x, bool_masked_pos=masks)
    assert torch.equal(model(x, bool_masked_pos=masks, bool_decoded_pos=masks).logits, full.logits)
    chosen = masks.clone()
    chosen[0, MASK.nonzero().flatten()[::2]] = False  # every other masked token
    half = model(x, bool_masked_pos=masks, bool_decoded_pos=chosen)
    assert half.logits.shape == (1, int(chosen.sum()), config.patch_dim)
    targets = model.pixel_targets(x)[chosen][None]  # (1, N_dec, P)
    assert torch.allclose(half.loss, torch.nn.functional.mse_loss(half.logits, targets))
    with pytest.raises(ValueError, match="only choose masked"):
        model(x, bool_masked_pos=masks, bool_decoded_pos=~masks)
    with pytest.raises(ValueError, match="bool_decoded_pos must be a bool tensor"):
        model(x, bool_masked_pos=masks, bool_decoded_pos=chosen[:, 1:])


@pytest.mark.parametrize("norm_pix_loss", [False, True])
@pytest.mark.parametrize("count", [2, 4, 8])
def test_a_perfect_decoder_in_every_view_is_exact_after_mapping_back(count, norm_pix_loss):
    """Each view's mask must hide the view of the same patches and each prediction must land back where it belongs:
    a decoder that is perfect in every view gives back the clip exactly."""
    config = TINY.replace(norm_pix_loss=norm_pix_loss)
    x, views = clip(), square_views(count)
    inputs, masks = view_inputs(x, MASK, config, views)  # (V, T, 3, H, W), (V, N)
    assert inputs.shape[0] == masks.shape[0] == count and bool((masks.sum(1) == MASK.sum()).all())
    targets = VideoMAEForPreTraining(config).pixel_targets(inputs)  # (V, N, P)
    logits = torch.stack([targets[v, masks[v]] for v in range(count)])  # (V, N_mask, P)
    rec = reconstruct(logits, x, MASK, config, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, stats="paper", views=views)
    assert rec.views == count
    assert torch.allclose(rec.predicted, rec.original, atol=1e-4)


def random_views_prediction(model: VideoMAEForPreTraining, x: torch.Tensor, views) -> torch.Tensor:
    inputs, masks = view_inputs(x, MASK, model.config, views)
    with torch.inference_mode():
        logits = model(inputs, bool_masked_pos=masks).logits
    return predict(logits, x, MASK, model.config, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, views=views)


def test_averaged_views_never_see_the_hidden_patches():
    config = TINY.replace(norm_pix_loss=False, architectures=("VideoMAEForPreTraining",))
    model = randomize(VideoMAEForPreTraining(config), 3).eval()
    x, views = clip(), square_views(8)
    hidden = x.clone()
    pixel_mask = tokens_to_pixels(MASK, config)  # (T, H, W) bool
    hidden[0].permute(1, 0, 2, 3)[:, pixel_mask] += 0.7
    a, b = random_views_prediction(model, x, views), random_views_prediction(model, hidden, views)
    assert torch.equal(a.permute(1, 0, 2, 3)[:, pixel_mask], b.permute(1, 0, 2, 3)[:, pixel_mask])
    one = random_views_prediction(model, x, square_views(1))
    assert not torch.allclose(a, one, atol=1e-3)  # the views do change the prediction of a random model


def test_square_views_are_distinct_and_undone():
    grid = torch.arange(2 * 4 * 4).view(2, 4, 4)
    views = square_views(8)
    assert views[0] == () and len({tuple(apply_view(grid, v).flatten().tolist()) for v in views}) == 8
    for view in views:
        assert torch.equal(undo_view(apply_view(grid, view), view), grid)
    assert [len(square_views(n)) for n in (1, 2, 4)] == [1, 2, 4]
    with pytest.raises(ValueError, match="1, 2, 4 or 8"):
        square_views(3)


def test_settings_refuse_a_view_count_the_square_does_not_have():
    from videomae_viz.pipeline import Settings

    assert Settings(views=4).views == 4
    with pytest.raises(ValueError, match="1, 2, 4 or 8"):
        Settings(views=6)
