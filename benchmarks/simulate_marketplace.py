"""A SIMULATED marketplace for seller networks, seller risk and test-buy targeting (no public labelled
data of seller rings exists, so every number this prints is about this simulation, not a real market).

    python benchmarks/simulate_marketplace.py                 # >= 2,000 sellers, >= 20,000 listings
    python benchmarks/simulate_marketplace.py --scale 0.1     # a quick run while developing

What is real: the photos (FlickrLogos-27 training photos, ``../shared/data``) from which every
listing photo is made, the prices (drawn from the shared genuine titles' prices), and every
component measured: listing photos are really cropped, resized, re-compressed and watermarked
with PIL and hashed (SHA-256 of the JPEG bytes, the detector's own pHash); the results and
listings are written as JSONL and read back by ``counterfeit_vision.sellers.analysis.analyse``
(contact and payment identifiers hashed by ``Listing.from_dict``); the prior period's
decisions and outcomes go through a real SQLite ``FeedbackStore``; confidences come from the
hand-set fusion formula; test buys from ``rank_test_buys``.

What is simulated (the full image models are not run on 20,000 listings; the cue model):

- photos: a ring's pool photo is a 75-95% crop of a real photo no other ring uses; a seller's
  own photo is two crops of different real photos side by side (so that own photos of two
  sellers are different pictures); stock and supplier photos are single crops;
- sellers: rings of 3-8 dummy storefronts (85% of their listings fake) that share a pool of
  product photos, each storefront re-publishing its own copy (crop 0-6% per side, resize
  70-100%, JPEG quality 35-90, half of them watermarked with the store name); 40% of rings
  share a contact, 25% a payment account, 50% a store-name pattern; standalone
  counterfeiters (70% fake); honest resellers of genuine goods (2% fake bought unknowingly;
  20% authorised; some use the brand's official photos, some share a supplier's photo of a
  branded product with 3-25 other resellers); honest sellers of unbranded goods sharing stock
  photos (10-60 sellers per photo);
- the prior period in the feedback store: 35% of ring members and 50% of standalone
  counterfeiters have 1-3 confirmed counterfeits (10-700 days ago, mostly of a brand they still
  sell), honest resellers 0.5% a wrong confirmation and 3% a rejected notice;
- per-listing cues (for brand-attributed listings, ``title_brand`` = 1): a fake has
  ``title_misuse`` ~ U(0.6, 0.95) with probability 0.35, ``price_below_floor`` ~ U(0.1, 1)
  with probability 0.5, ``photo`` ~ U(0.6, 0.9) with probability 0.15; a genuine listing
  ``title_misuse`` ~ U(0.5, 0.9) with probability 0.02 (a false alarm of the title engine),
  ``price_below_floor`` ~ U(0, 0.5) with probability 0.10, and ``photo`` = 0.8 when it shows
  an official photo. Confidence = the hand-set fusion of those cues; "with seller cues" adds
  the seller cue (risk with networks and repeat offences, ``SellerCues``) as ``seller_history``.

Printed: ring recovery (pairwise precision/recall of "same network"), the share of honest
sellers wrongly linked (to a ring, and to anyone), takedown recall at precision 0.99 with and
without the seller cues (best threshold on the simulated labels, the same rule for both), and
the test-buy hit rate (counterfeits confirmed per purchase) of the targeting, of random picks
and of ranking by confidence alone at budgets 50, 200 and 1,000. Skips (exit 0) without the data.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from itertools import combinations
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from counterfeit_vision.catalog import Brand, Catalog  # noqa: E402
from counterfeit_vision.feedback.store import FeedbackStore, write_outcomes  # noqa: E402
from counterfeit_vision.fusion.cues import BrandCues  # noqa: E402
from counterfeit_vision.fusion.handset import HandSetFusion, decide  # noqa: E402
from counterfeit_vision.image.phash import phash_hex  # noqa: E402
from counterfeit_vision.listing import Evidence, Photo, Result  # noqa: E402
from counterfeit_vision.sellers.analysis import analyse  # noqa: E402
from counterfeit_vision.sellers.risk import SellerCues  # noqa: E402
from counterfeit_vision.sellers.testbuy import TestBuyConfig, rank_test_buys  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
ADJ = ("golden", "silver", "happy", "lucky", "urban", "royal", "sunny", "bright", "cosy", "swift", "noble", "quiet",
       "blue", "green", "crimson", "amber", "misty", "brisk", "gentle", "clever", "modern", "classic", "vivid", "calm")
NOUN = ("lotus", "harbor", "maple", "falcon", "garden", "lantern", "river", "meadow", "pebble", "cedar", "willow",
        "comet", "orchid", "tiger", "panda", "heron", "summit", "canyon", "atlas", "ember", "breeze", "prairie")


# ----------------------------------------------------------------------------------------- data
def default_data_dir() -> Path:
    return Path(os.environ.get("CV_SHARED_DATA", REPO.parent / "shared" / "data"))


def load_photos(data: Path, max_side: int = 256) -> tuple[list[Image.Image], list[str]]:
    """The real photos (downscaled: pHash looks at 32 x 32 anyway) and each one's brand."""
    brands = {}
    for line in (data / "flickr_logos_27_train" / "annotations.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            brands.setdefault(parts[0], parts[1].lower())
    imgs, labels = [], []
    for name in sorted(brands):
        p = data / "flickr_logos_27_train" / "images" / name
        if p.is_file():
            im = Image.open(p).convert("RGB")
            im.thumbnail((max_side, max_side))
            imgs.append(im)
            labels.append(brands[name])
    return imgs, labels


def load_prices(data: Path) -> list[float]:
    out = []
    with (data / "titles" / "genuine_titles.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                out.append(float(row["price"]))
            except (TypeError, ValueError):
                continue
    return [p for p in out if 0 < p < 5000] or [50.0]


# ------------------------------------------------------------------------------------- photos
def _crop(im: Image.Image, rng: random.Random, lo: float, hi: float) -> Image.Image:
    """A random crop keeping a share in [lo, hi] of each side."""
    w, h = im.size
    fw, fh = rng.uniform(lo, hi), rng.uniform(lo, hi)
    cw, ch = max(16, int(w * fw)), max(16, int(h * fh))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return im.crop((x, y, x + cw, y + ch))


def copy_of(im: Image.Image, rng: random.Random, mark: str | None) -> Image.Image:
    """A storefront's copy of a ring photo: small crop, resize, watermark (re-compression on encode)."""
    w, h = im.size
    l, t, r, b = (int(rng.uniform(0, 0.06) * s) for s in (w, h, w, h))
    out = im.crop((l, t, w - r, h - b))
    f = rng.uniform(0.7, 1.0)
    out = out.resize((max(16, int(out.width * f)), max(16, int(out.height * f))))
    if mark:
        draw = ImageDraw.Draw(out)
        x, y = rng.choice([(4, 4), (4, out.height - 14), (out.width // 2, out.height - 14)])
        draw.text((x, y), mark, fill=(255, 255, 255))
    return out


def encode(im: Image.Image, quality: int) -> tuple[str, str]:
    """(SHA-256 of the JPEG bytes, pHash of the decoded JPEG): what the detector stores per photo."""
    import hashlib

    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    data = buf.getvalue()
    return hashlib.sha256(data).hexdigest(), phash_hex(Image.open(io.BytesIO(data)).convert("RGB"))


# ------------------------------------------------------------------------------------ sellers
@dataclass
class Seller:
    id: str
    kind: str                      # ring | counterfeiter | reseller | stock
    ring: int | None = None
    brands: list[str] = field(default_factory=list)
    name: str = ""
    contact: str | None = None
    payment: str | None = None
    since: str | None = None
    authorized: bool = False
    p_fake: float = 0.0


@dataclass
class SimListing:
    id: str
    seller: Seller
    brand: str | None
    fake: bool
    photos: list[tuple[str, str, str]]   # (path, sha256, phash)
    official: set[str]
    price: float
    sales: float


class Market:
    """Builds the simulated marketplace (see the module doc)."""

    def __init__(self, imgs, img_brands, prices, rng: random.Random, scale: float):
        self.imgs, self.img_brands, self.prices, self.rng, self.scale = imgs, img_brands, prices, rng, scale
        self.brands = sorted(set(img_brands))
        self.by_brand = {b: [i for i, x in enumerate(img_brands) if x == b] for b in self.brands}
        self.sellers: list[Seller] = []
        self.listings: list[SimListing] = []
        self.cache: dict[tuple, tuple[str, str]] = {}
        self.n_listing = 0
        self.used: set[int] = set()  # real photos a ring's pool was made from

    def n(self, k: int) -> int:
        return max(1, int(round(k * self.scale)))

    def _name(self) -> str:
        syll = "".join(self.rng.choice("bcdfgklmnprstvz") + self.rng.choice("aeiou") for _ in range(2))
        return f"{self.rng.choice(ADJ).title()} {self.rng.choice(NOUN).title()} {syll.title()}"

    def _since(self, young: float) -> str:
        days = self.rng.uniform(5, 80) if self.rng.random() < young else self.rng.uniform(200, 3000)
        return (NOW - timedelta(days=days)).date().isoformat()

    def _photo(self, key: tuple, make) -> tuple[str, str]:
        if key not in self.cache:
            im, q = make()
            self.cache[key] = encode(im, q)
        return self.cache[key]

    def _listing(self, s: Seller, brand: str | None, fake: bool, photos, official=()) -> None:
        self.n_listing += 1
        lid = f"L{self.n_listing:06d}"
        price = self.rng.choice(self.prices) * (0.4 if fake else 1.0)
        sales = float(int(self.rng.expovariate(1 / 30)))
        self.listings.append(SimListing(lid, s, brand, fake, [(f"{lid}/{k}.jpg", sha, ph) for k, (sha, ph)
                                                                in enumerate(photos)],
                                        {f"{lid}/{k}.jpg" for k in official}, price, sales))

    def _own_photo(self, s: Seller, k: int, brand: str | None):
        """A seller's own photo: two crops of different real photos side by side (one of the brand's), so
        that two sellers' own photos are different pictures (809 real photos alone would repeat)."""
        def make():
            a = self.rng.choice(self.by_brand.get(brand) or range(len(self.imgs)))
            b = self.rng.randrange(len(self.imgs))
            left, right = (_crop(self.imgs[i], self.rng, 0.5, 0.8) for i in (a, b))
            h = min(left.height, right.height)
            left, right = (im.resize((max(8, im.width * h // im.height), h)) for im in (left, right))
            out = Image.new("RGB", (left.width + right.width, h))
            out.paste(left, (0, 0))
            out.paste(right, (left.width, 0))
            if self.rng.random() < 0.5:
                out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            return out, self.rng.randint(60, 95)
        return self._photo(("own", s.id, k), make)

    def _fresh_source(self, brand: str) -> int:
        """A real photo no ring has used yet (of the brand while any is left): rings do not copy each other."""
        left = [i for i in self.by_brand[brand] if i not in self.used] or \
            [i for i in range(len(self.imgs)) if i not in self.used] or list(range(len(self.imgs)))
        i = self.rng.choice(left)
        self.used.add(i)
        return i

    def build_rings(self, n_rings: int) -> None:
        for r in range(n_rings):
            brands = self.rng.sample(self.brands, self.rng.randint(1, 3))
            pool = [self._fresh_source(self.rng.choice(brands)) for _ in range(self.rng.randint(3, 6))]
            base = [_crop(self.imgs[i], self.rng, 0.75, 0.95) for i in pool]
            size = self.rng.randint(3, 8)
            contact = f"+86 1{self.rng.randint(10**9, 10**10 - 1)}" if self.rng.random() < 0.4 else None
            payment = f"CN{self.rng.randint(10**15, 10**16 - 1)}" if self.rng.random() < 0.25 else None
            stem = self._name().split()[-1] + self.rng.choice(NOUN) if self.rng.random() < 0.5 else None
            for m in range(size):
                s = Seller(f"ring{r:03d}-{m}", "ring", r, brands, f"{stem} {m + 1:02d}" if stem else self._name(),
                           contact if contact and self.rng.random() < 0.7 else None,
                           payment if payment and self.rng.random() < 0.7 else None,
                           self._since(0.6), p_fake=0.85)
                self.sellers.append(s)
                marked = self.rng.random() < 0.5
                for k in range(self.rng.randint(6, 14)):
                    fake = self.rng.random() < s.p_fake
                    picks = self.rng.sample(range(len(base)), self.rng.randint(1, 2))
                    photos = [self._photo(("ring", s.id, j), lambda j=j: (copy_of(base[j], self.rng,
                                                                                  s.name if marked else None),
                                                                          self.rng.randint(35, 90))) for j in picks]
                    if self.rng.random() < 0.3:  # plus a photo of its own
                        photos.append(self._own_photo(s, k, None))
                    self._listing(s, self.rng.choice(s.brands), fake, photos)

    def build_counterfeiters(self, n: int) -> None:
        for i in range(n):
            s = Seller(f"cf{i:04d}", "counterfeiter", brands=self.rng.sample(self.brands, self.rng.randint(1, 3)),
                       name=self._name(), contact=f"user{i}@mail.example", since=self._since(0.4), p_fake=0.7)
            self.sellers.append(s)
            for k in range(self.rng.randint(6, 14)):
                brand = self.rng.choice(s.brands)
                self._listing(s, brand, self.rng.random() < s.p_fake, [self._own_photo(s, k, brand)])

    def build_resellers(self, n: int, n_supplier: int) -> None:
        official = {b: [self._photo(("official", b, j), lambda b=b: (self.imgs[self.rng.choice(self.by_brand[b])], 92))
                        for j in range(2)] for b in self.brands}
        resellers = []
        for i in range(n):
            s = Seller(f"rs{i:04d}", "reseller", brands=self.rng.sample(self.brands, self.rng.randint(1, 4)),
                       name=self._name(), contact=f"shop{i}@mail.example", since=self._since(0.1),
                       authorized=self.rng.random() < 0.2, p_fake=0.02)
            self.sellers.append(s)
            resellers.append(s)
        supplier = {}  # photo -> the resellers sharing it
        for j in range(n_supplier):
            brand = self.rng.choice(self.brands)
            sharers = [s for s in resellers if brand in s.brands] or resellers
            supplier[j] = (brand, self.rng.sample(sharers, min(len(sharers), self.rng.randint(3, 25))))
        uses = {s.id: [] for s in resellers}
        for j, (brand, sharers) in supplier.items():
            for s in sharers:
                uses[s.id].append((j, brand))
        for s in resellers:
            for k in range(self.rng.randint(6, 14)):
                fake = self.rng.random() < s.p_fake
                if uses[s.id] and k < len(uses[s.id]):
                    j, brand = uses[s.id][k]
                    src = self.by_brand[brand][j % len(self.by_brand[brand])]
                    photos = [self._photo(("supplier", j), lambda src=src: (_crop(self.imgs[src], self.rng, 0.8, 1.0),
                                                                            88))]
                    self._listing(s, brand, fake, photos)
                elif self.rng.random() < 0.4:
                    brand = self.rng.choice(s.brands)
                    self._listing(s, brand, fake, [self.rng.choice(official[brand])], official=(0,))
                else:
                    brand = self.rng.choice(s.brands)
                    self._listing(s, brand, fake, [self._own_photo(s, k, brand)])

    def build_stock(self, n: int, n_stock: int) -> None:
        stock = [self._photo(("stock", j), lambda: (_crop(self.imgs[self.rng.randrange(len(self.imgs))], self.rng,
                                                          0.6, 0.9), 85)) for j in range(n_stock)]
        for i in range(n):
            s = Seller(f"st{i:04d}", "stock", name=self._name(), since=self._since(0.2))
            self.sellers.append(s)
            mine = self.rng.sample(range(n_stock), min(n_stock, self.rng.randint(3, 8)))
            for k in range(self.rng.randint(6, 14)):
                # a few unbranded listings still name a brand (e.g. "fits Nike laces"): attributed, genuine
                brand = self.rng.choice(self.brands) if self.rng.random() < 0.05 else None
                self._listing(s, brand, False, [stock[self.rng.choice(mine)]])


# ------------------------------------------------------------------------------------ history
def prior_verdicts(market: Market, rng: random.Random) -> tuple[list[Result], list[dict]]:
    """The prior period: past listings' decisions and what brands and appeals decided about them."""
    results, outcomes = [], []
    n = 0
    for s in market.sellers:
        if s.kind in ("ring", "counterfeiter"):
            k = rng.randint(1, 3) if rng.random() < (0.35 if s.kind == "ring" else 0.5) else 0
            fake = True
        elif s.kind == "reseller":
            k, fake = (1, True) if rng.random() < 0.005 else ((1, False) if rng.random() < 0.03 else (0, False))
        else:
            k, fake = 0, False
        for _ in range(k):
            n += 1
            brand = rng.choice(s.brands) if rng.random() < 0.8 and s.brands else rng.choice(market.brands)
            lid = f"P{n:06d}"
            results.append(Result(lid, "review", 0.6, brand, {"title_brand": 1.0}, seller_id=s.id))
            when = NOW - timedelta(days=rng.uniform(10, 700))
            outcome = ("appeal_denied" if rng.random() < 0.3 else "confirmed_fake") if fake else "rejected"
            outcomes.append({"listing_id": lid, "brand_id": brand, "outcome": outcome, "seller_id": s.id,
                             "decided_at": when.isoformat()})
    return results, outcomes


# --------------------------------------------------------------------------------------- cues
def listing_cues(lst: SimListing, rng: random.Random) -> BrandCues | None:
    """The simulated per-listing cues (module doc); None for a listing that invokes no brand."""
    if lst.brand is None:
        return None
    authorized = lst.seller.authorized and lst.brand in lst.seller.brands
    if lst.fake:
        tm = rng.uniform(0.6, 0.95) if rng.random() < 0.35 else 0.0
        pr = rng.uniform(0.1, 1.0) if rng.random() < 0.5 else 0.0
        ph = rng.uniform(0.6, 0.9) if rng.random() < 0.15 else 0.0
    else:
        tm = rng.uniform(0.5, 0.9) if rng.random() < 0.02 else 0.0
        pr = rng.uniform(0.0, 0.5) if rng.random() < 0.10 else 0.0
        ph = 0.8 if lst.official else 0.0
    return BrandCues(lst.brand, title_brand=1.0, title_misuse=tm, price_below_floor=pr, photo=ph,
                     authorized_seller=authorized)


def score(cues: BrandCues | None, seller_cue: float = 0.0) -> float:
    if cues is None:
        return 0.0
    c = BrandCues(**{**cues.__dict__, "seller_history": 0.0 if cues.authorized_seller else seller_cue})
    return HandSetFusion().score(c).confidence


# -------------------------------------------------------------------------------------- files
def write_files(market: Market, conf: dict[str, float], folder: Path) -> tuple[Path, Path]:
    results, listings = folder / "results.jsonl", folder / "listings.jsonl"
    with results.open("w") as fr, listings.open("w") as fl:
        for x in market.listings:
            c = conf[x.id]
            ev = tuple(Evidence("photo", x.brand, 0.8, "official photo reused", image=p) for p in sorted(x.official))
            r = Result(x.id, decide(c).decision if x.brand else "pass", c, x.brand, {}, ev,
                       photos=tuple(Photo(p, sha, ph) for p, sha, ph in x.photos), seller_id=x.seller.id)
            fr.write(json.dumps(r.to_dict()) + "\n")
            row = {"id": x.id, "seller_id": x.seller.id, "price": round(x.price, 2), "sales": x.sales,
                   "seller_name": x.seller.name, "seller_since": x.seller.since, "title": "listing"}
            row |= {"contact": x.seller.contact} if x.seller.contact else {}
            row |= {"payment_id": x.seller.payment} if x.seller.payment else {}
            fl.write(json.dumps(row) + "\n")
    return results, listings


# -------------------------------------------------------------------------------------- metrics
def ring_recovery(market: Market, network_of: dict[str, str]) -> dict:
    ring_of = {s.id: s.ring for s in market.sellers if s.ring is not None}
    true_pairs = {frozenset(p) for r in set(ring_of.values())
                  for p in combinations(sorted(s for s, x in ring_of.items() if x == r), 2)}
    members: dict[str, list[str]] = {}
    for s, nid in network_of.items():
        members.setdefault(nid, []).append(s)
    pred_pairs = {frozenset(p) for m in members.values() for p in combinations(sorted(m), 2)}
    tp = len(true_pairs & pred_pairs)
    honest = [s for s in market.sellers if s.kind in ("reseller", "stock")]
    ring_nets = {network_of[s] for s in ring_of if s in network_of}
    to_ring = sum(network_of.get(s.id) in ring_nets for s in honest)
    to_any = sum(s.id in network_of for s in honest)
    return {"precision": tp / len(pred_pairs) if pred_pairs else float("nan"), "recall": tp / len(true_pairs),
            "true_pairs": len(true_pairs), "predicted_pairs": len(pred_pairs), "honest": len(honest),
            "honest_linked_to_ring": to_ring / len(honest), "honest_linked_to_anyone": to_any / len(honest),
            "networks": len(members)}


def recall_at_precision(y: np.ndarray, p: np.ndarray, target: float = 0.99) -> tuple[float, float]:
    """The largest recall over thresholds whose selection has precision >= target, and that threshold."""
    order = np.argsort(-p, kind="stable")
    ys, ps = y[order], p[order]
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    # only cut between distinct scores
    cut = np.r_[ps[1:] < ps[:-1], True]
    ok = cut & (tp / k >= target) & (ps > 0)
    if not ok.any():
        return 0.0, float("nan")
    i = int(np.where(ok, tp, -1).argmax())
    return float(tp[i] / ys.sum()), float(ps[i])


def hit_rates(picks_by: dict[str, list[str]], fake: dict[str, bool], ring_of: dict[str, int | None],
              seller_of: dict[str, str]) -> dict:
    out = {}
    for name, ids in picks_by.items():
        hits = sum(fake[i] for i in ids)
        rings = {ring_of[seller_of[i]] for i in ids if fake[i] and ring_of[seller_of[i]] is not None}
        sellers = {seller_of[i] for i in ids if fake[i]}
        out[name] = (hits / len(ids) if ids else float("nan"), len(rings), len(sellers), len(ids))
    return out


# ------------------------------------------------------------------------------------------ run
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full-size market (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, help="write the simulated files here instead of a temporary folder")
    args = ap.parse_args(argv)
    if not (args.data / "flickr_logos_27_train" / "annotations.txt").is_file():
        print(f"skipped: shared data not found at {args.data}")
        return 0
    t0 = time.perf_counter()
    rng = random.Random(args.seed)
    imgs, img_brands = load_photos(args.data)
    market = Market(imgs, img_brands, load_prices(args.data), rng, args.scale)
    market.build_rings(market.n(130))
    market.build_counterfeiters(market.n(250))
    market.build_resellers(market.n(650), market.n(30))
    market.build_stock(market.n(500), market.n(60))
    t_build = time.perf_counter() - t0
    cue_rng = random.Random(args.seed + 1)
    cues = {x.id: listing_cues(x, cue_rng) for x in market.listings}
    plain = {lid: score(c) for lid, c in cues.items()}
    brands = Catalog.from_brands([Brand(b, b.title(), authorized_sellers=frozenset(
        s.id for s in market.sellers if s.authorized and b in s.brands)) for b in market.brands])

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        results_path, listings_path = write_files(market, plain, folder)
        store = FeedbackStore(folder / "feedback.sqlite3")
        past, outcomes = prior_verdicts(market, random.Random(args.seed + 2))
        store.record_decisions(past)
        report = store.import_outcomes(write_outcomes(folder / "outcomes.jsonl", outcomes))
        assert report.ok, report.summary()
        t1 = time.perf_counter()
        analysis = analyse(results_path, listings=listings_path, feedback_db=store.path, catalog=brands, now=NOW)
        t_analyse = time.perf_counter() - t1
    seller_cue = SellerCues.build(analysis.risks, analysis.verdicts, brands, now=NOW)
    cued = {x.id: score(cues[x.id], seller_cue(x.seller.id, x.brand) if x.brand else 0.0) for x in market.listings}

    print("SIMULATED marketplace (benchmarks/simulate_marketplace.py; not real market data)")
    kinds = {k: sum(s.kind == k for s in market.sellers) for k in ("ring", "counterfeiter", "reseller", "stock")}
    print(f"  {len(market.sellers)} sellers ({kinds['ring']} ring storefronts in {market.n(130)} rings, "
          f"{kinds['counterfeiter']} standalone counterfeiters, {kinds['reseller']} honest resellers, "
          f"{kinds['stock']} honest stock-photo sellers); {len(market.listings)} listings, "
          f"{sum(len(x.photos) for x in market.listings)} photos ({len(market.cache)} distinct images made)")
    print(f"  prior period: {len(outcomes)} outcomes in the feedback store; built in {t_build:.1f} s, "
          f"analysed (networks + risk) in {t_analyse:.1f} s")
    rec = ring_recovery(market, analysis.networks.network_of)
    print("\nring recovery (pairs of sellers in the same network; phash <= 6 bits, stock guard 8 sellers):")
    print(f"  pairwise precision {rec['precision']:.4f}  recall {rec['recall']:.4f}  "
          f"({rec['predicted_pairs']} predicted pairs, {rec['true_pairs']} true pairs, {rec['networks']} networks)")
    print(f"  honest sellers wrongly linked to a ring: {rec['honest_linked_to_ring']:.4f}; "
          f"linked to anyone: {rec['honest_linked_to_anyone']:.4f} (of {rec['honest']})")
    kinds_count = {}
    for lk in analysis.networks.links:
        kinds_count[lk.kind] = kinds_count.get(lk.kind, 0) + 1
    print(f"  links by kind: {dict(sorted(kinds_count.items()))}")

    y = np.array([x.fake for x in market.listings], dtype=float)
    r0, t0_ = recall_at_precision(y, np.array([plain[x.id] for x in market.listings]))
    r1, t1_ = recall_at_precision(y, np.array([cued[x.id] for x in market.listings]))
    print(f"\ntakedown recall at precision 0.99 ({int(y.sum())} fakes among {len(y)} listings):")
    print(f"  without seller cues {r0:.4f} (threshold {t0_:.4f})")
    print(f"  with seller cues    {r1:.4f} (threshold {t1_:.4f})   gain {r1 - r0:+.4f}")

    fake = {x.id: x.fake for x in market.listings}
    seller_of = {x.id: x.seller.id for x in market.listings}
    ring_of = {s.id: s.ring for s in market.sellers}
    # the results a scan with the feedback store would write: confidences with the seller cue
    records = [replace(r, confidence=cued[r.listing_id]) for r in analysis.records]
    branded = sorted(x.id for x in market.listings if x.brand)
    known = {v.seller_id for v in analysis.verdicts}
    print("\ntest-buy hit rate = counterfeits confirmed per purchase "
          "[distinct counterfeit sellers confirmed / distinct rings confirmed / purchases made]:")
    for budget in (50, 200, 1000):
        picks = {(f"targeting, {k} per network" if k < 10**6 else "targeting, no cap"): [
            p.listing_id for p in rank_test_buys(records, budget, risks=analysis.risks, networks=analysis.networks,
                                                 sellers_with_verdicts=known, config=TestBuyConfig(per_network=k))]
            for k in (1, 3, 10**6)}
        picks["confidence only"] = sorted(branded, key=lambda i: (-cued[i], i))[:budget]
        rates = hit_rates(picks, fake, ring_of, seller_of)
        rand = [hit_rates({"r": random.Random(k).sample(branded, budget)}, fake, ring_of, seller_of)["r"]
                for k in range(20)]
        rates["random (mean of 20)"] = tuple(float(np.mean([r[j] for r in rand])) for j in range(4))
        line = "; ".join(f"{name} {v[0]:.3f} [{v[2]:.0f}/{v[1]:.0f}/{v[3]:.0f}]" for name, v in rates.items())
        print(f"  budget {budget:>4}: {line}")
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
