"""Image embedders: CLIP (open_clip) and the offline EfficientNet-Lite0 (default), Lite1 and Lite2.

``create_embedder("auto")`` uses CLIP when its weights are on this machine and
the offline embedder otherwise, and logs which; every result names the
embedder that produced it.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from counterfeit_vision.embedders.base import EmbedderInfo, ImageEmbedder, WeightsNotFoundError

__all__ = ["EmbedderInfo", "ImageEmbedder", "WeightsNotFoundError", "create_embedder", "EMBEDDER_NAMES"]

from counterfeit_vision.errors import ConfigError

log = logging.getLogger(__name__)

EMBEDDER_NAMES = ("auto", "clip", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2",
                  "efficientnet_lite0_logo")


def create_embedder(name: str = "auto", *, device: str = "auto", precision: str = "auto",
                    clip_model: str | None = None, clip_pretrained: str | None = None,
                    cache_dir: str | None = None) -> "ImageEmbedder":
    """Build an embedder by name.

    Args:
        name: ``"auto"``, ``"clip"``, an offline ``"efficientnet_lite{0,1,2}"`` or
            ``"efficientnet_lite0_logo"`` (Lite0 with a logo-tuned tail).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        precision: ``"auto"``, ``"fp32"``, ``"bf16"`` or ``"fp16"`` (CUDA only).
        clip_model, clip_pretrained: open_clip model name and tag or local file.

    Raises:
        WeightsNotFoundError: the requested model's weights are missing.
    """
    from counterfeit_vision.embedders import clip, efficientnet
    from counterfeit_vision.embedders.base import WeightsNotFoundError

    model = clip_model or clip.DEFAULT_MODEL
    pretrained = clip_pretrained or clip.DEFAULT_PRETRAINED
    if name == "clip":
        return clip.OpenClipEmbedder(model, pretrained, cache_dir=cache_dir, device=device, precision=precision)
    if name == "efficientnet_lite0":
        return efficientnet.EfficientNetLite0Embedder(device=device, precision=precision)
    if name in efficientnet.LITE_VARIANTS:
        return efficientnet.EfficientNetLiteEmbedder(variant=name, device=device, precision=precision)
    if name == "auto":
        try:
            emb = clip.OpenClipEmbedder(model, pretrained, cache_dir=cache_dir, offline=True,
                                        device=device, precision=precision)
        except WeightsNotFoundError as exc:
            log.warning("embedder=auto: CLIP weights not available locally (%s); using efficientnet_lite0",
                        str(exc).split(";")[0])
            return efficientnet.EfficientNetLite0Embedder(device=device, precision=precision)
        log.info("embedder=auto: using %s", emb.info.name)
        return emb
    raise ConfigError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDER_NAMES)}")


def __getattr__(name: str):
    # torch loads only when an embedder is used: the CLI's parser reads EMBEDDER_NAMES without it
    if name in ("EmbedderInfo", "ImageEmbedder", "WeightsNotFoundError"):
        return getattr(importlib.import_module("counterfeit_vision.embedders.base"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
