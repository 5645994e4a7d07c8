"""Build the labelled fusion evaluation set from real parts (see fusion_eval_set/README.md).

    python benchmarks/build_fusion_eval_set.py --data ../shared/data --out results/fusion_eval_set

Writes, under ``--out`` (never into the repository's tracked files; ``results/`` is ignored):

    catalog/<brand>/brand.yaml, logos/*.png, references/*.jpg   the eval catalogue
    photos/stolen_*.jpg          altered copies of official photos ("stolen photo" fakes)
    listings.jsonl               listing rows (title, images, price, seller, category)
    labels.jsonl                 {"id", "brand_id", "label", "kind"} per listing
    sellers.json                 seller -> seller_history value from a synthetic prior period
    outcomes.jsonl               the labels as feedback-store outcomes (brand reviews, appeals)
    summary.json                 counts and parameters

Listing photos that are real Flickr photos are referenced by absolute path in the
shared data folder; only derived images (logo crops, altered copies) are written.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# brand id -> (name, flickr folder name or None, title regex)
PHOTO_BRANDS = {"nike": ("Nike", "Nike"), "puma": ("Puma", "Puma"), "hp": ("HP", "HP"), "apple": ("Apple", "Apple")}
TITLE_BRANDS = {"sony": "Sony", "canon": "Canon", "logitech": "Logitech", "kingston": "Kingston", "epson": "Epson"}
SYNTHETIC_PRICE = {"nike": (60.0, 160.0), "puma": (45.0, 120.0)}  # the shoe titles carry no price
INDICATORS = ["replica", "AAA quality", "1:1 mirror quality", "top grade copy", "unbranded", "super copy",
              "original quality", "high copy"]
LOOKALIKE = ["{b} style", "inspired by {b}", "{b}-type", "{b} dupe", "same as {b}"]
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і"}
LEET = {"o": "0", "e": "3", "i": "1", "a": "@", "s": "$"}

KINDS_GENUINE = {"official": 0.12, "reseller": 0.30, "bargain": 0.05, "lazy_title": 0.06, "unrelated": 0.07}
KINDS_FAKE = {"evasive": 0.13, "indicator": 0.09, "stolen_photo": 0.05, "hidden_logo": 0.05, "plain_cheap": 0.05,
              "plain_normal_price": 0.03}


def default_data_dir() -> Path:
    return Path(os.environ.get("CV_SHARED_DATA", REPO.parent / "shared" / "data"))


def _word(b: str) -> re.Pattern:
    return re.compile(r"\b" + re.escape(b) + r"\b", re.I)


def load_titles(data: Path) -> dict[str, list[tuple[str, float | None]]]:
    """Real titles per eval brand (the brand's name appears in the title, no other eval brand's does)."""
    rows = list(csv.DictReader((data / "titles" / "genuine_titles.csv").open(encoding="utf-8")))
    out: dict[str, list[tuple[str, float | None]]] = {}
    all_names = {**{k: v[0] for k, v in PHOTO_BRANDS.items()}, **TITLE_BRANDS}
    for bid, name in all_names.items():
        pat = _word(name)
        others = [_word(n) for b, n in all_names.items() if b != bid]
        seen, items = set(), []
        for r in rows:
            t = r["title"].strip()
            if pat.search(t) and not any(o.search(t) for o in others) and t.lower() not in seen:
                seen.add(t.lower())
                price = float(r["price"]) if r.get("price") else None
                items.append((t, price))
        out[bid] = items
    return out


def other_titles(data: Path, brand_names: list[str], n: int, rng: random.Random) -> list[str]:
    rows = list(csv.DictReader((data / "titles" / "genuine_titles.csv").open(encoding="utf-8")))
    pats = [_word(b) for b in brand_names]
    pool = [r["title"] for r in rows if not any(p.search(r["title"]) for p in pats)]
    return rng.sample(pool, min(n, len(pool)))


def load_boxes(data: Path) -> dict[str, dict[str, list[tuple[int, int, int, int]]]]:
    """brand -> image -> distinct boxes."""
    out: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for line in (data / "flickr_logos_27_train" / "annotations.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) < 7:
            continue
        img, brand, _sub, *xy = parts[:7]
        x1, y1, x2, y2 = map(int, xy)
        if x2 - x1 >= 12 and y2 - y1 >= 12:
            out[brand][img].add((x1, y1, x2, y2))
    return {b: {i: sorted(bx) for i, bx in imgs.items()} for b, imgs in out.items()}


def _rewrite_evasive(title: str, name: str, rng: random.Random) -> str:
    m = _word(name).search(title)
    if not m:
        return title
    word = m.group(0)
    how = rng.choice(["leet", "spaced", "homoglyph", "double"])
    if how == "leet":
        idx = [i for i, ch in enumerate(word) if ch.lower() in LEET]
        if not idx:
            how = "spaced"
        else:
            i = rng.choice(idx)
            new = word[:i] + LEET[word[i].lower()] + word[i + 1:]
    if how == "homoglyph":
        idx = [i for i, ch in enumerate(word) if ch.lower() in HOMOGLYPHS]
        if not idx:
            how = "spaced"
        else:
            i = rng.choice(idx)
            new = word[:i] + HOMOGLYPHS[word[i].lower()] + word[i + 1:]
    if how == "double":
        i = rng.randrange(len(word))
        new = word[:i + 1] + word[i] + word[i + 1:]
    if how == "spaced":
        new = rng.choice([".", "-", " "]).join(word.upper())
    return title[:m.start()] + new + title[m.end():]


def _strip_brand(title: str, name: str) -> str:
    t = _word(name).sub("", title)
    return re.sub(r"\s{2,}", " ", t).strip(" -,") or "product"


def build(data: Path, out: Path, *, n_listings: int = 20000, seed: int = 0, photo_share: float = 0.35,
          logo_photos: int = 8, reference_photos: int = 3, other_photos: int = 60) -> dict:
    import yaml
    from PIL import Image

    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "catalog").mkdir(parents=True)
    (out / "photos").mkdir()
    flickr = data / "flickr_logos_27_train" / "images"
    boxes = load_boxes(data)
    titles = load_titles(data)
    dev = REPO / "benchmarks" / "title_dev_catalog"

    brands: dict[str, dict] = {}
    listing_photos: dict[str, list[str]] = {}
    official: dict[str, list[str]] = {}
    for bid, name in {**{k: v[0] for k, v in PHOTO_BRANDS.items()}, **TITLE_BRANDS}.items():
        prices = sorted(p for _, p in titles[bid] if p)
        lo, hi = SYNTHETIC_PRICE.get(bid, (None, None))
        if not prices:
            prices = sorted(rng.uniform(lo, hi) for _ in range(200))
        floor = round(0.5 * prices[len(prices) // 4], 2)
        spec = yaml.safe_load((dev / bid / "brand.yaml").read_text()) if (dev / bid / "brand.yaml").exists() \
            else {"id": bid, "name": name, "compatible_accessories": True}  # electronics: third-party accessories
        spec.pop("thresholds", None)
        spec["authorized_sellers"] = [f"{bid}-official", f"{bid}-store"]
        spec["price_floor"] = {"amount": max(1.0, floor), "currency": "USD"}
        bdir = out / "catalog" / bid
        bdir.mkdir()
        brands[bid] = {"name": spec.get("name", name), "floor": spec["price_floor"]["amount"], "prices": prices}
        if bid in PHOTO_BRANDS:
            imgs = sorted(boxes.get(PHOTO_BRANDS[bid][1], {}))
            rng.shuffle(imgs)
            logo_src, ref_src, rest = imgs[:logo_photos], imgs[logo_photos:logo_photos + reference_photos], \
                imgs[logo_photos + reference_photos:]
            (bdir / "logos").mkdir()
            (bdir / "references").mkdir()
            k = 0
            for img in logo_src:
                with Image.open(flickr / img) as im:
                    im = im.convert("RGB")
                    for (x1, y1, x2, y2) in boxes[PHOTO_BRANDS[bid][1]][img][:2]:
                        im.crop((x1, y1, x2, y2)).save(bdir / "logos" / f"logo_{k}.png")
                        k += 1
            official[bid] = []
            for j, img in enumerate(ref_src):
                ref = bdir / "references" / f"official_{j}.jpg"
                with Image.open(flickr / img) as im:
                    im.convert("RGB").save(ref, quality=92)
                # the stolen copy: cropped 4% per side, resized, re-encoded
                with Image.open(ref) as im:
                    w, h = im.size
                    c = im.crop((int(w * .04), int(h * .04), int(w * .96), int(h * .96)))
                    c = c.resize((max(64, int(c.width * .8)), max(64, int(c.height * .8))))
                    stolen = out / "photos" / f"stolen_{bid}_{j}.jpg"
                    c.save(stolen, quality=80)
                official[bid].append(str(ref))
                listing_photos.setdefault(f"stolen:{bid}", []).append(str(stolen))
            listing_photos[bid] = [str(flickr / i) for i in rest]
        (bdir / "brand.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False))

    catalogue_flickr = {v[1] for v in PHOTO_BRANDS.values()}
    others = sorted({i for b, imgs in boxes.items() if b not in catalogue_flickr for i in imgs}
                    - {i for b in catalogue_flickr for i in boxes.get(b, {})})
    rng.shuffle(others)
    no_logo = [str(flickr / i) for i in others[:other_photos]]
    unrelated = other_titles(data, [b["name"] for b in brands.values()], 2000, rng)

    # sellers: authorised per brand, honest resellers, fake shops with a synthetic prior record
    resellers = [f"reseller-{i}" for i in range(400)]
    fake_shops = [f"shop-{i}" for i in range(120)]
    history = {}
    for s in resellers:
        history[s] = 1 / 3 if rng.random() < 0.03 else 0.0  # one confirmed fake in their past
    for s in fake_shops:
        k = 0 if rng.random() < 0.3 else rng.randint(1, 6)
        m = k + rng.randint(0, 2)
        history[s] = k / (m + 2)

    kinds = {**KINDS_GENUINE, **KINDS_FAKE}
    names, weights = list(kinds), list(kinds.values())
    listings, labels = [], []
    for n in range(n_listings):
        kind = rng.choices(names, weights)[0]
        fake = kind in KINDS_FAKE
        bid = rng.choice(list(brands))
        if kind in ("stolen_photo", "hidden_logo", "lazy_title") and bid not in PHOTO_BRANDS:
            bid = rng.choice(list(PHOTO_BRANDS))
        b = brands[bid]
        title, base = rng.choice(titles[bid]) if titles[bid] else (b["name"], None)
        base = base or rng.choice(b["prices"])
        images: list[str] = []
        has_photo = bid in PHOTO_BRANDS and rng.random() < photo_share
        seller = rng.choice(fake_shops) if fake else rng.choice(resellers)
        price = base * rng.uniform(0.85, 1.25)
        if fake and kind != "plain_normal_price":
            price = base * (rng.uniform(0.12, 0.45) if rng.random() < 0.8 else rng.uniform(0.6, 1.0))
        if kind == "official":
            seller = rng.choice([f"{bid}-official", f"{bid}-store"])
            if bid in PHOTO_BRANDS and rng.random() < 0.6:
                images = [rng.choice(official[bid])]
        elif kind == "reseller":
            if rng.random() < 0.3:
                title = rng.choice(["Pre-owned ", "Used ", "New in box: ", ""]) + title
            if has_photo:
                images = [rng.choice(listing_photos[bid])]
        elif kind == "bargain":  # a genuine clearance or used item below the floor
            price = base * rng.uniform(0.4, 0.75)
            if has_photo:
                images = [rng.choice(listing_photos[bid])]
        elif kind == "lazy_title":  # an honest seller who did not name the brand; the logo is in the photo
            title = _strip_brand(title, b["name"])
            images = [rng.choice(listing_photos[bid])]
        elif kind == "unrelated":
            title, bid = rng.choice(unrelated), None
            price = rng.uniform(5, 300)
            if rng.random() < photo_share:
                images = [rng.choice(no_logo)]
        elif kind == "evasive":
            title = _rewrite_evasive(title, b["name"], rng)
            if has_photo:
                images = [rng.choice(listing_photos[bid])]
        elif kind == "indicator":
            if rng.random() < 0.6:
                title = f"{title} {rng.choice(INDICATORS)}"
            else:
                title = _word(b["name"]).sub(rng.choice(LOOKALIKE).format(b=b["name"]), title, count=1)
            if has_photo:
                images = [rng.choice(listing_photos[bid])]
        elif kind == "stolen_photo":
            images = [rng.choice(listing_photos[f"stolen:{bid}"])]
            if rng.random() < 0.5:
                title = _strip_brand(title, b["name"])
        elif kind == "hidden_logo":
            title = _strip_brand(title, b["name"])
            images = [rng.choice(listing_photos[bid])]
        elif kind in ("plain_cheap", "plain_normal_price"):
            if has_photo:
                images = [rng.choice(listing_photos[bid])]
            if kind == "plain_normal_price" and rng.random() < 0.5:
                seller = f"new-seller-{n}"  # no record: undetectable by design
        if not images and not fake and bid not in PHOTO_BRANDS and rng.random() < photo_share * 0.5:
            images = [rng.choice(no_logo)]  # a photo with no catalogue logo
        lid = f"ev-{n:06d}"
        listings.append({"id": lid, "title": title, "images": images, "price": round(price, 2), "currency": "USD",
                         "seller_id": seller, "category": None})
        labels.append({"id": lid, "brand_id": bid, "label": int(fake), "kind": kind})

    with (out / "listings.jsonl").open("w", encoding="utf-8") as f:
        for r in listings:
            f.write(json.dumps({k: v for k, v in r.items() if v is not None}, ensure_ascii=False) + "\n")
    with (out / "labels.jsonl").open("w", encoding="utf-8") as f:
        for r in labels:
            f.write(json.dumps(r) + "\n")
    (out / "sellers.json").write_text(json.dumps(history, indent=0))
    summary = {"listings": n_listings, "fakes": sum(r["label"] for r in labels), "seed": seed,
               "photo_share": photo_share, "brands": {k: {"floor": v["floor"], "titles": len(titles[k])}
                                                      for k, v in brands.items()},
               "kinds": {k: sum(r["kind"] == k for r in labels) for k in kinds},
               "unique_photos": len({i for r in listings for i in r["images"]}),
               "listings_with_photos": sum(bool(r["images"]) for r in listings)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def outcome_rows(labels: list[dict], results_by_id: dict[str, dict]) -> list[dict]:
    """The labels as outcomes about the brand each listing was scored for (what a brand would review)."""
    rows = []
    for lab in labels:
        r = results_by_id.get(lab["id"])
        if r is None or not r.get("brand"):
            continue
        fake = int(lab["label"] == 1 and r["brand"] == lab["brand_id"])
        rows.append({"listing_id": lab["id"], "brand_id": r["brand"],
                     "outcome": "confirmed_fake" if fake else "rejected", "source": "brand",
                     "reviewer": "eval-labels", "decided_at": "2025-01-01T00:00:00+00:00"})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--out", type=Path, default=REPO / "results" / "fusion_eval_set")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--photo-share", type=float, default=0.35)
    args = ap.parse_args(argv)
    if not (args.data / "titles" / "genuine_titles.csv").is_file():
        print(f"shared data not found at {args.data}; nothing to build", file=sys.stderr)
        return 0
    print(json.dumps(build(args.data, args.out, n_listings=args.n, seed=args.seed, photo_share=args.photo_share),
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
