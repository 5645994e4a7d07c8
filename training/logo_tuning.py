"""Tune EfficientNet-Lite0's last stages to tell logo shapes apart: ``efficientnet_lite0_logo``.

ImageNet features know objects, not marks: two logos of the same colour on the
same kind of product look alike to them. This trains the network's *tail*
(``blocks.5``, ``blocks.6``, ``conv_head``, ``bn2``; the stem and the first five
stages stay frozen) on thousands of other brands' marks, so that the pooled
features of a window say more about the shape of the mark in it. The result is
one more embedder (``create_embedder("efficientnet_lite0_logo")``): the same
architecture, input and dense windows as Lite0, with this tail.

Data (no photo of any evaluation set): the single-colour SVG marks of
simple-icons (CC0; ``../shared/data/simple_icons``), minus every brand that
FlickrLogos-27 evaluates on (``EXCLUDED``), rendered with cairosvg and pasted,
three per canvas, onto crops of the natural photos that ship with scikit-image
or onto gradients, in the brand's colour, a random one or black/white for
contrast, sometimes on a badge, rotated, blurred or JPEG-compressed. The frozen
front runs once per canvas; the tail is trained with a CosFace loss (scale 20,
margin 0.1) on each mark's box-pooled features, seen as the heads see them
(square root, L2), plus a distillation term that keeps the whole feature map
close to the ImageNet tail's (the heads still use scene context).

Usage (about 30 minutes on 2 CPU cores)::

    python -m training.logo_tuning --icons ../shared/data/simple_icons \\
        --out counterfeit_vision/embedders/weights/efficientnet_lite0_logo_tail.pt
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import logging
import pickle
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageEnhance, ImageFilter

from counterfeit_vision._atomic import atomic_write
from counterfeit_vision.embedders.efficientnet import tail_of
from counterfeit_vision.image.regions import iou

__all__ = ["EXCLUDED", "TuneConfig", "make_canvases", "save_tail", "train_tail"]

log = logging.getLogger(__name__)

# brands the FlickrLogos-27 evaluation scores (benchmarks/eval_logos.py): never trained on
EXCLUDED = ("adidas apple bmw citroen coca dhl fedex ferrari ford google heineken intel mcdonald nbc nike pepsi "
            "porsche puma redbull sprite starbucks texaco unicef vodafone yahoo").split()
EXCLUDED_EXACT = ("hp", "hpe", "mini")
# natural photos shipped inside scikit-image (no download)
BACKGROUND_FILES = ("astronaut.png chelsea.png coffee.png coins.png color.png grass.png gravel.png horse.png "
                    "hubble_deep_field.jpg ihc.png moon.png motorcycle_left.png motorcycle_right.png retina.jpg "
                    "rocket.jpg brick.png camera.png page.png text.png").split()
CANVASES = ((608, 448), (448, 608), (512, 512))  # the dense-window canvases (regions.DENSE_CANVASES)
CELL = 32  # feature-map cell in canvas pixels


@dataclass(frozen=True)
class TuneConfig:
    marks: int = 2400          # marks sampled (seed 0) from the non-excluded ones
    per_icon: int = 8          # placements of each mark
    per_canvas: int = 3
    epochs: int = 2
    lr: float = 2e-4           # tail (AdamW)
    classifier_lr: float = 1e-3
    distill: float = 1.0       # weight of the stay-close-to-ImageNet term
    scale: float = 20.0        # CosFace
    margin: float = 0.1
    batch: int = 8             # canvases per step
    val_canvases: int = 300
    seed: int = 0


def _front(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = model.bn1(model.conv_stem(x))
    for block in model.blocks[:5]:
        x = block(x)
    return x


# ------------------------------------------------------------------ data
def _slugs(icons_dir: Path, n: int) -> list[str]:
    def excluded(slug: str) -> bool:
        return slug.startswith(tuple(EXCLUDED)) or slug in EXCLUDED_EXACT

    slugs = sorted(p.stem for p in (icons_dir / "icons").glob("*.svg") if not excluded(p.stem))
    random.Random(0).shuffle(slugs)
    return slugs[:n]


def _backgrounds() -> list[Image.Image]:
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    return [Image.open(folder / name).convert("RGB") for name in BACKGROUND_FILES]


def _background(rng: random.Random, photos: list[Image.Image], w: int, h: int) -> Image.Image:
    if rng.random() < 0.7:  # a crop of a natural photo, flipped, colour and brightness jittered
        src = rng.choice(photos)
        f = rng.uniform(0.3, 1.0)
        cw, ch = int(src.width * f), int(src.height * f)
        x, y = rng.randint(0, src.width - cw), rng.randint(0, src.height - ch)
        im = src.crop((x, y, x + cw, y + ch)).resize((w, h), Image.Resampling.BILINEAR)
        if rng.random() < 0.5:
            im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        im = ImageEnhance.Color(im).enhance(rng.uniform(0.3, 1.5))
        return ImageEnhance.Brightness(im).enhance(rng.uniform(0.6, 1.3))
    c1, c2 = (np.array([rng.randint(0, 255) for _ in range(3)], np.float32) for _ in range(2))
    t = np.linspace(0, 1, w)[None, :, None] if rng.random() < 0.5 else np.linspace(0, 1, h)[:, None, None]
    noise = np.random.default_rng(rng.randint(0, 1 << 30)).normal(0, rng.uniform(0, 20), (h, w, 3))
    return Image.fromarray(np.clip(np.broadcast_to(c1 * (1 - t) + c2 * t + noise, (h, w, 3)), 0, 255).astype(np.uint8))


def _render(svg: Path, px: int = 256) -> Image.Image | None:
    """The mark's alpha mask, cropped to its ink (None when it has none)."""
    import cairosvg

    mask = Image.open(io.BytesIO(cairosvg.svg2png(url=str(svg), output_width=px, output_height=px)))
    mask = mask.convert("RGBA").getchannel("A")
    box = mask.getbbox()
    return mask.crop(box) if box else None


