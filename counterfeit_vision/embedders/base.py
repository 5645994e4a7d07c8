"""The image embedder interface and the batching/precision machinery shared by backends."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image

from counterfeit_vision._digest import file_digest  # re-exported: the embedders' weights digest
from counterfeit_vision.embedders._device import resolve_device, resolve_dtype
from counterfeit_vision.errors import UserError

__all__ = ["EmbedderInfo", "ImageEmbedder", "WeightsNotFoundError", "file_digest", "l2_normalize"]

log = logging.getLogger(__name__)


class WeightsNotFoundError(UserError, RuntimeError):
    """Model weights are not available; the message says how to get them.

    Raised instead of ever running a model with random weights.
    """


@dataclass(frozen=True)
class EmbedderInfo:
    """What produced a vector: stamped into index manifests and every result."""

    name: str          # e.g. "efficientnet_lite0" or "open_clip:ViT-B-32/laion2b_s34b_b79k"
    dim: int
    weights: str       # where the weights came from (file name, tag)
    weights_digest: str  # short content hash of the weights file
    normalization: str = "l2"

    def to_dict(self) -> dict:
        return asdict(self)

    def compatible_with(self, other: "EmbedderInfo") -> bool:
        return (self.name, self.dim, self.weights_digest) == (other.name, other.dim, other.weights_digest)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Scale each row of ``x`` to unit L2 norm (zero rows stay zero), as float32."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class ImageEmbedder:
    """Embeds PIL images into L2-normalised float32 vectors, in batches.

    Subclasses set ``model`` (images in, features out), ``preprocess`` (one PIL
    image to a (3, H, W) float tensor) and ``info``.
    """

    info: EmbedderInfo
    model: torch.nn.Module
    preprocess: Callable[[Image.Image], torch.Tensor]
    #: Submodules (``model.get_submodule`` names) that fast paths keep in float32 when they run the
    #: rest of the network in bf16/fp16: early layers whose rounding would dominate the embedding error.
    #: ``embed_images`` / ``embed_tensors`` do not use it.
    fp32_modules: tuple[str, ...] = ()

    def __init__(self, *, device: str = "auto", precision: str = "auto"):
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(precision, self.device)
        # set by embedders.fast_path.prepare_for_cpu: inputs are then fed in channels-last layout
        self.channels_last = False
        self.fast_models: dict = {}  # embedders.fast_path.fast_model's compiled variants, per settings

    @property
    def dim(self) -> int:
        return self.info.dim

    def _finish_init(self) -> None:
        self.model = self.model.eval().to(self.device)
        log.info("embedder %s on %s (%s)", self.info.name, self.device, self.dtype)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, D) features; override for models with a special entry point."""
        return self.model(batch)

    @torch.inference_mode()
    def embed_tensors(self, batch: torch.Tensor) -> np.ndarray:
        """Embed a preprocessed (B, 3, H, W) batch."""
        batch = batch.to(self.device, non_blocking=True)
        if self.dtype is torch.float32:
            feats = self.forward(batch)
        else:
            # autocast keeps numerically sensitive ops (norms, softmax) in fp32
            with torch.autocast(device_type=self.device.type, dtype=self.dtype):
                feats = self.forward(batch)
        return l2_normalize(feats.float().cpu().numpy())  # (B, D)

    def embed_images(self, images: Sequence[Image.Image], *, batch_size: int = 32) -> np.ndarray:
        """Embed PIL images; returns (N, D) float32, rows L2-normalised."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        out = np.zeros((len(images), self.dim), dtype=np.float32)
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size]
            batch = torch.stack([self.preprocess(im) for im in chunk])  # (B, 3, H, W)
            out[start:start + len(chunk)] = self.embed_tensors(batch)
        return out

    def decode_scale(self, size: tuple[int, int]) -> int:
        """How much (1, 2, 4 or 8) a JPEG of ``size`` may be reduced while decoding (``images.load_rgb_scaled``)
        with :meth:`preprocess_scaled` still giving (nearly) ``preprocess`` of the full decode; 1 unless the
        backend knows how to compensate."""
        return 1

    def preprocess_scaled(self, img: Image.Image) -> torch.Tensor:
        """``preprocess`` for an image from ``images.load_rgb_scaled``, whose ``info["original_size"]`` and
        ``info["draft_scale"]`` a backend may use to reproduce the full decode's tensor."""
        return self.preprocess(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.info.name}, device={self.device}, dtype={self.dtype})"
