"""Where the models run: CUDA when torch sees a GPU, else the CPU, unless told otherwise.

The choice is a device name: "auto" (the default), "cpu", "cuda" or "cuda:N". The CLI takes it as ``--device``,
the app from the environment variable ``VIDEOMAE_VIZ_DEVICE``. Rendering always stays on the CPU.
"""

from __future__ import annotations

import os

import torch

DEVICE_ENV = "VIDEOMAE_VIZ_DEVICE"
AUTO = "auto"


def resolve_device(name: str | torch.device | None = None) -> torch.device:
    """The device for ``name`` (None: ``VIDEOMAE_VIZ_DEVICE``, else "auto": CUDA when available, else the CPU).
    ValueError for a name torch does not know or a GPU torch cannot see."""
    if isinstance(name, torch.device):
        return name
    name = (name or os.environ.get(DEVICE_ENV) or AUTO).strip().lower()
    if name == AUTO:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but torch sees no CUDA GPU here; use auto or cpu")
    return device