def _paste(rng: random.Random, canvas: Image.Image, mask: Image.Image, box, own_colour: tuple[int, int, int]) -> None:
    x1, y1, x2, y2 = box
    under = np.asarray(canvas.crop(box), np.float32).mean((0, 1))
    contrast = (255, 255, 255) if under.mean() < 128 else (0, 0, 0)
    r = rng.random()
    colour = own_colour if r < 0.4 else tuple(rng.randint(0, 255) for _ in range(3)) if r < 0.7 else contrast
    if np.abs(np.array(colour) - under).sum() < 120:  # invisible on this background
        colour = contrast
    m = mask.resize((x2 - x1, y2 - y1), Image.Resampling.LANCZOS)
    if rng.random() < 0.3:  # on a badge or sign
        pad = int(0.15 * (x2 - x1))
        badge = tuple(rng.randint(0, 255) for _ in range(3))
        if np.abs(np.array(colour) - np.array(badge)).sum() < 150:
            badge = tuple(255 - c for c in colour)
        canvas.paste(Image.new("RGB", (x2 - x1 + 2 * pad, y2 - y1 + 2 * pad), badge), (x1 - pad, y1 - pad))
    if rng.random() < 0.3:
        m = m.rotate(rng.uniform(-20, 20), resample=Image.Resampling.BILINEAR)
    canvas.paste(Image.new("RGB", m.size, colour), (x1, y1), m)


