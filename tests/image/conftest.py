"""Fixtures for the image-evidence tests: synthetic logos and photos, a tiny embedder."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFilter

from counterfeit_vision.catalog import Brand, Catalog
from counterfeit_vision.embedders.base import EmbedderInfo, ImageEmbedder


def make_logo(seed: int, size: tuple[int, int] = (120, 80)) -> Image.Image:
    """A high-contrast synthetic mark full of corners (polygons, bars, circles)."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(img)
    w, h = size
    for _ in range(14):
        col = tuple(rng.randint(0, 200) for _ in range(3))
        kind = rng.choice(("poly", "rect", "ellipse"))
        pts = [(rng.randint(0, w), rng.randint(0, h)) for _ in range(3 if kind == "poly" else 2)]
        if kind == "poly":
            d.polygon(pts, fill=col)
        else:
            (x1, y1), (x2, y2) = pts
            box = (min(x1, x2), min(y1, y2), max(x1, x2) + 4, max(y1, y2) + 4)
            (d.rectangle if kind == "rect" else d.ellipse)(box, fill=col, outline=(0, 0, 0))
    return img


def make_photo(seed: int, size: tuple[int, int] = (400, 300)) -> Image.Image:
    """A smooth, low-detail 'product photo' background."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(40, 220, (6, 8, 3)).astype(np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(3))


def paste(photo: Image.Image, logo: Image.Image, xy: tuple[int, int], scale: float = 1.0) -> Image.Image:
    out = photo.copy()
    lw, lh = logo.size
    lg = logo.resize((int(lw * scale), int(lh * scale)), Image.Resampling.BICUBIC)
    out.paste(lg, xy)
    return out


class TinyEmbedder(ImageEmbedder):
    """Fast deterministic stand-in: a fixed random conv net over a 32x32 thumbnail."""

    def __init__(self, dim: int = 64, name: str = "tiny-test"):
        super().__init__(device="cpu", precision="fp32")
        g = torch.Generator().manual_seed(0)
        self.model = torch.nn.Sequential(
            torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(32, dim, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(dim * 4, dim))
        for p in self.model.parameters():
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        self.info = EmbedderInfo(name=name, dim=dim, weights="random", weights_digest="0" * 12)
        self._finish_init()

    def preprocess(self, img: Image.Image) -> torch.Tensor:
        arr = np.asarray(img.convert("RGB").resize((32, 32), Image.Resampling.BILINEAR), np.float32) / 255.0
        return torch.from_numpy(arr - 0.5).permute(2, 0, 1)


@pytest.fixture(scope="session")
def tiny_embedder() -> TinyEmbedder:
    return TinyEmbedder()


@pytest.fixture()
def synthetic_catalog(tmp_path):
    """Three brands, each with two logo files and three product photos showing the logo."""
    brands = []
    for b in range(3):
        root = tmp_path / f"brand{b}"
        (root / "logos").mkdir(parents=True)
        (root / "references").mkdir()
        logo = make_logo(100 + b)
        logos, refs = [], []
        for k in range(2):
            p = root / "logos" / f"logo_{k}.png"
            (logo if k == 0 else logo.rotate(3, expand=True, fillcolor=(255, 255, 255))).save(p)
            logos.append(p)
        for k in range(3):
            p = root / "references" / f"official_{k}.jpg"
            paste(make_photo(10 * b + k), logo, (40 + 30 * k, 60), 1.2).save(p, quality=92)
            refs.append(p)
        brands.append(Brand(id=f"brand{b}", name=f"Brand {b}", root=root, logos=tuple(logos),
                            references=tuple(refs)))
    return Catalog.from_brands(brands, root=tmp_path)


@pytest.fixture(scope="session")
def effnet():
    from counterfeit_vision.embedders import create_embedder

    return create_embedder("efficientnet_lite0", device="cpu", precision="auto")


def copy_catalog(catalog, root):
    """A copy of a fixture catalogue's files under ``root``, as a Catalog rooted there."""
    import shutil
    from dataclasses import replace
    from pathlib import Path

    from counterfeit_vision.catalog import Catalog

    shutil.copytree(catalog.root, root)

    def move(p):
        return Path(root) / Path(p).relative_to(catalog.root)

    return Catalog.from_brands([replace(b, root=move(b.root), logos=tuple(map(move, b.logos)),
                                        references=tuple(map(move, b.references))) for b in catalog], Path(root))
