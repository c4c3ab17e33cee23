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


def save_tiny_pair(folder, norm_pix_loss: bool = False) -> tuple[str, str]:
    """A random tiny classifier and pre-training model in the hub layout, with a 32 px processor config.
    Returns (classifier_dir, reconstructor_dir)."""
    from pathlib import Path

    from videomae_viz.checkpoints import save_pretrained
    from videomae_viz.model import VideoMAEForPreTraining, VideoMAEForVideoClassification
    from videomae_viz.preprocess import VideoMAEProcessor

    folder = Path(folder)
    processor = VideoMAEProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    cls = randomize(VideoMAEForVideoClassification(TINY.replace(architectures=("VideoMAEForVideoClassification",))), 5)
    pre_config = TINY.replace(architectures=("VideoMAEForPreTraining",), use_mean_pooling=False,
                              norm_pix_loss=norm_pix_loss, id2label={})
    pre = randomize(VideoMAEForPreTraining(pre_config), 6)
    for name, model in (("classifier", cls), ("reconstructor", pre)):
        save_pretrained(model, folder / name)
        processor.save(folder / name)
    return str(folder / "classifier"), str(folder / "reconstructor")