def _canvas(rng: random.Random, photos, icons_dir: Path, jobs, colours) -> tuple[Image.Image, list]:
    w, h = rng.choice(CANVASES)
    canvas = _background(rng, photos, w, h)
    placed: list[tuple[int, tuple[int, int, int, int]]] = []
    for label, slug in jobs:
        for _ in range(20):  # a free spot
            side = int(min(w, h) * float(np.exp(rng.uniform(np.log(0.12), np.log(0.45)))))
            x, y = rng.randint(8, w - side - 8), rng.randint(8, h - side - 8)
            if all(iou((x, y, x + side, y + side), b) == 0 for _, b in placed):
                break
        else:
            continue
        mask = _render(icons_dir / "icons" / f"{slug}.svg")
        if mask is None:
            continue
        s = side / max(mask.size)
        box = (x, y, x + max(4, int(mask.width * s)), y + max(4, int(mask.height * s)))
        _paste(rng, canvas, mask, box, colours.get(slug, (0, 0, 0)))
        placed.append((label, box))
    if rng.random() < 0.3:
        canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
    if rng.random() < 0.5:
        buf = io.BytesIO()
        canvas.save(buf, "JPEG", quality=rng.randint(30, 90))
        canvas = Image.open(buf).convert("RGB")
    return canvas, placed


def _colours(icons_dir: Path) -> dict[str, tuple[int, int, int]]:
    """Each mark's own colour, by the file name simple-icons derives from its title."""
    meta = json.loads((icons_dir / "simple-icons.json").read_text())
    out = {}
    for m in meta:
        slug = "".join(ch for ch in m["title"].lower().replace("+", "plus").replace(".", "dot").replace("&", "and")
                       if ch.isalnum())
        out[slug] = tuple(int(m["hex"][i:i + 2], 16) for i in (0, 2, 4))
    return out


def make_canvases(icons_dir: Path, cfg: TuneConfig, part: int, parts: int) -> list[tuple[np.ndarray, list]]:
    """This worker's share of the canvases: (frozen front features float16 (C, H, W), [(label, box)])."""
    from counterfeit_vision.embedders import create_embedder

    torch.set_num_threads(1)
    slugs = _slugs(icons_dir, cfg.marks)
    colours, photos = _colours(icons_dir), _backgrounds()
    model = create_embedder("efficientnet_lite0", device="cpu", precision="fp32").model.eval()
    rng = random.Random(cfg.seed * 1000 + 5000 + part)
    jobs = [(k, s) for k, s in enumerate(slugs) if k % parts == part for _ in range(cfg.per_icon)]
    rng.shuffle(jobs)
    out = []
    for start in range(0, len(jobs), cfg.per_canvas):
        canvas, placed = _canvas(rng, photos, icons_dir, jobs[start:start + cfg.per_canvas], colours)
        x = torch.from_numpy(np.asarray(canvas, np.float32) / 255.0).permute(2, 0, 1)[None]
        with torch.inference_mode():
            front = _front(model, (x - 0.5) / 0.5)  # EfficientNet-Lite: mean = std = 0.5
        out.append((front[0].to(torch.float16).numpy(), placed))
    return out


