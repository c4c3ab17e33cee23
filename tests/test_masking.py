"""Masks: bool, True = masked, exact counts, reproducible from a seed, the structure each strategy promises."""

from __future__ import annotations

import pytest
import torch

from videomae_viz.masking import STRATEGIES, make_batch_masks, make_mask, mask_grid, masked_count

GRID = (8, 14, 14)  # ViT-B: 1568 tokens


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("ratio", [0.5, 0.75, 0.9])
def test_exact_count_and_seed(strategy, ratio):
    mask = make_mask(strategy, GRID, ratio, seed=3)
    assert mask.dtype == torch.bool and mask.shape == (1568,)
    assert int(mask.sum()) == masked_count(strategy, GRID, ratio, seed=3)
    assert torch.equal(mask, make_mask(strategy, GRID, ratio, seed=3))


def test_reference_counts():
    assert masked_count("tube", GRID, 0.9) == 1408  # 8 * 176, as VideoMAE's TubeMaskingGenerator
    assert masked_count("tube", GRID, 0.75) == 8 * 147
    assert masked_count("random", GRID, 0.9) == int(0.9 * 1568)
    assert masked_count("frame", GRID, 0.9) == 7 * 196
    assert masked_count("running-cell", GRID, 0.5) == 784  # two of four cell slots in every slice


def test_seeds_differ():
    assert not torch.equal(make_mask("tube", GRID, 0.9, 0), make_mask("tube", GRID, 0.9, 1))
    assert not torch.equal(make_mask("random", GRID, 0.9, 0), make_mask("random", GRID, 0.9, 1))


def test_tube_repeats_one_pattern_over_time():
    grid = mask_grid(make_mask("tube", GRID, 0.9, 5), GRID)  # (t, h, w)
    assert all(torch.equal(grid[0], grid[i]) for i in range(GRID[0]))
    assert int(grid[0].sum()) == 176


def test_frame_masks_whole_time_slices():
    grid = mask_grid(make_mask("frame", GRID, 0.5, 2), GRID)
    per_slice = grid.flatten(1).sum(1)
    assert set(per_slice.tolist()) == {0, 196} and int((per_slice == 196).sum()) == 4


def test_random_is_not_tube():
    grid = mask_grid(make_mask("random", GRID, 0.9, 5), GRID)
    assert not all(torch.equal(grid[0], grid[i]) for i in range(GRID[0]))


def test_running_cell_rotates_one_slot_per_slice():
    grid = mask_grid(make_mask("running-cell", GRID, 0.5, 1), GRID)
    cells = grid[:, :2, :2].reshape(GRID[0], 4)  # (t, 4) the first 2x2 cell
    assert all(int(c.sum()) == 2 for c in cells)
    for a, b in zip(cells[:-1], cells[1:]):
        assert torch.equal(b, a.roll(-1))  # the queue advances by one slot
    # tiled: every 2x2 cell of a slice equals the first one
    assert torch.equal(grid[:, 2:4, 4:6], grid[:, :2, :2])
    # each position is kept in half of the slices, as in VideoMAE v2
    assert torch.all(grid.sum(0) == GRID[0] // 2)


def test_running_cell_on_an_odd_grid_counts_exactly():
    grid = (8, 7, 7)
    for seed in range(4):
        assert int(make_mask("running-cell", grid, 0.5, seed).sum()) == masked_count("running-cell", grid, 0.5, seed)


def test_batch_masks_have_equal_counts():
    masks = make_batch_masks("tube", GRID, 0.9, [0, 1, 2])
    assert masks.shape == (3, 1568) and masks.sum(1).unique().numel() == 1


@pytest.mark.parametrize("bad", [("blocks", 0.5), ("tube", 1.0), ("tube", -0.1)])
def test_bad_settings_are_clear_errors(bad):
    with pytest.raises(ValueError):
        make_mask(bad[0], GRID, bad[1])
