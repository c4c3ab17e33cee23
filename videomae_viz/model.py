"""VideoMAE (Tong et al. 2022) in plain PyTorch: the encoder, the pre-training autoencoder and the classifier.

Module names follow the original MCG-NJU code (``blocks.{i}.attn.qkv``, ``norm1``, ``mlp.fc1``); ``checkpoints``
maps transformers' names onto them. The call convention matches transformers:
``model(pixel_values, bool_masked_pos=None)`` with pixel_values (B, T, C, H, W) float and bool_masked_pos (B, N)
bool, True = masked. Shapes: see the glossary in ``config``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import VideoMAEConfig
from .kernels import FUSED_ATTN, active_probe, attend
from .patches import normalize_patches, patch_stats, patchify, target_frames


def sinusoid_table(n_position: int, dim: int) -> Tensor:
    """Fixed position table (1, n_position, dim) float32: angle p / 10000^(2*(j//2)/dim), sin on even columns and cos
    on odd ones (interleaved), computed in float64 as the reference does."""
    pos = np.arange(n_position, dtype=np.float64)[:, None]
    j = np.arange(dim)
    angle = pos / np.power(10000, 2 * (j // 2) / dim)  # (n, dim)
    angle[:, 0::2] = np.sin(angle[:, 0::2])
    angle[:, 1::2] = np.cos(angle[:, 1::2])
    return torch.from_numpy(angle).float().unsqueeze(0)


class Attention(nn.Module):
    """Multi-head self-attention with separate q and v biases and no k bias."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)  # rows [q; k; v]
        self.q_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.v_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.proj = nn.Linear(dim, dim)
        self.fused_attn = FUSED_ATTN

    def forward(self, x: Tensor) -> Tensor:
        B, N, D = x.shape  # batch, tokens, width
        bias = None
        if self.q_bias is not None:
            bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias)  # (B, N, 3D)
        q, k, v = qkv.view(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4).unbind(0)  # (B, nh, N, hd)
        probe = active_probe(self)
        x = attend(q, k, v, self.fused_attn, probe)  # (B, nh, N, hd)
        if probe is not None and probe.tensors is not None:
            probe.tensors(q, k, v, x)
        return self.proj(x.transpose(1, 2).reshape(B, N, D))


class MLP(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        h = self.fc1(x)  # (B, N, hidden)
        # Exact erf GELU. Without autograd it runs in place: one (B, N, hidden) buffer fewer per layer (ViT-B: 19 MB;
        # see ``Block``).
        h = F.gelu(h) if torch.is_grad_enabled() else torch.ops.aten.gelu_(h)
        return self.fc2(h)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, qkv_bias: bool, eps: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = MLP(dim, mlp_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))  # a new tensor: the caller's x (e.g. a kept hidden state) is never written
        update = self.mlp(self.norm2(x))  # (B, N, D)
        # Without autograd the second residual adds in place. With the in-place GELU that is two fresh buffers fewer
        # per layer, so fewer page faults in a fresh process (measured: docs/runtime-experiments.md).
        return x + update if torch.is_grad_enabled() else x.add_(update)


@dataclass
class VideoMAEOutput:
    """What the models return; fields a model does not produce stay None."""

    logits: Tensor | None = None  # (B, num_labels), or (B, N_mask, P) for pre-training
    loss: Tensor | None = None  # scalar
    last_hidden_state: Tensor | None = None  # (B, N or N_vis, D)
    hidden_states: tuple[Tensor, ...] | None = None  # embeddings, then the output of each layer


def _check_mask(bool_masked_pos: Tensor, batch: int, num_patches: int, name: str = "bool_masked_pos") -> None:
    if bool_masked_pos.dtype != torch.bool or bool_masked_pos.shape != (batch, num_patches):
        raise ValueError(f"{name} must be a bool tensor of shape ({batch}, {num_patches}), "
                         f"got {bool_masked_pos.dtype} {tuple(bool_masked_pos.shape)}")
    counts = bool_masked_pos.sum(dim=1)
    if bool(counts.ne(counts[0]).any()):
        raise ValueError(f"{name}: every clip in a batch must have the same number of chosen tokens")


def _select(x: Tensor, rows: Tensor) -> Tensor:
    """Each clip's tokens where ``rows`` (B, N) bool is True, in ascending token order: (B, N, X) -> (B, n, X).
    Every clip selects the same number (``_check_mask``)."""
    return x[rows].reshape(x.shape[0], -1, x.shape[-1])


class VideoMAEModel(nn.Module):
    """The encoder: tubelet embedding + fixed positions -> visible tokens -> blocks (-> final norm)."""

    def __init__(self, config: VideoMAEConfig) -> None:
        super().__init__()
        self.config = config
        u, p, D = config.tubelet_size, config.patch_size, config.hidden_size
        # Conv3d weights (D, C, u, p, p), as checkpoints store them; ``embed`` applies them as a matmul.
        self.patch_embed = nn.Conv3d(config.num_channels, D, kernel_size=(u, p, p), stride=(u, p, p))
        self.register_buffer("pos_embed", sinusoid_table(config.num_patches, D), persistent=False)
        self.blocks = nn.ModuleList(
            Block(D, config.num_attention_heads, config.intermediate_size, config.qkv_bias, config.layer_norm_eps)
            for _ in range(config.num_hidden_layers)
        )
        # Mean-pooling models have no final norm here; the classifier's fc_norm follows the pooling instead.
        self.norm = None if config.use_mean_pooling else nn.LayerNorm(D, eps=config.layer_norm_eps)

    def embed(self, pixel_values: Tensor, bool_masked_pos: Tensor | None = None) -> Tensor:
        """(B, T, C, H, W) -> tokens with positions, (B, N, D), or (B, N_vis, D) keeping only visible ones."""
        B, T, C, H, W = pixel_values.shape
        cfg = self.config
        if (T, C, H, W) != (cfg.num_frames, cfg.num_channels, cfg.image_size, cfg.image_size):
            raise ValueError(f"pixel_values must be (B, {cfg.num_frames}, {cfg.num_channels}, {cfg.image_size}, "
                             f"{cfg.image_size}), got {tuple(pixel_values.shape)}")
        patches = patchify(pixel_values, cfg)  # (B, N, P), token n = (t, h, w)
        positions = self.pos_embed.expand(B, -1, -1)  # (B, N, D)
        if bool_masked_pos is not None:  # only visible tubelets are embedded
            _check_mask(bool_masked_pos, B, cfg.num_patches)
            patches = _select(patches, ~bool_masked_pos)  # (B, N_vis, P)
            positions = _select(positions, ~bool_masked_pos)  # (B, N_vis, D)
        # A Conv3d whose stride is its kernel is a linear map of each tubelet's pixels: run it as one matmul on the
        # patch vectors, (C, u, p, p) weights reordered to their (u, p, p, C) layout. On CPU that trains faster than
        # the convolution (measured: docs/runtime-experiments.md).
        weight = self.patch_embed.weight.permute(0, 2, 3, 4, 1).flatten(1)  # (D, u*p*p*C)
        x = F.linear(patches, weight, self.patch_embed.bias)  # (B, N or N_vis, D)
        return x + positions.to(x.dtype)

    def forward(self, pixel_values: Tensor, bool_masked_pos: Tensor | None = None,
                output_hidden_states: bool = False) -> VideoMAEOutput:
        x = self.embed(pixel_values, bool_masked_pos)  # (B, N or N_vis, D)
        hidden = [x] if output_hidden_states else None  # kept only when asked: each layer's output frees the last
        for block in self.blocks:
            x = block(x)
            if hidden is not None:
                hidden.append(x)
        if self.norm is not None:
            x = self.norm(x)
        return VideoMAEOutput(last_hidden_state=x, hidden_states=tuple(hidden) if hidden is not None else None)


class VideoMAEForVideoClassification(nn.Module):
    """Encoder -> mean over tokens -> fc_norm -> linear head; or first token after the final norm when
    ``use_mean_pooling`` is false (there is no CLS token)."""

    def __init__(self, config: VideoMAEConfig) -> None:
        super().__init__()
        self.config = config
        D = config.hidden_size
        self.videomae = VideoMAEModel(config)
        self.fc_norm = nn.LayerNorm(D) if config.use_mean_pooling else None  # eps 1e-5, as transformers builds it
        self.classifier = nn.Linear(D, config.num_labels) if config.num_labels > 0 else nn.Identity()

    def pool(self, tokens: Tensor) -> Tensor:
        """(B, N, D) encoder output -> (B, D) clip feature."""
        if self.fc_norm is not None:
            return self.fc_norm(tokens.mean(dim=1))
        return tokens[:, 0]

    def forward(self, pixel_values: Tensor, bool_masked_pos: Tensor | None = None,
                labels: Tensor | None = None, output_hidden_states: bool = False) -> VideoMAEOutput:
        out = self.videomae(pixel_values, bool_masked_pos, output_hidden_states)
        logits = self.classifier(self.pool(out.last_hidden_state))  # (B, num_labels)
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        return VideoMAEOutput(logits=logits, loss=loss, last_hidden_state=out.last_hidden_state,
                              hidden_states=out.hidden_states)


class VideoMAEDecoder(nn.Module):
    """Blocks of the decoder width, then norm and the pixel head on the masked tokens only."""

    def __init__(self, config: VideoMAEConfig) -> None:
        super().__init__()
        Dd = config.decoder_hidden_size
        self.blocks = nn.ModuleList(
            Block(Dd, config.decoder_num_attention_heads, config.decoder_intermediate_size, config.qkv_bias,
                  config.layer_norm_eps)
            for _ in range(config.decoder_num_hidden_layers)
        )
        self.norm = nn.LayerNorm(Dd)  # eps 1e-5, as transformers builds it
        self.head = nn.Linear(Dd, config.patch_dim)

    def forward(self, x: Tensor, num_masked: int) -> Tensor:
        """(B, N_vis + N_mask, Dd), masked tokens last -> (B, N_mask, P)."""
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x[:, x.shape[1] - num_masked:]))