# ------------------------------------------------------------------ training
def _cells(box, h: int, w: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    c1, r1 = min(w - 1, int(x1 // CELL)), min(h - 1, int(y1 // CELL))
    return r1, max(r1 + 1, min(h, int(np.ceil(y2 / CELL)))), c1, max(c1 + 1, min(w, int(np.ceil(x2 / CELL))))


def _box_features(fmap: torch.Tensor, placed: Sequence[list]) -> tuple[torch.Tensor | None, list[int]]:
    feats, labels = [], []
    for i, marks in enumerate(placed):
        for label, box in marks:
            r1, r2, c1, c2 = _cells(box, fmap.shape[2], fmap.shape[3])
            feats.append(fmap[i, :, r1:r2, c1:c2].mean((1, 2)))
            labels.append(label)
    return (torch.stack(feats) if feats else None), labels


def _as_heads_see(v: torch.Tensor) -> torch.Tensor:
    return F.normalize(torch.sqrt(v.clamp_min(0) + 1e-6), dim=-1)  # adaptation.FEATURE_MAPS["sqrt"]


def _batches(data: list, size: int, rng: random.Random) -> list[list]:
    by_shape: dict[tuple, list] = {}
    for item in data:
        by_shape.setdefault(item[0].shape, []).append(item)
    out = [g[s:s + size] for g in by_shape.values() for s in range(0, len(g), size)]
    rng.shuffle(out)
    return out


def _frozen_bn(module: nn.Module) -> None:
    for m in module.modules():  # batches of 8 canvases: keep ImageNet's BatchNorm statistics
        if isinstance(m, nn.BatchNorm2d):
            m.eval()


def train_tail(model: nn.Module, data: list, cfg: TuneConfig) -> dict:
    """Train ``tail_of(model)`` in place on (front features, placed marks); returns the log."""
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    tail, reference = tail_of(model), copy.deepcopy(tail_of(model)).eval()
    for p in reference.parameters():
        p.requires_grad_(False)
    labels = sorted({k for _, marks in data for k, _ in marks})
    index = {k: i for i, k in enumerate(labels)}
    data = [(f, [(index[k], b) for k, b in marks]) for f, marks in data]
    rng.shuffle(data)
    val, train = data[:cfg.val_canvases], data[cfg.val_canvases:]
    classes = nn.Parameter(_class_means(reference, train, len(labels)))
    opt = torch.optim.AdamW([{"params": tail.parameters(), "lr": cfg.lr, "weight_decay": 1e-4},
                             {"params": [classes], "lr": cfg.classifier_lr, "weight_decay": 0.0}])
    history = {"val_accuracy": [_accuracy(tail, classes, val)], "loss": []}
    log.info("%d canvases, %d marks; val accuracy before %.3f", len(train), len(labels), history["val_accuracy"][0])
    for epoch in range(cfg.epochs):
        total, steps, t0 = 0.0, 0, time.perf_counter()
        for batch in _batches(train, cfg.batch, rng):
            tail.train()
            _frozen_bn(tail)
            x = torch.from_numpy(np.stack([f for f, _ in batch])).float()
            fmap = tail(x)
            feats, y = _box_features(fmap, [m for _, m in batch])
            if feats is None:
                continue
            cos = _as_heads_see(feats) @ F.normalize(classes, dim=-1).T
            target = torch.tensor(y)
            loss = F.cross_entropy(cfg.scale * (cos - cfg.margin * F.one_hot(target, len(labels))), target)
            if cfg.distill > 0:
                with torch.no_grad():
                    ref = reference(x)
                loss = loss + cfg.distill * (
                    _distance(fmap.mean((2, 3)), ref.mean((2, 3)))
                    + _distance(fmap.flatten(2).transpose(1, 2), ref.flatten(2).transpose(1, 2)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, steps = total + float(loss.detach()), steps + 1
        history["loss"].append(total / max(1, steps))
        history["val_accuracy"].append(_accuracy(tail, classes, val))
        log.info("epoch %d: loss %.3f, val accuracy %.3f (%.0f s)", epoch, history["loss"][-1],
                 history["val_accuracy"][-1], time.perf_counter() - t0)
    tail.eval()
    return history


def _distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (1 - F.cosine_similarity(_as_heads_see(a), _as_heads_see(b), dim=-1)).mean()


@torch.no_grad()
def _class_means(reference: nn.Module, data: list, n: int) -> torch.Tensor:
    """Start each mark's class vector at its mean feature under the ImageNet tail."""
    sums, counts = torch.zeros(n, 1280), torch.zeros(n)
    for batch in _batches(data, 32, random.Random(0)):
        feats, y = _box_features(reference(torch.from_numpy(np.stack([f for f, _ in batch])).float()),
                                 [m for _, m in batch])
        if feats is not None:
            sums.index_add_(0, torch.tensor(y), _as_heads_see(feats))
            counts.index_add_(0, torch.tensor(y), torch.ones(len(y)))
    return F.normalize(sums / counts.clamp_min(1)[:, None], dim=-1)


@torch.no_grad()
def _accuracy(tail: nn.Module, classes: torch.Tensor, data: list) -> float:
    """Top-1 mark on placements never trained on (nearest class vector)."""
    tail.eval()
    ok = n = 0
    for f, marks in data:
        feats, y = _box_features(tail(torch.from_numpy(f[None]).float()), [marks])
        if feats is not None:
            pred = (_as_heads_see(feats) @ F.normalize(classes, dim=-1).T).argmax(1)
            ok, n = ok + int((pred == torch.tensor(y)).sum()), n + len(y)
    return ok / max(1, n)


def save_tail(model: nn.Module, path: Path, meta: dict) -> Path:
    """The tail's weights (float16) and, beside them, a JSON manifest of how they were made."""
    state = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in tail_of(model).state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as f:
        torch.save(state, f)
    meta = {**meta, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    with atomic_write(path.with_suffix(".json"), "w") as f:
        json.dump(meta, f, indent=2)
    return path


def _drawn(icons_dir: Path, cfg: TuneConfig, workers: int, cache: Path | None) -> list:
    """The canvases' front features and marks: from ``cache`` when it was drawn with the same settings."""
    drawing = {k: v for k, v in asdict(cfg).items() if k in ("marks", "per_icon", "per_canvas", "seed")}
    if cache is not None and cache.is_file():
        with open(cache, "rb") as f:
            saved = pickle.load(f)
        if saved["drawing"] == {**drawing, "workers": workers}:
            log.info("canvases read from %s", cache)
            return saved["data"]
        log.warning("%s was drawn with other settings (%s); drawing again", cache, saved["drawing"])
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:  # each worker draws its share of the marks with its own seed
        parts = pool.map(make_canvases, [icons_dir] * workers, [cfg] * workers, range(workers), [workers] * workers)
        data = [item for part in parts for item in part]
    log.info("drew %d canvases in %.0f s", len(data), time.perf_counter() - t0)
    if cache is not None:
        with atomic_write(cache, "wb") as f:
            pickle.dump({"drawing": {**drawing, "workers": workers}, "data": data}, f, protocol=5)
    return data


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--icons", type=Path, required=True, help="simple-icons folder (icons/*.svg, simple-icons.json)")
    ap.add_argument("--out", type=Path, help="tail weights file to write (.pt; a .json beside it)")
    ap.add_argument("--canvases", type=Path, help="drawn canvases: read if the file exists, else drawn and "
                                                   "written there (to train again with other settings)")
    ap.add_argument("--draw-only", action="store_true", help="draw the canvases (--canvases) and stop")
    ap.add_argument("--workers", type=int, default=2, help="processes drawing canvases")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for training")
    for name, field in TuneConfig.__dataclass_fields__.items():
        ap.add_argument(f"--{name.replace('_', '-')}", type=type(field.default), default=field.default)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not (args.icons / "icons").is_dir():
        ap.error(f"no simple-icons at {args.icons} (expected {args.icons / 'icons'}/*.svg)")
    if args.out is None and not args.draw_only:
        ap.error("--out is required unless --draw-only")
    if args.draw_only and args.canvases is None:
        ap.error("--draw-only needs --canvases FILE")
    cfg = TuneConfig(**{k: getattr(args, k) for k in TuneConfig.__dataclass_fields__})
    t0 = time.perf_counter()
    data = _drawn(args.icons, cfg, args.workers, args.canvases)
    if args.draw_only:
        return 0
    from counterfeit_vision.embedders import create_embedder

    torch.set_num_threads(args.threads)
    embedder = create_embedder("efficientnet_lite0", device="cpu", precision="fp32")
    history = train_tail(embedder.model, data, cfg)
    save_tail(embedder.model, args.out, {
        "what": "EfficientNet-Lite0 tail (blocks.5, blocks.6, conv_head, bn2) tuned on simple-icons marks",
        "base_weights": embedder.info.weights, "base_digest": embedder.info.weights_digest,
        "config": asdict(cfg), "excluded_prefixes": list(EXCLUDED), "excluded_exact": list(EXCLUDED_EXACT),
        "canvases": len(data), "history": history, "seconds": round(time.perf_counter() - t0),
        "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })
    print(f"wrote {args.out} (val accuracy {history['val_accuracy'][0]:.3f} -> {history['val_accuracy'][-1]:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
