"""End-to-end scan throughput on real photos: the fast default against the full pipeline, in one run.

    python benchmarks/bench_scan.py [--data DIR] [--listings 500] [--work DIR] [--configs full,default,...]
                                    [--device cpu|cuda] [--latency 200] [--ocr-photos 120]

Data (``../shared/data`` or ``CV_SHARED_DATA``; skips cleanly when absent):

- **Catalogue**: 22 FlickrLogos-27 brands (5 held out, seeded as in ``eval_logos.py``), each onboarded
  from half of its photos (the boxes cropped as logos, the whole photos as product photos) and its
  registered names. Onboarding throughput (images/s) is printed (``--work DIR`` keeps the index).
- **Listings** (``--listings``, seeded): 1-3 photos each from the unseen half of the catalogue brands'
  photos (with a logo) and from the held-out brands' photos (no catalogue logo); a share of photos
  carrying rendered text ("INSPIRED BY <brand>", sale banners), a share of stolen official photos
  (a brand's product photo, cropped and re-compressed), and a share of photos reused from an earlier
  listing; real titles from ``titles/genuine_titles.csv`` (some rewritten to name a catalogue brand
  with counterfeit words), prices, a pool of sellers.

Each configuration runs in its own process (so its peak memory and start-up are its own):
start-up (imports and ``Detector.from_catalog``), then ``Detector.iter_scores`` over every listing
(batch 16, warm). Printed: listings/s, photos/s, the time per stage as a share of the stages'
total (``counterfeit_vision.timing``), peak RSS, start-up, and agreement of decision and brand
with the ``full`` configuration (today's pipeline: EasyOCR on every photo at full canvas, every
stage on every photo). Then: OCR alone (photos/s and brand-read recall per backend and mode on
photos that carry brand text), posting-time latency of ``Detector.score`` (one listing, 3 photos),
and scan start-up on the sample catalogue.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.eval_logos import BRAND_NAMES, default_data, load_flickr, make_catalog, split  # noqa: E402

FONT = "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"

# name -> DetectorConfig fields; "full" is the reference every other configuration is compared with
CONFIGS: dict[str, dict] = {
    "full": {"ocr": "easyocr", "thorough": True},
    "default": {},
    "default-easyocr": {"ocr": "easyocr"},
    "no-ocr": {"ocr": "none"},
}
REUSE_SHARE = 0.15  # photos that are the very same file as one of an earlier listing
COUNTERFEIT_WORDS = ("replica", "AAA quality", "1:1 copy", "mirror quality", "inspired by", "dupe")


# ----------------------------------------------------------------------------------------- data
def build_catalog(data: dict, folder: Path, refs: dict[str, list[str]], out: Path) -> int:
    """Brand folders (brand.yaml, logos/, references/) in ``out``; returns the number of images.
    The logos are ``eval_logos.make_catalog``'s crops; the product photos are copied beside them."""
    import yaml

    catalog = make_catalog(data, folder, refs, out)  # writes out/<brand>/logos/*.png
    for brand in catalog:
        (out / brand.id / "references").mkdir(parents=True, exist_ok=True)
        for src in brand.references:
            shutil.copyfile(src, out / brand.id / "references" / src.name)
        (out / brand.id / "brand.yaml").write_text(yaml.safe_dump({"id": brand.id, "name": brand.name,
                                                                   "aliases": list(brand.aliases)}))
    return sum(len(b.logos) + len(b.references) for b in catalog)


