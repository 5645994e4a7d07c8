"""Safe image loading: every failure is an :class:`ImageError` for that image only.

Listing photos come from strangers. A corrupt file, a text file renamed .jpg or a
decompression bomb (a small file that expands to billions of pixels) must fail
for that one image with a clear message, never crash a batch or exhaust memory.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

from PIL import Image, UnidentifiedImageError

from counterfeit_vision._digest import file_digest

__all__ = ["IMAGE_SUFFIXES", "JPEG_DRAFT_SCALES", "MAX_PIXELS", "ImageError", "bound_side", "content_sha256",
           "inside_roots", "load_rgb", "load_rgb_scaled", "probe_image"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"})
# 40 MP covers any phone camera; beyond that we refuse rather than risk a bomb.
MAX_PIXELS = 40_000_000
# the reduced sizes libjpeg decodes to directly (DCT scaling), as divisors
JPEG_DRAFT_SCALES = (1, 2, 4, 8)


class ImageError(ValueError):
    """An image that cannot be used, with the reason."""


def _open_checked(path: Path, max_pixels: int) -> Image.Image:
    try:
        exists, is_file = path.exists(), path.is_file()
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte, ...
        raise ImageError(f"unusable image path {_short(str(path))!r} ({type(exc).__name__})") from exc
    if not exists:
        raise ImageError(f"image not found: {_short(str(path))}")
    if not is_file:
        raise ImageError(f"not a file: {_short(str(path))}")
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


def content_sha256(path: str | Path) -> str | None:
    """SHA-256 of a regular file's bytes (the photo's identity, whatever its name), or None when
    the path is not a readable regular file (``load_rgb`` then says why)."""
    try:
        p = Path(path)
        if not p.is_file():  # never open a FIFO or a device: reading it could block or never end
            return None
        return file_digest(p, algo="sha256")
    except (OSError, ValueError):
        return None


def inside_roots(path: str | Path, roots: tuple[Path, ...]) -> bool:
    """Whether ``path``, links resolved, lies inside one of the (resolved) folders ``roots``.

    The confinement of ``--image-root``: a path outside is refused without touching the file,
    so the answer is the same whether or not it exists.
    """
    try:
        real = Path(path).resolve()
    except (OSError, ValueError, RuntimeError):
        return False
    return any(real.is_relative_to(root) for root in roots)


# EXIF orientation -> the transpose that shows the photo upright (as Pillow's ImageOps.exif_transpose)
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright); 1 when the EXIF block is missing or unreadable."""
    try:
        value = img.getexif().get(0x0112, 1)
        return int(value) if isinstance(value, int) else 1
    except Exception:  # a stranger's EXIF block: never a reason to lose the photo
        return 1


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else f"{text[:limit // 2]}...{text[-limit // 2:]}"


def probe_image(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """Check that ``path`` is a readable image within the pixel limit; return (w, h)."""
    img = _open_checked(Path(path), max_pixels)
    try:
        img.verify()  # checks the file structure without decoding all pixels
    except Exception as exc:  # PIL raises assorted types for truncated data
        raise ImageError(f"corrupt image: {Path(path).name} ({exc})") from exc
    return img.size


def load_rgb(path: str | Path, *, max_pixels: int = MAX_PIXELS, draft_size: int | None = None,
             max_side: int | None = None) -> Image.Image:
    """Decode an image to RGB.

    Args:
        path: image file.
        max_pixels: refuse images with more pixels than this (decompression bombs).
        draft_size: when set, let the JPEG decoder scale down by a power of two
            while decoding so that the short side stays at least this large
            (Pillow's ``draft``); several times faster for big photos that will
            be resized anyway. ``img.info["original_size"]`` keeps the file's size.
        max_side: the longer side after decoding is at most this (``bound_side``): the
            per-photo pixel budget, applied before anything pads or tiles the photo.

    Raises:
        ImageError: missing, unreadable, corrupt or oversized image.
    """
    def scale(size: tuple[int, int]) -> int:
        return max(1, min(size) // draft_size) if draft_size else 1

    img = load_rgb_scaled(path, scale, max_pixels=max_pixels)
    return bound_side(img, max_side) if max_side else img


def bound_side(img: Image.Image, max_side: int) -> Image.Image:
    """``img`` shrunk (aspect kept) so that its longer side is at most ``max_side``.

    Without it a photo's memory follows its worst side: a 39000x1 PNG padded to a square
    is 39000^2 pixels. ``info["bound_scale"]`` records the divisor applied (``draft_scale``
    stays the JPEG decoder's, so the embedder sees a changed image and preprocesses it whole)."""
    w, h = img.size
    if max(w, h) <= max_side:
        return img
    f = max_side / max(w, h)
    info = dict(img.info)
    out = img.resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BILINEAR, reducing_gap=2.0)
    out.info.update(info)
    out.info["bound_scale"] = max(w, h) / max(out.size)
    return out


def load_rgb_scaled(path: str | Path, scale: int | Callable[[tuple[int, int]], int], *,
                    max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode an image to RGB, a JPEG at 1/2, 1/4 or 1/8 of its size when asked.

    ``scale`` is the largest reduction wanted (or a function of the file's
    ``(w, h)`` returning it); JPEGs are decoded at the largest power of two
    <= it (libjpeg DCT scaling: much faster than decoding everything and
    resizing), other formats at full size. The result says what was done:
    ``img.info["original_size"]`` is the file's size and
    ``img.info["draft_scale"]`` the divisor actually applied (1 when none);
    a draft-decoded image is ``ceil(w / scale) x ceil(h / scale)``.

    Raises:
        ImageError: missing, unreadable, corrupt or oversized image.
    """
    img = _open_checked(Path(path), max_pixels)
    original_size = img.size
    applied = 1
    try:
        want = scale(original_size) if callable(scale) else scale
        if want > 1 and img.format == "JPEG":
            w, h = img.size
            want = min(int(want), JPEG_DRAFT_SCALES[-1])
            # Pillow picks the largest power of two s with w // s, h // s >= the requested size
            res = img.draft("RGB", (max(1, w // want), max(1, h // want)))
            if res is not None:
                applied = max(1, round(w / res[1][2]))
        orientation = _orientation(img)
        img = img.convert("RGB")
        img.load()
        if orientation in _UPRIGHT:  # a phone photo stored sideways: upright, as a viewer shows it
            img = img.transpose(_UPRIGHT[orientation])
            if orientation >= 5:
                original_size = original_size[::-1]
    except Exception as exc:
        raise ImageError(f"corrupt image: {Path(path).name} ({exc})") from exc
    # boxes found on a draft-decoded photo are reported in the original's (upright) pixels
    img.info["original_size"] = original_size
    img.info["draft_scale"] = applied
    return img