class VideoMAEForPreTraining(nn.Module):
    """The masked autoencoder: encoder on visible tokens, decoder on visible + mask tokens, pixel loss on the masked."""

    def __init__(self, config: VideoMAEConfig) -> None:
        super().__init__()
        self.config = config
        Dd = config.decoder_hidden_size
        self.videomae = VideoMAEModel(config)
        self.encoder_to_decoder = nn.Linear(config.hidden_size, Dd, bias=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, Dd))
        self.register_buffer("decoder_pos_embed", sinusoid_table(config.num_patches, Dd), persistent=False)
        self.decoder = VideoMAEDecoder(config)

    def pixel_targets(self, pixel_values: Tensor) -> Tensor:
        """The loss target for every token, (B, N, P): ImageNet-un-normalised pixels, per-patch normalised when
        ``norm_pix_loss`` (per channel, unbiased std + 1e-6)."""
        if self.config.num_channels != 3:
            if not self.config.norm_pix_loss:
                raise ValueError("norm_pix_loss=False needs 3 channels: the target is un-normalised with ImageNet stats")
            frames = pixel_values
        else:
            frames = target_frames(pixel_values)  # (B, T, 3, H, W)
        patches = patchify(frames, self.config)  # (B, N, P)
        if self.config.norm_pix_loss:
            patches = normalize_patches(patches, *patch_stats(patches, self.config), self.config)
        return patches

    def forward(self, pixel_values: Tensor, bool_masked_pos: Tensor | None = None,
                output_hidden_states: bool = False, bool_decoded_pos: Tensor | None = None) -> VideoMAEOutput:
        """pixel_values (B, T, 3, H, W), bool_masked_pos (B, N) bool, True = masked. ``bool_decoded_pos`` (B, N)
        bool, a subset of the masked tokens, the same count per clip: only these get a mask token in the decoder and
        a prediction (VideoMAE V2's decoder masking, which makes training cheaper); default every masked token."""
        if bool_masked_pos is None:
            raise ValueError("VideoMAEForPreTraining needs bool_masked_pos: (B, N) bool, True = masked")
        B = pixel_values.shape[0]
        encoded = self.videomae(pixel_values, bool_masked_pos, output_hidden_states)  # checks bool_masked_pos
        decoded = bool_masked_pos
        if bool_decoded_pos is not None:
            _check_mask(bool_decoded_pos, B, self.config.num_patches, "bool_decoded_pos")
            if bool(bool_decoded_pos[~bool_masked_pos].any()):
                raise ValueError("bool_decoded_pos may only choose masked tokens")
            decoded = bool_decoded_pos
        x_vis = self.encoder_to_decoder(encoded.last_hidden_state)  # (B, N_vis, Dd)
        pos = self.decoder_pos_embed.to(x_vis.dtype).expand(B, -1, -1)  # (B, N, Dd)
        pos_vis = _select(pos, ~bool_masked_pos)  # (B, N_vis, Dd)
        pos_mask = _select(pos, decoded)  # (B, N_dec, Dd)
        # Visible tokens first, mask tokens last; positions are gathered rather than tokens un-shuffled.
        x = torch.cat((x_vis + pos_vis, self.mask_token.to(x_vis.dtype) + pos_mask), dim=1)  # (B, N_vis + N_dec, Dd)
        logits = self.decoder(x, pos_mask.shape[1])  # (B, N_dec, P), ascending token order
        with torch.no_grad():
            labels = _select(self.pixel_targets(pixel_values), decoded)  # (B, N_dec, P)
        loss = F.mse_loss(logits.float(), labels.float())
        return VideoMAEOutput(logits=logits, loss=loss, last_hidden_state=encoded.last_hidden_state,
                              hidden_states=encoded.hidden_states)


MODEL_CLASSES: dict[str, type[nn.Module]] = {
    "VideoMAEModel": VideoMAEModel,
    "VideoMAEForVideoClassification": VideoMAEForVideoClassification,
    "VideoMAEForPreTraining": VideoMAEForPreTraining,
}


def attention_layers(model: nn.Module) -> list[Attention]:
    """The attention modules of ``model``, in forward order."""
    return [module for module in model.modules() if isinstance(module, Attention)]


def set_fused_attn(model: nn.Module, fused: bool) -> None:
    """Switch every attention layer of ``model`` between fused attention (True: SDPA, or ``blocked_attention`` for
    bf16 inference on CPUs without AMX, ``BLOCKED_BF16``) and the manual softmax path (False)."""
    for layer in attention_layers(model):
        layer.fused_attn = fused


def init_weights(model: nn.Module) -> None:
    """Training-from-scratch initialisation (original pre-training recipe): xavier-uniform linear and patch
    weights, zero biases, unit LayerNorms, mask token N(0, 0.02)."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv3d)):
            nn.init.xavier_uniform_(module.weight.view(module.weight.shape[0], -1))
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    if isinstance(model, VideoMAEForPreTraining):
        nn.init.trunc_normal_(model.mask_token, std=0.02)