def _banner(img, text: str, rng: random.Random):
    from PIL import ImageDraw, ImageFont

    img = img.copy()
    w, h = img.size
    size = max(14, int(h * rng.uniform(0.06, 0.12)))
    font = ImageFont.truetype(FONT, size)
    d = ImageDraw.Draw(img)
    x1, y1, x2, y2 = d.textbbox((0, 0), text, font=font)
    while x2 - x1 > w * 0.95 and size > 12:
        size = int(size * 0.85)
        font = ImageFont.truetype(FONT, size)
        x1, y1, x2, y2 = d.textbbox((0, 0), text, font=font)
    x = rng.randint(0, max(0, w - (x2 - x1) - 4))
    y = rng.randint(0, max(0, h - (y2 - y1) - 8))
    d.rectangle((x - 4, y - 2, x + x2 - x1 + 4, y + y2 + 4), fill=rng.choice([(255, 255, 255), (255, 230, 0)]))
    d.text((x - x1, y - y1 + 2), text, font=font, fill=rng.choice([(0, 0, 0), (200, 0, 0)]))
    return img


def _stolen(img, rng: random.Random):
    from PIL import Image

    w, h = img.size
    f = rng.uniform(0.75, 0.95)
    x, y = rng.randint(0, int(w * (1 - f))), rng.randint(0, int(h * (1 - f)))
    img = img.crop((x, y, x + int(w * f), y + int(h * f)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(45, 80))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def build_listings(folder: Path, titles_csv: Path, refs, queries, negatives, n: int, seed: int,
                   out: Path) -> tuple[list[dict], dict[str, set[str]]]:
    """``n`` listings (see the module docstring), photos written to ``out`` when made, and per listing
    id the catalogue brands it shows (a logo, an official photo, a name on a photo or in the title)."""
    import csv

    from PIL import Image

    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    with open(titles_csv, newline="", encoding="utf-8") as f:
        titles = list(csv.DictReader(f))
    rng.shuffle(titles)
    truth = dict(queries)
    pools = {"logo": [q for q, _ in queries], "plain": list(negatives)}
    drawn = {"logo": 0, "plain": 0}

    def draw(kind: str) -> tuple[Path, str]:
        """The next unused photo of the pool; once all were used, a re-cropped, re-encoded variant
        (another upload of the same scene: other bytes), so that only REUSE_SHARE repeats bytes."""
        pool, n = pools[kind], drawn[kind]
        drawn[kind] += 1
        if n % len(pool) == 0:
            rng.shuffle(pool)
        name = pool[n % len(pool)]
        if n < len(pool):
            return folder / "images" / name, name
        p = out / f"variant_{kind}_{n}.jpg"
        with Image.open(folder / "images" / name) as im:
            _stolen(im.convert("RGB"), rng).save(p, quality=90)
        return p, name

    used: list[str] = []
    listings = []
    shown: dict[str, set[str]] = {}
    photo_brands: dict[str, set[str]] = {}
    for i in range(n):
        k = rng.choices((1, 2, 3), (0.5, 0.3, 0.2))[0]
        photos, brand, seen = [], None, set()
        for _ in range(k):
            r = rng.random()
            if used and r < REUSE_SHARE:                # the same file again, in another listing
                photos.append(rng.choice(used))
                seen |= photo_brands.get(photos[-1], set())
                continue
            here = set()
            if r < 0.25:                                # stolen official photo
                b = rng.choice(sorted(refs))
                src = rng.choice(refs[b])
                p = out / f"stolen_{i}_{len(photos)}.jpg"
                with Image.open(folder / "images" / src) as im:
                    _stolen(im.convert("RGB"), rng).save(p, quality=90)
                brand = brand or b
                here.add(b)
            elif r < 0.55:                              # a catalogue brand's logo, unseen at onboarding
                p, name = draw("logo")
                brand = brand or truth[name]
                here.add(truth[name])
            else:                                       # no catalogue logo
                p, _ = draw("plain")
            if rng.random() < 0.15:                     # text on the photo
                b = rng.choice(sorted(refs))
                text = rng.choice([f"INSPIRED BY {BRAND_NAMES[b][0].upper()}", "HOT SALE -70% FREE SHIPPING",
                                   f"{BRAND_NAMES[b][0]} style", "NEW ARRIVAL 2026"])
                if BRAND_NAMES[b][0].upper() in text.upper():
                    here.add(b)
                with Image.open(p) as im:
                    q = out / f"text_{i}_{len(photos)}.jpg"
                    _banner(im.convert("RGB"), text, rng).save(q, quality=90)
                p = q
            photos.append(str(p))
            photo_brands[str(p)] = here
            seen |= here
        used += photos
        row = titles[i % len(titles)]
        title = row["title"][:200]
        if brand and rng.random() < 0.35:
            title = f"{BRAND_NAMES[brand][0]} {title} {rng.choice(COUNTERFEIT_WORDS)}"
            seen.add(brand)
        price = float(row["price"]) if row.get("price") else round(rng.uniform(5, 300), 2)
        listings.append({"id": f"L{i:04d}", "title": title, "price": price, "currency": "USD",
                         "seller_id": f"seller-{rng.randint(0, 119)}", "images": photos})
        shown[listings[-1]["id"]] = seen
    return listings, shown


def text_photos(queries, negatives, refs, folder: Path, n: int, seed: int, out: Path) -> list[tuple[str, str]]:
    """Photos that carry a brand's name: FlickrLogos photos of wordmark brands (their logo *is*
    the name) and held-out brands' photos with an "INSPIRED BY <brand>" banner. (path, brand)."""
    from PIL import Image

    rng = random.Random(seed + 1)
    wordmarks = {"adidas", "cocacola", "dhl", "fedex", "ford", "google", "heineken", "hp", "intel", "mini", "nbc",
                 "pepsi", "puma", "sprite", "starbucks", "texaco", "unicef", "vodafone", "yahoo", "ferrari", "porsche"}
    marks = [(str(folder / "images" / q), b) for q, b in queries if b in wordmarks]
    rng.shuffle(marks)
    out.mkdir(parents=True, exist_ok=True)
    banners = []
    for k, img in enumerate(rng.sample(list(negatives), min(n // 2, len(negatives)))):
        b = rng.choice(sorted(refs))
        p = out / f"banner_{k}.jpg"
        with Image.open(folder / "images" / img) as im:
            _banner(im.convert("RGB"), f"INSPIRED BY {BRAND_NAMES[b][0].upper()}", rng).save(p, quality=90)
        banners.append((str(p), b))
    return marks[:n - len(banners)] + banners


# ------------------------------------------------------------------------------------ measuring
def peak_mb() -> float:
    """This process's peak resident memory: ``VmHWM`` (reset at exec, unlike ``ru_maxrss``, which a
    spawned child inherits from its parent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_config(args: dict, queue) -> None:
    """In a fresh process: start-up, then every listing; puts the measurements on ``queue``."""
    t0 = time.perf_counter()
    from counterfeit_vision import timing
    from counterfeit_vision.detector import Detector, DetectorConfig

    config = DetectorConfig(device=args["device"], **args["fields"])
    det = Detector.from_catalog(args["catalog"], index_dir=args["index"], config=config)
    startup = time.perf_counter() - t0
    listings = args["listings"]
    det.score_batch(listings[:4])  # warm: first calls allocate and compile
    timing.reset()
    t1 = time.perf_counter()
    results = list(det.iter_scores(listings, batch_size=16))
    took = time.perf_counter() - t1
    latency = []
    for item in args["latency_listings"]:
        det.forget_photos()  # each posting is a new listing: its photos are looked at, not remembered
        s = time.perf_counter()
        det.score(item)
        latency.append(time.perf_counter() - s)
    queue.put({"seconds": took, "startup": startup, "stages": timing.snapshot(), "peak_mb": peak_mb(),
               "latency": latency, "model_info": det.model_info,
               "results": [(r.id, r.decision, r.brand, round(r.confidence, 4)) for r in results]})


def run_config(name: str, fields: dict, catalog: Path, index: Path, listings, latency_listings, device: str) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run_config, args=({"fields": fields, "catalog": str(catalog), "index": str(index),
                                                  "listings": listings, "latency_listings": latency_listings,
                                                  "device": device}, queue), daemon=True)
    proc.start()
    try:
        out = queue.get()
    finally:  # Ctrl-C or an error leaves no configuration running (it would skew the next run); daemon=True
        # covers a normal exit. A SIGKILL of this process does not: kill its children too
        if proc.is_alive():
            proc.join(timeout=5)
            proc.terminate()
    return out


def onboard(catalog: Path, index: Path, device: str, n_images: int) -> float:
    """Seconds to build and save the index (skipped when ``index`` holds one: returns 0)."""
    if (index / "manifest.json").is_file():
        return 0.0
    from counterfeit_vision.catalog import load_catalog
    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.index.onboarding import build_index, save_index

    t = time.perf_counter()
    embedder = create_embedder("auto", device=device)
    cat = load_catalog(catalog)
    idx = build_index(cat, embedder)
    save_index(idx, index, embedder, reference_root=cat.root)
    took = time.perf_counter() - t
    print(f"onboarding: {len(cat)} brands, {n_images} images in {took:.1f} s = {n_images / took:.2f} images/s")
    return took


def onboard_compare(catalog: Path, n_brands: int, device: str) -> None:
    """Onboarding (``build_index`` + ``save_index`` with its keypoint caches) of the first ``n_brands``
    brands, with the plain embedding path (as before) and the fast one, in this process, one after
    the other; images/s of each (the fast model is built first, outside the timing: once per process)."""
    from counterfeit_vision.catalog import Catalog, load_catalog
    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.embedders.fast_path import fast_model
    from counterfeit_vision.index.onboarding import build_index, save_index

    full = load_catalog(catalog)
    cat = Catalog.from_brands([full[b] for b in sorted(full.brands)[:n_brands]], root=full.root)
    n = sum(len(b.logos) + len(b.references) for b in cat)
    rates = {}
    for fast in (False, True):
        embedder = create_embedder("auto", device=device)
        if fast:
            t = time.perf_counter()
            fast_model(embedder, batch_size=4)
            print(f"  fast model built in {time.perf_counter() - t:.1f} s (once per process)")
        with tempfile.TemporaryDirectory(prefix="cv-bench-onboard-") as tmp:
            t = time.perf_counter()
            index = build_index(cat, embedder, fast=fast)
            save_index(index, tmp, embedder, reference_root=cat.root)
            took = time.perf_counter() - t
        rates[fast] = n / took
        print(f"onboarding {len(cat)} brands ({n} images), {'fast' if fast else 'plain'} embedding: "
              f"{took:.1f} s = {n / took:.2f} images/s")
    print(f"  fast onboarding: {rates[True] / rates[False]:.2f}x the images/s of plain")


def bench_ocr(photos: list[tuple[str, str]], catalog: Path, device: str) -> None:
    from counterfeit_vision import timing
    from counterfeit_vision.catalog import load_catalog
    from counterfeit_vision.image.decode import load_rgb
    from counterfeit_vision.ocr import create_ocr
    from counterfeit_vision.titles import TitleMatcher

    titles = TitleMatcher.from_catalog(load_catalog(catalog))
    images = [load_rgb(p, draft_size=512, max_side=1600) for p, _ in photos]
    print(f"\nOCR alone on {len(photos)} photos that carry a brand's name (brand read = the title engine finds "
          f"the brand in a text box read from the photo):")
    print(f"{'backend':<10} {'mode':<11} {'photos/s':>9} {'recall':>7} {'detect s':>9} {'recognise s':>12}")
    rows = {}
    for backend in ("easyocr", "rapidocr"):
        for gated in (False, True):
            reader = create_ocr(backend, device=device, gated=gated)
            reader.read_many(images[:2])
            timing.reset()
            t = time.perf_counter()
            reads = []
            for s in range(0, len(images), 16):
                reads += reader.read_many(images[s:s + 16])
            took = time.perf_counter() - t
            hit = sum(any(f.brand_id == b for box in boxes for f in titles.match(box.text))
                      for boxes, (_, b) in zip(reads, photos))
            st = timing.snapshot()
            mode = "gated" if gated else "exhaustive"
            rows[(backend, mode)] = (len(images) / took, hit / len(photos))
            print(f"{backend:<10} {mode:<11} {len(images) / took:>9.2f} {hit / len(photos):>7.3f} "
                  f"{st.get('ocr_detect', 0):>9.1f} {st.get('ocr_recognise', 0):>12.1f}")
    base = rows[("easyocr", "exhaustive")]
    for key, (speed, recall) in rows.items():
        print(f"  {key[0]} {key[1]}: {speed / base[0]:.1f}x the photos/s of easyocr exhaustive, "
              f"recall {100 * (recall - base[1]):+.1f} points")


def startup_sample(device: str) -> None:
    """Scan start-up on the sample catalogue, in fresh processes (the second after the first's caches)."""
    code = ("import time; t = time.perf_counter(); from counterfeit_vision.detector import Detector, DetectorConfig; "
            "Detector.from_catalog('brand_catalog', index_dir='indexes/sample', "
            f"config=DetectorConfig(device='{device}')); print(time.perf_counter() - t)")
    times = []
    for _ in range(2):
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - t
        times.append((float(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else float("nan"), wall))
    print(f"\nscan start-up, sample catalogue (imports + Detector.from_catalog; process wall time): first run "
          f"{times[0][0]:.1f} s ({times[0][1]:.1f} s), second run {times[1][0]:.1f} s ({times[1][1]:.1f} s)")


def agreement(ref: list, other: list) -> tuple[float, float, int]:
    same_decision = sum(a[1] == b[1] for a, b in zip(ref, other)) / len(ref)
    flagged = [(a, b) for a, b in zip(ref, other) if a[1] != "pass"]
    same_brand = sum(a[2] == b[2] for a, b in flagged) / len(flagged) if flagged else float("nan")
    return same_decision, same_brand, len(flagged)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=default_data())
    ap.add_argument("--listings", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, from {', '.join(CONFIGS)}")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--latency", type=int, default=200, help="listings of 3 photos timed one by one (default path)")
    ap.add_argument("--latency-full", type=int, default=30, help="the same for the full pipeline (slow)")
    ap.add_argument("--ocr-photos", type=int, default=120)
    ap.add_argument("--onboard-brands", type=int, default=4, help="brands onboarded both ways (0: skip)")
    ap.add_argument("--work", type=Path, help="keep the catalogue, index and photos here (reused when present)")
    ap.add_argument("--json", type=Path, help="also write the measurements as JSON")
    ap.add_argument("--full-from", type=Path, help="the full configuration's results from an earlier --json of the "
                    "same data (agreement only; throughput ratios need full in the same run)")
    args = ap.parse_args(argv)
    folder = args.data / "flickr_logos_27_train"
    if not (folder / "annotations.txt").is_file() or not (args.data / "titles" / "genuine_titles.csv").is_file():
        print(f"skip: shared data not found at {args.data} (pass --data DIR or set CV_SHARED_DATA)")
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="cv-bench-scan-"))
    catalog, index = work / "catalog", work / "index"
    data = load_flickr(folder)
    _, held, refs, queries, negatives = split(data, args.seed, 5, 0.5)
    n_images = build_catalog(data, folder, refs, catalog) if not catalog.is_dir() else sum(
        1 for _ in catalog.glob("*/*/*"))
    listings, shown = build_listings(folder, args.data / "titles" / "genuine_titles.csv", refs, queries, negatives,
                              args.listings, args.seed, work / "photos")
    n_photos = sum(len(x["images"]) for x in listings)
    (work / "listings.jsonl").write_text("".join(json.dumps(x) + "\n" for x in listings))
    print(f"catalogue: {len(refs)} brands, {n_images} images; listings: {len(listings)} with {n_photos} photos "
          f"({len({p for x in listings for p in x['images']})} distinct); held-out brands {held}")
    onboard(catalog, index, args.device, n_images)

    rng = random.Random(args.seed + 2)
    pool = [p for x in listings for p in x["images"]]
    three = [dict(x, id=f"T{i}", images=rng.sample(pool, 3)) for i, x in enumerate(listings[:args.latency])]
    measured: dict[str, dict] = {}
    for name in args.configs.split(","):
        lat = three[:args.latency_full] if name == "full" else three
        measured[name] = m = run_config(name, CONFIGS[name], catalog, index, listings, lat, args.device)
        print(f"  ran {name}: {len(listings) / m['seconds']:.2f} listings/s", flush=True)

    from counterfeit_vision.timing import STAGES

    print(f"\n{'config':<16} {'listings/s':>10} {'photos/s':>9} {'start-up s':>10} {'peak MB':>8} "
          f"{'same decision':>13} {'same brand':>10}")
    ref = measured.get("full")
    if ref is None and args.full_from:
        ref = json.loads(args.full_from.read_text())["full"]
        ref["results"] = [tuple(r) for r in ref["results"]]
        print(f"(agreement with the full configuration's results in {args.full_from})")
    for name, m in measured.items():
        agree = agreement(ref["results"], m["results"]) if ref else (float("nan"),) * 2 + (0,)
        print(f"{name:<16} {len(listings) / m['seconds']:>10.2f} {n_photos / m['seconds']:>9.2f} "
              f"{m['startup']:>10.1f} {m['peak_mb']:>8.0f} {agree[0]:>13.3f} {agree[1]:>10.3f}")
    if "full" in measured:
        for name, m in measured.items():
            print(f"  {name}: {ref['seconds'] / m['seconds']:.1f}x the listings/s of full "
                  f"({agreement(ref['results'], m['results'])[2]} listings flagged by full)")
    n_shown = sum(1 for v in shown.values() if v)
    print(f"\nagainst what the listings show ({n_shown} show a catalogue brand, {len(shown) - n_shown} none):")
    print(f"{'config':<16} {'flagged, a brand shown':>23} {'flagged, none shown':>20} {'wrong brand':>12}")
    for name, m in measured.items():
        flagged = [(i, b) for i, d, b, _ in m["results"] if d != "pass"]
        right = sum(1 for i, b in flagged if b in shown[i])
        empty = sum(1 for i, _ in flagged if not shown[i])
        print(f"{name:<16} {right:>14} ({right / max(1, n_shown):.1%}) {empty:>11} "
              f"({empty / max(1, len(shown) - n_shown):.1%}) {len(flagged) - right - empty:>12}")
    print("\ntime per stage, share of the stages' total (seconds):")
    print(f"{'config':<16} " + " ".join(f"{s:>13}" for s in STAGES))
    for name, m in measured.items():
        total = sum(m["stages"].values()) or 1.0
        print(f"{name:<16} " + " ".join(f"{m['stages'].get(s, 0) / total:>6.1%} ({m['stages'].get(s, 0):>4.0f})"
                                         for s in STAGES))
    print("\nposting-time latency, Detector.score of one listing with 3 photos (warm):")
    for name, m in measured.items():
        lat = sorted(m["latency"])
        if lat:
            p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(0.99 * len(lat)))]
            print(f"  {name:<16} n={len(lat):<4} p50 {p50:.2f} s  p99 {p99:.2f} s")
    for name, m in measured.items():
        print(f"  models of {name}: {m['model_info']}")

    if args.ocr_photos:
        bench_ocr(text_photos(queries, negatives, refs, folder, args.ocr_photos, args.seed, work / "text"),
                  catalog, args.device)
    startup_sample(args.device)
    if args.onboard_brands:
        print()
        onboard_compare(catalog, args.onboard_brands, args.device)
    if args.json:
        args.json.write_text(json.dumps(measured, indent=1))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    raise SystemExit(main())
