"""Region proposals: where in a listing photo a logo could be.

A whole-photo embedding misses a logo that covers 2% of the frame, so the photo
is cut into windows at several scales, each embedded on its own (in one batch
with the other windows). Windows are squares of a few sizes relative to the
photo's short side, laid with overlap so that a logo on a seam is whole in some
window; the smallest scale is limited so a photo yields a few dozen windows,
which keeps the embedder cost predictable on CPU.

Also here: trimming uniform borders (a reused photo framed by a border) and
clamping/expanding boxes.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image

__all__ = ["Box", "DEFAULT_SCALES", "clamp_box", "expand_box", "iou", "propose_regions", "tile_boxes",
           "trim_uniform_border", "uniform_border_box"]

Box = tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels

# window side as a fraction of the photo's short side, with the overlap between neighbours
DEFAULT_SCALES: tuple[tuple[float, float], ...] = ((0.6, 0.5), (0.35, 0.35))


def _positions(length: int, win: int, overlap: float) -> list[int]:
    if win >= length:
        return [0]
    step = max(1, int(round(win * (1.0 - overlap))))
    n = math.ceil((length - win) / step) + 1
    # spread n windows evenly so the last one ends on the border
    return sorted({int(round(i * (length - win) / (n - 1))) for i in range(n)}) if n > 1 else [0]


def propose_regions(width: int, height: int, scales: Sequence[tuple[float, float]] = DEFAULT_SCALES, *,
                    min_side: int = 24, max_windows: int | None = None) -> list[Box]:
    """Square windows at several scales covering a ``width`` x ``height`` photo.

    Args:
        scales: (side as a fraction of the short side, overlap) pairs.
        min_side: windows smaller than this many pixels are skipped (nothing to see).
        max_windows: keep at most this many (coarse scales first).

    Returns distinct boxes, coarse to fine; the whole photo is not included.
    """
    short = min(width, height)
    boxes: list[Box] = []
    for frac, overlap in scales:
        side = int(round(short * frac))
        if side < min_side:
            continue
        for y in _positions(height, side, overlap):
            for x in _positions(width, side, overlap):
                boxes.append((x, y, min(width, x + side), min(height, y + side)))
    boxes = list(dict.fromkeys(boxes))
    return boxes[:max_windows] if max_windows else boxes


def tile_boxes(width: int, height: int, grids: Sequence[int] = (2, 3), overlap: float = 0.5) -> list[Box]:
    """Overlapping grid tiles (v1 proposals, kept for callers that want a plain grid)."""
    boxes: list[Box] = []
    for g in grids:
        tw, th = width / g, height / g
        step_x, step_y = max(1.0, tw * (1 - overlap)), max(1.0, th * (1 - overlap))
        y = 0.0
        while y + th <= height + 1e-6:
            x = 0.0
            while x + tw <= width + 1e-6:
                boxes.append((int(x), int(y), int(round(x + tw)), int(round(y + th))))
                x += step_x
            y += step_y
    return list(dict.fromkeys(boxes))


def clamp_box(box: Sequence[float], width: int, height: int) -> Box:
    """Round a box to integer pixels inside a ``width`` x ``height`` image, with corners ordered."""
    x1, y1, x2, y2 = box
    x1, x2 = sorted((max(0, min(width, int(round(x1)))), max(0, min(width, int(round(x2))))))
    y1, y2 = sorted((max(0, min(height, int(round(y1)))), max(0, min(height, int(round(y2))))))
    return x1, y1, x2, y2


def expand_box(box: Box, factor: float, width: int, height: int) -> Box:
    """Grow a box about its centre by ``factor`` (clamped to the photo)."""
    x1, y1, x2, y2 = box
    cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * factor / 2, (y2 - y1) * factor / 2
    return clamp_box((cx - hw, cy - hh, cx + hw, cy + hh), width, height)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes (0 when both are empty)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def uniform_border_box(img: Image.Image, *, tol: int = 12, max_frac: float = 0.3) -> Box:
    """The picture inside a near-uniform border (frames, letterboxing, white margins) of up to
    ``max_frac`` per side, as (left, top, right, bottom); the whole image when there is none."""
    a = np.asarray(img.convert("RGB"), dtype=np.int16)
    h, w = a.shape[:2]
    if h < 8 or w < 8:
        return 0, 0, w, h

    def uniform(line: np.ndarray, ref: np.ndarray) -> bool:
        return bool(np.abs(line - ref).max() <= tol)

    top, bottom, left, right = 0, h, 0, w
    corner = a[0, 0]
    while top < int(h * max_frac) and uniform(a[top, left:right], corner):
        top += 1
    corner = a[h - 1, w - 1]
    while h - bottom < int(h * max_frac) and uniform(a[bottom - 1, left:right], corner):
        bottom -= 1
    corner = a[top, 0]
    while left < int(w * max_frac) and uniform(a[top:bottom, left], corner):
        left += 1
    corner = a[bottom - 1, w - 1]
    while w - right < int(w * max_frac) and uniform(a[top:bottom, right - 1], corner):
        right -= 1
    if bottom - top < 8 or right - left < 8:
        return 0, 0, w, h
    return left, top, right, bottom


def trim_uniform_border(img: Image.Image, *, tol: int = 12, max_frac: float = 0.3) -> Image.Image:
    """Cut away a near-uniform border (``uniform_border_box``)."""
    box = uniform_border_box(img, tol=tol, max_frac=max_frac)
    return img if box == (0, 0, *img.size) else img.crop(box)


# ---------------------------------------------------------------- embedding regions
# Convolutional embedders (EfficientNet-Lite0) embed every window of a photo from ONE
# forward pass: the photo is resized to DENSE_SHORT_SIDE, its final feature map (one cell
# per 32 px) is average-pooled over k x k cell windows, exactly as the embedder pools a
# whole image. Hundreds of windows cost about as much as four 224 px crops. Other
# embedders (CLIP ViTs) embed the ``propose_regions`` crops one by one, in batches.
DENSE_SHORT_SIDE = 448
DENSE_WINDOWS = (2, 3, 4, 6, 9)  # window sides in cells (64 .. 288 px at 448 px short side)
DENSE_STRIDE = 1


def dense_capable(embedder) -> bool:
    from counterfeit_vision.embedders.efficientnet import EfficientNetLiteEmbedder

    return isinstance(embedder, EfficientNetLiteEmbedder) and hasattr(embedder.model, "forward_features")


# A few fixed input canvases (w, h): the CPU kernels are compiled once per input shape, and
# photos of the same orientation batch together. A photo is scaled to fit its canvas
# (closest aspect ratio) and padded; windows mostly over padding are dropped.
DENSE_CANVASES = ((608, 448), (448, 608), (512, 512))


def _dense_input(img: Image.Image, short_side: int) -> tuple[Image.Image, float, tuple[int, int]]:
    w, h = img.size
    k = short_side / 448
    canvases = [(int(round(cw * k / 32)) * 32, int(round(ch * k / 32)) * 32) for cw, ch in DENSE_CANVASES]
    cw, ch = min(canvases, key=lambda c: abs(np.log((c[0] / c[1]) / (w / h))))
    s = min(cw / w, ch / h)
    nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
    canvas = Image.new("RGB", (cw, ch), (128, 128, 128))  # 0 after normalisation
    canvas.paste(img.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=2.0), (0, 0))
    return canvas, s, (nw, nh)


def dense_window_features(embedder, images: Sequence[Image.Image], *, short_side: int = DENSE_SHORT_SIDE,
                          windows: Sequence[int] = DENSE_WINDOWS, stride: int = DENSE_STRIDE,
                          max_batch: int = 8) -> list[tuple[np.ndarray, list[Box]]]:
    """Per image: (window features (M, D) L2-normalised float32, boxes in the image's pixels)."""
    import torch
    import torch.nn.functional as F

    from counterfeit_vision.embedders.base import l2_normalize

    prepared = [_dense_input(im.convert("RGB"), short_side) for im in images]
    out: list[tuple[np.ndarray, list[Box]] | None] = [None] * len(images)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (im, _, _) in enumerate(prepared):
        groups.setdefault(im.size, []).append(i)
    cell = 32
    for size, idx in groups.items():
        for s in range(0, len(idx), max_batch):
            chunk = idx[s:s + max_batch]
            x = torch.stack([torch.from_numpy(np.asarray(prepared[i][0], np.float32) / 255.0).permute(2, 0, 1)
                             for i in chunk])
            x = ((x - 0.5) / 0.5).to(embedder.device)  # EfficientNet-Lite0: mean = std = 0.5
            if embedder.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                if embedder.dtype is torch.float32:
                    fmap = embedder.model.forward_features(x)
                else:
                    with torch.autocast(device_type=embedder.device.type, dtype=embedder.dtype):
                        fmap = embedder.model.forward_features(x)
                fmap = fmap.float()
                hc, wc = fmap.shape[2], fmap.shape[3]
                feats, boxes = [], []
                for k in windows:
                    if k > min(hc, wc):
                        continue
                    pooled = F.avg_pool2d(fmap, k, stride=stride)  # (B, C, hc-k+1, wc-k+1)
                    feats.append(pooled.flatten(2).transpose(1, 2))  # (B, n, C)
                    for r in range(pooled.shape[2]):
                        for c in range(pooled.shape[3]):
                            boxes.append((c * stride * cell, r * stride * cell, (c * stride + k) * cell,
                                          (r * stride + k) * cell))
                allf = torch.cat(feats, dim=1).cpu().numpy() if feats else np.zeros((len(chunk), 0, fmap.shape[1]))
            for j, i in enumerate(chunk):
                _, sc, (nw, nh) = prepared[i]
                w, h = images[i].size
                keep = [m for m, b in enumerate(boxes)  # window at least half over the photo
                        if (min(b[2], nw) - b[0]) * (min(b[3], nh) - b[1]) >= 0.5 * (b[2] - b[0]) * (b[3] - b[1])]
                bx = [clamp_box((b[0] / sc, b[1] / sc, b[2] / sc, b[3] / sc), w, h) for b in (boxes[m] for m in keep)]
                out[i] = (l2_normalize(allf[j][keep]), bx)
    return out  # type: ignore[return-value]


def embed_regions(embedder, images: Sequence[Image.Image], *, scales: Sequence[tuple[float, float]] = DEFAULT_SCALES,
                  grids: Sequence[int] | None = None, dense: bool | str = "auto", batch_size: int = 64,
                  whole: bool = True) -> tuple[np.ndarray, np.ndarray, list[Box | None]]:
    """Embed each photo (border-trimmed, as a whole) and its candidate logo windows.

    Returns (X (V, D), owner (V,) photo index, boxes (None = the whole photo)).
    """
    use_dense = dense_capable(embedder) if dense == "auto" else bool(dense)
    feats, owner, boxes = [], [], []
    if whole and images:
        feats.append(embedder.embed_images([trim_uniform_border(im) for im in images], batch_size=batch_size))
        owner += list(range(len(images)))
        boxes += [None] * len(images)
    if use_dense and not grids:
        for i, (f, bx) in enumerate(dense_window_features(embedder, images)):
            feats.append(f)
            owner += [i] * len(bx)
            boxes += bx
    else:
        crops = []
        for i, im in enumerate(images):
            for box in (tile_boxes(*im.size, grids=grids) if grids else propose_regions(*im.size, scales)):
                crops.append(im.crop(box))
                owner.append(i)
                boxes.append(box)
        if crops:
            feats.append(embedder.embed_images(crops, batch_size=batch_size))
    dim = embedder.dim
    X = np.vstack(feats) if feats else np.zeros((0, dim), np.float32)
    return X.astype(np.float32), np.asarray(owner, np.int64), boxes
