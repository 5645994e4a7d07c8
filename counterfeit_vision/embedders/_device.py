"""Device and precision selection, in one place so GPU and CPU paths share it."""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from counterfeit_vision.errors import ConfigError

__all__ = ["cpu_has_fast_bf16", "resolve_device", "resolve_dtype"]

_PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else CPU; an explicit CUDA request
    without a GPU is an error rather than a silent fallback."""
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} requested but CUDA is not available; use device='cpu' or 'auto'")
    if device != "cpu" and not device.startswith("cuda"):
        raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    return torch.device(device)


@functools.lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True when the CPU multiplies bf16 natively (AMX or AVX512-BF16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    """Compute dtype for the forward pass; outputs are always float32.

    ``"auto"``: fp16 on CUDA, bf16 on CPUs with native bf16 (several times
    faster than fp32 there, cosine agreement > 0.99), else fp32.
    """
    if precision == "auto":
        if device.type == "cuda":
            return torch.float16
        return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
    if precision not in _PRECISIONS:
        raise ConfigError(f"precision must be one of auto, {', '.join(_PRECISIONS)}; got {precision!r}")
    dtype = _PRECISIONS[precision]
    if dtype is torch.float16 and device.type == "cpu":
        raise ConfigError("fp16 is not supported on CPU; use bf16 or fp32")
    return dtype
