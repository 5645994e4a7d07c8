"""Deterministic augmentations of a brand's logo references.

A logo file is a clean, tight crop; in a listing photo the same logo is small,
tilted, recoloured, on a busy background, inside a window that also holds
other things. Each logo reference is therefore also indexed (and used to train
the brand's adaptation head) as a handful of augmented views, named in the
index entry's ``augmentation`` field. Views are seeded by the file's name, so
re-onboarding a brand gives identical vectors.
"""

from __future__ import annotations

import hashlib
import random
from typing import Sequence

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

__all__ = ["ALL_AUGMENTATIONS", "LOGO_AUGMENTATIONS", "augment_logo", "logo_views", "paste_on", "synthetic_background"]

# indexed with every logo (each costs one embedding per logo at onboarding)
LOGO_AUGMENTATIONS = ("pad", "jitter", "bg0", "bg1")
# everything augment_logo knows
ALL_AUGMENTATIONS = ("pad", "rot-10", "rot+10", "jitter", "gray", "lowres", "persp", "bg0", "bg1", "bg2", "bg3")


def _rng(key: str) -> random.Random:
    return random.Random(int(hashlib.sha1(key.encode()).hexdigest()[:12], 16))


def synthetic_background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A plain, gradient or noisy textured background."""
    w, h = size
    kind = rng.choice(("plain", "gradient", "noise"))
    c1 = np.array([rng.randint(0, 255) for _ in range(3)], np.float32)
    c2 = np.array([rng.randint(0, 255) for _ in range(3)], np.float32)
    if kind == "plain":
        arr = np.broadcast_to(c1, (h, w, 3))
    elif kind == "gradient":
        t = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
        arr = np.broadcast_to(c1 * (1 - t) + c2 * t, (h, w, 3))
    else:
        nrng = np.random.default_rng(rng.randint(0, 2**31))
        small = nrng.uniform(0, 255, (max(2, h // 16), max(2, w // 16), 3)).astype(np.uint8)
        return Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    return Image.fromarray(np.ascontiguousarray(arr).astype(np.uint8))


def paste_on(logo: Image.Image, background: Image.Image, frac: float, rng: random.Random) -> Image.Image:
    """Paste ``logo`` so its long side is ``frac`` of the background's short side, at a random spot."""
    bw, bh = background.size
    lw, lh = logo.size
    s = frac * min(bw, bh) / max(lw, lh)
    nw, nh = max(2, int(lw * s)), max(2, int(lh * s))
    small = logo.resize((nw, nh), Image.Resampling.BILINEAR)
    x = rng.randint(0, max(0, bw - nw))
    y = rng.randint(0, max(0, bh - nh))
    out = background.copy()
    out.paste(small, (x, y), small if small.mode == "RGBA" else None)
    return out


def _crop_background(backgrounds: Sequence[Image.Image], rng: random.Random, side: int) -> Image.Image:
    if not backgrounds:
        return synthetic_background((side, side), rng)
    bg = backgrounds[rng.randrange(len(backgrounds))]
    w, h = bg.size
    s = min(w, h, max(32, int(min(w, h) * rng.uniform(0.3, 0.7))))
    x, y = rng.randint(0, w - s), rng.randint(0, h - s)
    return bg.crop((x, y, x + s, y + s)).resize((side, side), Image.Resampling.BILINEAR)


def augment_logo(logo: Image.Image, name: str, key: str, backgrounds: Sequence[Image.Image] = ()) -> Image.Image:
    """One named augmentation of a logo image (RGB or RGBA)."""
    rng = _rng(f"{key}|{name}")
    rgba = logo.convert("RGBA")
    rgb = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    w, h = rgb.size
    if name == "pad":
        side = int(max(w, h) * 1.6)
        fill = rng.choice([(255, 255, 255), (0, 0, 0), (128, 128, 128)])
        return paste_on(rgba, Image.new("RGB", (side, side), fill), 1 / 1.6, rng)
    if name.startswith("rot"):
        angle = float(name[3:])
        return rgb.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=(255, 255, 255))
    if name == "jitter":
        out = ImageEnhance.Brightness(rgb).enhance(rng.uniform(0.6, 1.4))
        out = ImageEnhance.Contrast(out).enhance(rng.uniform(0.6, 1.4))
        out = ImageEnhance.Color(out).enhance(rng.uniform(0.3, 1.6))
        hsv = np.asarray(out.convert("HSV")).copy()
        hsv[..., 0] = (hsv[..., 0].astype(np.int16) + rng.randint(-20, 20)) % 256
        return Image.fromarray(hsv, "HSV").convert("RGB")
    if name == "gray":
        return ImageOps.grayscale(rgb).convert("RGB")
    if name == "lowres":
        small = rgb.resize((max(2, w // 4), max(2, h // 4)), Image.Resampling.BILINEAR)
        return small.resize((w, h), Image.Resampling.BILINEAR)
    if name == "persp":
        d = 0.15
        coeffs = _perspective_coeffs(w, h, [(rng.uniform(0, d) * w, rng.uniform(0, d) * h),
                                            (w - rng.uniform(0, d) * w, rng.uniform(0, d) * h),
                                            (w - rng.uniform(0, d) * w, h - rng.uniform(0, d) * h),
                                            (rng.uniform(0, d) * w, h - rng.uniform(0, d) * h)])
        return rgb.transform((w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR,
                             fillcolor=(255, 255, 255))
    if name.startswith("bg"):
        bg = _crop_background(backgrounds, rng, 224)
        return paste_on(rgba, bg, rng.uniform(0.35, 0.85), rng)
    raise ValueError(f"unknown augmentation {name!r}")


def _perspective_coeffs(w: int, h: int, dst: list[tuple[float, float]]) -> list[float]:
    """Coefficients mapping output pixels to input pixels for PIL's PERSPECTIVE transform."""
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    a = []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    b = np.array(src, np.float64).reshape(8)
    return np.linalg.solve(np.array(a, np.float64), b).tolist()


def logo_views(logo: Image.Image, key: str, backgrounds: Sequence[Image.Image] = (),
               names: Sequence[str] = LOGO_AUGMENTATIONS) -> list[tuple[str, Image.Image]]:
    """(augmentation name, image) for each augmentation of one logo reference."""
    return [(n, augment_logo(logo, n, key, backgrounds)) for n in names]
