"""CLIP image embedder through open_clip, with weights resolved in one place.

Weights come from, in order: a local file passed as ``pretrained``; the local
cache for a hub tag (e.g. ``laion2b_s34b_b79k``); a download of that tag unless
``offline``. Missing weights raise :class:`WeightsNotFoundError` with the fix;
we always pass ``require_pretrained=True`` so open_clip never hands back a
randomly initialised model.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from PIL import Image

from counterfeit_vision.embedders.base import EmbedderInfo, ImageEmbedder, WeightsNotFoundError, file_digest

__all__ = ["DEFAULT_MODEL", "DEFAULT_PRETRAINED", "OpenClipEmbedder", "find_cached_weights", "offline_mode"]

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_PRETRAINED = "laion2b_s34b_b79k"


def offline_mode() -> bool:
    """Offline when asked via CV_OFFLINE=1 or the Hugging Face switch HF_HUB_OFFLINE=1."""
    return os.environ.get("CV_OFFLINE", "") == "1" or os.environ.get("HF_HUB_OFFLINE", "") == "1"


def _hub_location(model_name: str, tag: str) -> tuple[str, list[str]] | None:
    import open_clip

    cfg = open_clip.get_pretrained_cfg(model_name, tag)
    if not cfg:
        return None
    if cfg.get("file"):
        return "", [cfg["file"]]
    hub = cfg.get("hf_hub", "")
    if not hub:
        return None
    repo_id, filename = os.path.split(hub)
    filename = filename or "open_clip_pytorch_model.bin"
    stem = filename.rsplit(".", 1)[0]
    # open_clip prefers a safetensors twin of the same name when one exists
    return repo_id, [f"{stem}.safetensors", "open_clip_model.safetensors", filename]


def find_cached_weights(model_name: str, tag: str, cache_dir: str | None = None) -> Path | None:
    """Local path of a hub tag's weights if already cached, without any network."""
    loc = _hub_location(model_name, tag)
    if loc is None:
        return None
    repo_id, names = loc
    if not repo_id:
        return Path(names[0]) if Path(names[0]).is_file() else None
    from huggingface_hub import try_to_load_from_cache

    for name in names:
        hit = try_to_load_from_cache(repo_id, name, cache_dir=cache_dir)
        if isinstance(hit, str) and Path(hit).is_file():
            return Path(hit)
    return None


def _resolve_weights(model_name: str, pretrained: str, cache_dir: str | None, offline: bool) -> Path:
    if Path(pretrained).is_file():
        return Path(pretrained)
    cached = find_cached_weights(model_name, pretrained, cache_dir)
    if cached is not None:
        return cached
    fix = (f"fix: put the checkpoint file on disk and pass pretrained='/path/to/file', "
           f"or run once with network access (CV_OFFLINE unset) to cache tag {pretrained!r}, "
           f"or use the offline embedder (embedder='efficientnet_lite0')")
    if _hub_location(model_name, pretrained) is None:
        raise WeightsNotFoundError(f"{pretrained!r} is neither a file nor a known open_clip tag for {model_name}; "
                                   f"{fix}")
    if offline:
        raise WeightsNotFoundError(f"CLIP weights {model_name}/{pretrained} are not in the local cache (offline); "
                                   f"{fix}")
    import open_clip

    try:
        path = open_clip.download_pretrained(open_clip.get_pretrained_cfg(model_name, pretrained), cache_dir=cache_dir)
    except Exception as exc:  # network errors come in many types
        raise WeightsNotFoundError(f"could not download CLIP weights {model_name}/{pretrained}: {exc}; {fix}") from exc
    return Path(path)


class OpenClipEmbedder(ImageEmbedder):
    """CLIP image tower (default ViT-B-32 / laion2b_s34b_b79k)."""

    def __init__(self, model_name: str = DEFAULT_MODEL, pretrained: str = DEFAULT_PRETRAINED, *,
                 cache_dir: str | None = None, offline: bool | None = None,
                 device: str = "auto", precision: str = "auto"):
        super().__init__(device=device, precision=precision)
        import open_clip

        offline = offline_mode() if offline is None else offline
        weights = _resolve_weights(model_name, pretrained, cache_dir, offline)
        model, _, preprocess = open_clip.create_model_and_transforms(
            model_name, pretrained=str(weights), require_pretrained=True, device="cpu")
        self.model = model
        self._preprocess = preprocess
        dim = int(model.visual.output_dim)
        tag = pretrained if not Path(pretrained).is_file() else Path(pretrained).name
        self.info = EmbedderInfo(name=f"open_clip:{model_name}/{tag}", dim=dim, weights=str(weights.name),
                                 weights_digest=file_digest(weights)[:12])
        self._finish_init()

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(batch)

    def preprocess(self, img: Image.Image) -> torch.Tensor:
        return self._preprocess(img)
