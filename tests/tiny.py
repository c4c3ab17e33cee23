"""Tiny random VideoMAE models shared by the tests, built in transformers and copied into ours."""

from __future__ import annotations

import torch

from videomae_viz.config import VideoMAEConfig

TINY = VideoMAEConfig(
    image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
    num_attention_heads=4, intermediate_size=37, decoder_hidden_size=24, decoder_num_hidden_layers=2,
    decoder_num_attention_heads=2, decoder_intermediate_size=29,
    id2label={0: "zero", 1: "one", 2: "two"},
)


def randomize(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter random values (transformers starts q/v biases and the mask token at zero, which hides
    bias bugs); LayerNorm-like weights stay near 1 so activations keep a sensible scale."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if p.ndim == 1 and ("norm" in name) and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * noise)
            else:
                p.copy_(0.2 * noise)
    return module


def pixel_values(config: VideoMAEConfig, batch: int = 2, seed: int = 1) -> torch.Tensor:
    """(B, T, C, H, W) float32 normalised-looking input."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, config.num_frames, config.num_channels, config.image_size, config.image_size,
                       generator=gen)
