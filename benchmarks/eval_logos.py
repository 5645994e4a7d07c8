"""Logo finding on real photos (FlickrLogos-27 train split as shipped in ../shared/data).

Protocol (all splits seeded, printed):

- ``--holdout`` brands (default 5, chosen by ``--seed``) are left out of the
  catalogue entirely: their photos are the *photos without any catalogue logo*
  (false-alarm set). No synthetic negatives are added.
- For every other brand, ``--ref-frac`` of its photos are what the brand hands
  over: the annotated boxes cropped as logo files, the whole photos as
  product photos. The rest of its photos are listing photos with a logo
  (never seen at onboarding).
- The index (+ few-shot heads) is built with ``onboarding.build_index``; each
  listing photo goes through ``ImageMatcher.match``. The predicted brand is the
  brand of the highest-scoring logo hit (of any hit when there is no logo hit;
  the best hit of any kind is printed as a diagnostic); a false alarm is a non-catalogue photo with
  any hit at or above the review threshold of its kind.

Usage::

    python benchmarks/eval_logos.py [--data DIR] [--seed 0] [--holdout 5] [--ref-frac 0.5]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def default_data() -> Path:
    return Path(os.environ.get("CV_SHARED_DATA", REPO.parent / "shared" / "data"))


def load_flickr(folder: Path) -> dict[str, dict]:
    """{image: {"brands": set, "boxes": [(brand, (x1, y1, x2, y2))]}} with duplicate boxes removed."""
    out: dict[str, dict] = {}
    seen = set()
    for line in (folder / "annotations.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) < 7:
            continue
        img, brand, _subset, *xy = parts[:7]
        box = tuple(int(v) for v in xy)
        if (img, brand, box) in seen:
            continue
        seen.add((img, brand, box))
        rec = out.setdefault(img, {"brands": set(), "boxes": []})
        rec["brands"].add(brand.lower())
        rec["boxes"].append((brand.lower(), box))
    return out


def split(data: dict[str, dict], seed: int, holdout: int, ref_frac: float):
    rng = random.Random(seed)
    brands = sorted({b for r in data.values() for b in r["brands"]})
    held = sorted(rng.sample(brands, holdout)) if holdout else []
    catalog = [b for b in brands if b not in held]
    by_brand = defaultdict(list)
    for img, r in sorted(data.items()):
        if len(r["brands"]) == 1:
            by_brand[next(iter(r["brands"]))].append(img)
    refs, queries, negatives = {}, [], []
    for b in catalog:
        imgs = by_brand[b][:]
        rng.shuffle(imgs)
        n = max(1, round(len(imgs) * ref_frac))
        refs[b] = imgs[:n]
        queries += [(img, b) for img in imgs[n:]]
    for b in held:
        negatives += by_brand[b]
    # photos showing several brands: a query if any catalogue brand, else a negative
    for img, r in sorted(data.items()):
        if len(r["brands"]) > 1:
            cat = sorted(r["brands"] & set(catalog))
            if cat:
                queries.append((img, cat[0]))
            else:
                negatives.append(img)
    return catalog, held, refs, sorted(queries), sorted(negatives)


def make_catalog(data, folder: Path, refs: dict[str, list[str]], tmp: Path, min_side: int = 16):
    from PIL import Image

    from counterfeit_vision.catalog import Brand, Catalog

    brands = []
    for b, imgs in refs.items():
        logo_dir = tmp / b / "logos"
        logo_dir.mkdir(parents=True, exist_ok=True)
        logos = []
        for img in imgs:
            with Image.open(folder / "images" / img) as im:
                im = im.convert("RGB")
                for k, (bb, box) in enumerate(data[img]["boxes"]):
                    if bb != b or min(box[2] - box[0], box[3] - box[1]) < min_side:
                        continue
                    p = logo_dir / f"{Path(img).stem}_{k}.png"
                    im.crop(box).save(p)
                    logos.append(p)
        brands.append(Brand(id=b, name=b, root=tmp / b, logos=tuple(logos),
                            references=tuple(folder / "images" / img for img in imgs)))
    return Catalog.from_brands(brands, root=tmp)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=default_data())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--holdout", type=int, default=5)
    ap.add_argument("--ref-frac", type=float, default=0.5)
    ap.add_argument("--embedder", default="efficientnet_lite0")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--no-heads", action="store_true", help="nearest-neighbour scoring only")
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--baseline", action="store_true", help="also run whole-photo nearest neighbour")
    ap.add_argument("--limit", type=int, default=0, help="at most this many query and negative photos (dev)")
    ap.add_argument("--dump", type=Path, help="write per-photo results as JSON")
    ap.add_argument("--index-cache", type=Path,
                    help="dev: load the onboarded index from this folder if it holds one built for the same "
                         "split and options, else build it and save it there")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    folder = args.data / "flickr_logos_27_train"
    if not (folder / "annotations.txt").is_file():
        print(f"skip: FlickrLogos-27 not found at {folder} (pass --data DIR or set CV_SHARED_DATA)")
        return 0
    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.image_matching import LOGO_REVIEW_THRESHOLD, PHOTO_REVIEW_THRESHOLD, ImageMatcher
    from counterfeit_vision.images import load_rgb
    from counterfeit_vision.regions import iou

    data = load_flickr(folder)
    catalog_brands, held, refs, queries, negatives = split(data, args.seed, args.holdout, args.ref_frac)
    # the data set holds some pictures twice under different names; a listing photo that is
    # a twin of a brand-supplied photo would test photo reuse, not logo finding: set aside
    from counterfeit_vision.near_duplicate import hamming, phash

    hashes = {img: phash(load_rgb(folder / "images" / img)) for img in data}
    ref_hashes = [hashes[i] for imgs in refs.values() for i in imgs]
    twins = [q for q in queries if min(hamming(hashes[q[0]], h) for h in ref_hashes) <= 4]
    queries = [q for q in queries if q not in set(twins)]
    if args.limit:
        rng = random.Random(1)
        queries = sorted(rng.sample(queries, min(args.limit, len(queries))))
        negatives = sorted(rng.sample(negatives, min(args.limit // 2, len(negatives))))
    print(f"FlickrLogos-27 train at {folder}: {len(data)} photos, seed {args.seed}")
    print(f"catalogue: {len(catalog_brands)} brands, {sum(len(v) for v in refs.values())} brand-supplied photos "
          f"(their {sum(1 for v in refs.values() for i in v for bb, _ in data[i]['boxes'])} boxes cropped as logos)")
    print(f"listing photos with a catalogue logo: {len(queries)} (unseen at onboarding; {len(twins)} exact twins "
          f"of a brand-supplied photo set aside)")
    print(f"photos without any catalogue logo: {len(negatives)} = all photos of held-out brands {held}")

    embedder = create_embedder(args.embedder, device="cpu", precision=args.precision)
    with tempfile.TemporaryDirectory(prefix="cv-eval-logos-") as tmpdir:
        t0 = time.perf_counter()
        catalog = make_catalog(data, folder, refs, Path(tmpdir))
        index = cached_index(args, catalog, embedder, Path(tmpdir))
        t_build = time.perf_counter() - t0
        print(f"index: {len(index)} vectors ({index.active_factory}), heads: "
              f"{len(index.heads) if index.heads is not None else 0}; built in {t_build:.0f}s with {embedder!r}")
        matcher = ImageMatcher(embedder, index, heads=None if args.no_heads else "auto",
                               verify=not args.no_verify)
        rows = []
        t0 = time.perf_counter()
        todo = [(img, b) for img, b in queries] + [(img, None) for img in negatives]
        for start in range(0, len(todo), 8):
            chunk = todo[start:start + 8]
            photos = [load_rgb(folder / "images" / img, draft_size=512) for img, _ in chunk]
            scale = [Image_size(folder / "images" / img) for img, _ in chunk]
            for (img, truth), hits, photo, full in zip(chunk, matcher.match(photos), photos, scale):
                # the brand whose logo is in the photo: the best *logo* hit (a photo-reuse hit answers
                # another question, "is this a reference photo?", on another score scale); the best
                # hit of any kind when no logo hit exists
                logos = [h for h in hits if h.kind == "logo"]
                top = logos[0] if logos else (hits[0] if hits else None)
                rows.append({"image": img, "truth": truth, "brands": sorted(data[img]["brands"]),
                             "pred": top.brand_id if top else None, "score": top.score if top else 0.0,
                             "kind": top.kind if top else None, "verified": bool(top and top.verified),
                             "box": _rescale(top.box, photo.size, full) if top and top.box else None,
                             "pred_any_kind": hits[0].brand_id if hits else None,
                             "hits": [(h.brand_id, h.kind, round(h.score, 4), h.verified) for h in hits[:6]]})
        t_match = time.perf_counter() - t0

    thr = {"logo": LOGO_REVIEW_THRESHOLD, "photo": PHOTO_REVIEW_THRESHOLD}
    pos = [r for r in rows if r["truth"]]
    neg = [r for r in rows if not r["truth"]]
    correct = [r for r in pos if r["pred"] in r["brands"]]
    flagged = lambda r: any(s >= thr[k] for _, k, s, _ in r["hits"])  # noqa: E731
    top1 = len(correct) / max(1, len(pos))
    top1_review = sum(1 for r in correct if r["score"] >= thr[r["kind"]]) / max(1, len(pos))
    fa = sum(1 for r in neg if flagged(r)) / max(1, len(neg))
    print(f"\nreview thresholds: logo {LOGO_REVIEW_THRESHOLD}, photo {PHOTO_REVIEW_THRESHOLD}")
    print(f"top-1 brand accuracy (photos with a logo):           {top1:.3f}  ({len(correct)}/{len(pos)})")
    any_kind = sum(1 for r in pos if r["pred_any_kind"] in r["brands"])
    print(f"(diagnostic) top-1 by the best hit of any kind:       {any_kind / max(1, len(pos)):.3f}  ({any_kind}/{len(pos)})")
    print(f"top-1 correct and at/above review threshold:         {top1_review:.3f}")
    print(f"false-alarm rate at review (photos without a catalogue logo): {fa:.3f}  "
          f"({sum(1 for r in neg if flagged(r))}/{len(neg)})")
    ious = []
    for r in correct:
        if r["box"]:
            gt = [b for bb, b in data[r["image"]]["boxes"] if bb == r["pred"]]
            ious.append(max(iou(r["box"], g) for g in gt) if gt else 0.0)
    ver = [r for r in correct if r["verified"]]
    if ious:
        print(f"correct top hits with a box: {len(ious)}; box IoU>=0.5 with the annotation: "
              f"{sum(i >= 0.5 for i in ious) / len(ious):.3f}; keypoint-verified: {len(ver)}")
    # operating points: the score threshold that keeps <= 5% false alarms
    neg_scores = sorted((max([s for _, _, s, _ in r["hits"]] or [0.0]) for r in neg), reverse=True)
    k5 = int(0.05 * len(neg_scores))
    t5 = neg_scores[k5] if neg_scores else 0.0
    print(f"(diagnostic) max-score threshold for 5% false alarms on this split: {t5:.3f}; top-1 at it: "
          f"{sum(1 for r in correct if r['score'] > t5) / max(1, len(pos)):.3f}")
    print(f"time: onboarding {t_build:.0f}s, matching {t_match:.0f}s for {len(rows)} photos "
          f"({len(rows) / max(t_match, 1e-9):.2f} photos/s)")
    if args.baseline:
        baseline(embedder, folder, refs, queries)
    if args.dump:
        args.dump.write_text(json.dumps(rows, indent=1))
    return 0


def cached_index(args, catalog, embedder, catalog_root: Path):
    """Onboard the catalogue, or (``--index-cache``) reuse an index built for the same split and options."""
    from counterfeit_vision.index import ReferenceIndex
    from counterfeit_vision.onboarding import build_index

    key = f"seed{args.seed}-holdout{args.holdout}-ref{args.ref_frac}-aug{not args.no_augment}-heads{not args.no_heads}"
    cache = args.index_cache / key if args.index_cache else None
    if cache is not None and (cache / "manifest.json").is_file():
        index = ReferenceIndex.load(cache, expect=embedder.info)
        index.reference_root = str(catalog_root.resolve())  # the catalogue is re-cropped into a new temp folder
        print(f"index loaded from {cache}")
        return index
    index = build_index(catalog, embedder, augment=not args.no_augment, adapt=not args.no_heads)
    if cache is not None:
        index.save(cache)
    return index


def Image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def _rescale(box, size, full):
    sx, sy = full[0] / size[0], full[1] / size[1]
    return (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)


def baseline(embedder, folder: Path, refs, queries) -> None:
    """Plain whole-photo nearest neighbour against the brand-supplied photos."""
    import numpy as np

    from counterfeit_vision.images import load_rgb

    ref_items = [(b, img) for b, imgs in refs.items() for img in imgs]
    xr = embedder.embed_images([load_rgb(folder / "images" / i, draft_size=512) for _, i in ref_items])
    xq = embedder.embed_images([load_rgb(folder / "images" / i, draft_size=512) for i, _ in queries])
    nn = (xq @ xr.T).argmax(axis=1)
    acc = np.mean([ref_items[j][0] == b for j, (_, b) in zip(nn, queries)])
    print(f"baseline whole-photo nearest neighbour top-1: {acc:.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
