"""Safe image loading: every failure is an :class:`ImageError` for that image only.

Listing photos come from strangers. A corrupt file, a text file renamed .jpg or a
decompression bomb (a small file that expands to billions of pixels) must fail
for that one image with a clear message, never crash a batch or exhaust memory.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

__all__ = ["IMAGE_SUFFIXES", "MAX_PIXELS", "ImageError", "load_rgb", "probe_image"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"})
# 40 MP covers any phone camera; beyond that we refuse rather than risk a bomb.
MAX_PIXELS = 40_000_000


class ImageError(ValueError):
    """An image that cannot be used, with the reason."""


def _open_checked(path: Path, max_pixels: int) -> Image.Image:
    if not path.exists():
        raise ImageError(f"image not found: {path}")
    if not path.is_file():
        raise ImageError(f"not a file: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image too large: {path.name} ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"not a readable image: {path.name} ({type(exc).__name__})") from exc
    except OSError as exc:
        raise ImageError(f"cannot open image {path.name}: {exc}") from exc
    w, h = img.size
    if w * h > max_pixels:
        img.close()
        raise ImageError(f"image too large: {path.name} is {w}x{h} = {w * h:,} pixels (limit {max_pixels:,})")
    if w < 1 or h < 1:
        raise ImageError(f"empty image: {path.name}")
    return img


def probe_image(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """Check that ``path`` is a readable image within the pixel limit; return (w, h)."""
    img = _open_checked(Path(path), max_pixels)
    try:
        img.verify()  # checks the file structure without decoding all pixels
    except Exception as exc:  # PIL raises assorted types for truncated data
        raise ImageError(f"corrupt image: {Path(path).name} ({exc})") from exc
    return img.size


def load_rgb(path: str | Path, *, max_pixels: int = MAX_PIXELS, draft_size: int | None = None) -> Image.Image:
    """Decode an image to RGB.

    Args:
        path: image file.
        max_pixels: refuse images with more pixels than this (decompression bombs).
        draft_size: when set, let the JPEG decoder scale down by a power of two
            while decoding so that the short side stays at least this large
            (Pillow's ``draft``); several times faster for big photos that will
            be resized anyway. ``img.info["original_size"]`` keeps the file's size.

    Raises:
        ImageError: missing, unreadable, corrupt or oversized image.
    """
    img = _open_checked(Path(path), max_pixels)
    original_size = img.size
    try:
        if draft_size and img.format == "JPEG":
            w, h = img.size
            scale = max(1, min(w, h) // draft_size)
            img.draft("RGB", (w // scale, h // scale))
        img = img.convert("RGB")
        img.load()
    except Exception as exc:
        raise ImageError(f"corrupt image: {Path(path).name} ({exc})") from exc
    # boxes found on a draft-decoded photo are reported in the original's pixels
    img.info["original_size"] = original_size
    return img
