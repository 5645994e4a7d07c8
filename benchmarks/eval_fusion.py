"""Evaluate fusion on the labelled set built from real parts: one command, all the numbers.

    python benchmarks/eval_fusion.py                       # build the set if absent, scan, fit, report
    python benchmarks/eval_fusion.py --no-images           # titles, prices and sellers only (fast)

Scans every listing with the real Detector (title engine, and unless --no-images the
image matcher with efficientnet_lite0; OCR off), turns each result into a feature
row labelled "confirmed fake for the brand it was scored for", fits the learned
fusion (training/fusion.py: fit 50% / threshold 25% / test 25% by listing-id hash)
and prints, on the held-out test fold, for the hand-set formula and the learned
model: ROC AUC and average precision of the confidence, expected calibration error,
and precision/recall of ``takedown`` at the chosen thresholds (with the
Clopper-Pearson lower bound). A listing whose fake brand the detector missed counts
as a missed fake (confidence 0), so recall is over all fakes.

Skips cleanly (exit 0) when the shared data is absent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for p in (REPO, REPO / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import numpy as np  # noqa: E402
from build_fusion_eval_set import build, default_data_dir  # noqa: E402


class CachingImageMatcher:
    """Wraps an ImageMatcher; hits per photo are cached by pixel hash (listings reuse photos)."""

    def __init__(self, inner, cache_file: Path):
        from counterfeit_vision.image.matcher import ImageHit

        self.inner, self.cache_file, self._hit = inner, cache_file, ImageHit
        self.cache: dict[str, list] = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
        self.misses = 0

    def match(self, images):
        keys = [hashlib.sha1(im.tobytes() + repr(im.size).encode()).hexdigest() for im in images]
        todo = [(k, im) for k, im in zip(keys, images) if k not in self.cache]
        uniq = dict(todo)
        if uniq:
            self.misses += len(uniq)
            hits = self.inner.match(list(uniq.values()))
            for k, hs in zip(uniq, hits):
                self.cache[k] = [{**asdict(h), "box": list(h.box) if h.box else None} for h in hs]
        out = []
        for i, k in enumerate(keys):
            out.append([self._hit(**{**h, "image_index": i, "box": tuple(h["box"]) if h["box"] else None})
                        for h in self.cache[k]])
        return out

    def save(self):
        self.cache_file.write_text(json.dumps(self.cache))


def scan(set_dir: Path, *, use_images: bool, batch_size: int = 64) -> list[dict]:
    from tqdm import tqdm

    from counterfeit_vision.detector import Detector, DetectorConfig

    config = DetectorConfig(embedder="efficientnet_lite0", device="cpu", use_ocr=False, use_images=use_images)
    if use_images and not (set_dir / "index" / "manifest.json").is_file():
        from counterfeit_vision.catalog import load_catalog
        from counterfeit_vision.embedders import create_embedder
        from counterfeit_vision.index.onboarding import build_index

        print("building the eval catalogue's reference index ...")
        catalog = load_catalog(set_dir / "catalog")
        build_index(catalog, create_embedder(config.embedder, device=config.device)).save(set_dir / "index")
    det = Detector.from_catalog(set_dir / "catalog", index_dir=set_dir / "index", config=config)
    sellers = json.loads((set_dir / "sellers.json").read_text())
    det.seller_history = lambda s: float(sellers.get(s, 0.0))
    cache = None
    if det.image_matcher is not None:
        # hits depend on the index as well as the photo: key the cache file by the index manifest
        digest = hashlib.sha1((set_dir / "index" / "manifest.json").read_bytes()).hexdigest()[:12] \
            if (set_dir / "index" / "manifest.json").is_file() else "noindex"
        cache = CachingImageMatcher(det.image_matcher,
                                    set_dir / f"image_hits_{det.model_info['embedder']}_{digest}.json")
        det.image_matcher = cache
    rows = [json.loads(x) for x in (set_dir / "listings.jsonl").read_text().splitlines()]
    for r in rows:  # listing photo paths are absolute or relative to the set folder
        r["images"] = [str((set_dir / p).resolve()) if not Path(p).is_absolute() else p for p in r["images"]]
    out = []
    for start in tqdm(range(0, len(rows), batch_size), desc="scanning", unit="batch"):
        out.extend(r.to_dict() for r in det.score_batch(rows[start:start + batch_size], batch_size=batch_size))
        if cache is not None and cache.misses and start % (batch_size * 20) == 0:
            cache.save()
    if cache is not None:
        cache.save()
    return out


def feature_table(results: list[dict], labels: list[dict]):
    from counterfeit_vision.fusion.cues import FEATURE_NAMES
    from counterfeit_vision.fusion.fitting import FeatureTable

    lab = {x["id"]: x for x in labels}
    rows = []
    for r in results:
        truth = lab[r["id"]]
        brand = r.get("brand")
        feats = {n: float(r["signals"].get(n, 0.0)) for n in FEATURE_NAMES} if brand else {}
        # fake for the brand it was scored for; a fake whose brand was missed stays a (missed) positive
        label = int(truth["label"] == 1 and (brand is None or brand == truth["brand_id"]))
        rows.append({"listing_id": r["id"], "brand_id": brand or truth["brand_id"] or "none", "label": label,
                     "features": feats, "kind": truth["kind"]})
    return FeatureTable.from_rows(rows), {x["listing_id"]: x["kind"] for x in rows}


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--set", type=Path, default=REPO / "results" / "fusion_eval_set", help="eval set folder")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the eval set even if present")
    ap.add_argument("--n", type=int, default=20000, help="listings when building")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-images", action="store_true", help="skip photo matching")
    ap.add_argument("--rescan", action="store_true", help="ignore cached scan results")
    ap.add_argument("--target-precision", type=float, default=0.99)
    ap.add_argument("--confidence", type=float, default=0.95)
    ap.add_argument("--models", type=Path, help="also save the fitted model under this folder")
    ap.add_argument("--json", type=Path, help="write all numbers as JSON")
    ap.add_argument("--via-store", type=Path, metavar="DIR",
                    help="also run the feedback loop: record the decisions in DIR/feedback.sqlite3, import the labels "
                         "as outcomes, and `train` from the store into DIR/models")
    args = ap.parse_args(argv)

    if not (args.data / "titles" / "genuine_titles.csv").is_file():
        print(f"shared data not found at {args.data}; skipping the fusion evaluation")
        return 0
    from counterfeit_vision.fusion.fitting import evaluate, fit_fusion
    from counterfeit_vision.fusion.handset import HandSetFusion

    if args.rebuild or not (args.set / "listings.jsonl").is_file():
        print("building the eval set ...")
        build(args.data, args.set, n_listings=args.n, seed=args.seed)
    labels = [json.loads(x) for x in (args.set / "labels.jsonl").read_text().splitlines()]
    mode = "titles" if args.no_images else "images"
    scored = args.set / f"scored_{mode}.jsonl"
    t0 = time.time()
    if scored.is_file() and not args.rescan:
        results = [json.loads(x) for x in scored.read_text().splitlines()]
    else:
        results = scan(args.set, use_images=not args.no_images)
        scored.write_text("".join(json.dumps(r) + "\n" for r in results))
    print(f"scanned {len(results)} listings ({mode}) in {time.time() - t0:.0f}s")

    table, kinds = feature_table(results, labels)
    fit = fit_fusion(table, target_precision=args.target_precision, confidence=args.confidence,
                     data_source=f"fusion eval set {args.set} ({mode})")
    test_all = fit.folds["test"]
    # the fusion's job: (listing, brand) pairs where the detector found a brand; recall over all fakes below
    test = test_all.subset(test_all.attribution() > 0)
    hand = evaluate(HandSetFusion(), test, target_precision=args.target_precision, confidence=args.confidence)
    learned = evaluate(fit.model, test, target_precision=args.target_precision, confidence=args.confidence)
    summary = json.loads((args.set / "summary.json").read_text())
    print(f"\neval set: {summary['listings']} listings, {summary['fakes']} fakes (synthetic labels on real titles"
          f" and photos), {summary['listings_with_photos']} with a photo; folds: "
          + ", ".join(f"{k} {len(v)} ({int(v.y.sum())} fakes)" for k, v in fit.folds.items()))
    missed = int(test_all.y.sum() - test.y.sum())
    print(f"\nheld-out test fold: {len(test_all)} listings, {int(test_all.y.sum())} fakes; the detector named a brand"
          f" for {len(test)} ({int(test.y.sum())} fakes); {missed} fakes got no brand at all (missed before fusion)")
    print(f"metrics on the {len(test)} scored (listing, brand) pairs:")
    rows = [("ROC AUC", lambda m: m["roc_auc"]), ("average precision", lambda m: m["average_precision"]),
            ("ECE (15 bins; target <= 0.05)", lambda m: m["ece"]), ("Brier", lambda m: m["brier"]),
            ("takedown precision (target >= %.2f)" % args.target_precision, lambda m: m["takedown"]["precision"]),
            ("takedown precision, CP %d%% lower" % round(100 * args.confidence),
             lambda m: m["takedown"]["precision_lower"]),
            ("takedown recall", lambda m: m["takedown"]["recall"]), ("takedowns", lambda m: m["takedown"]["selected"]),
            ("takedown+review recall", lambda m: m["takedown_or_review_recall"])]
    print(f"{'metric':38} {'hand-set (0.8/0.4)':>20} {fit.model.version:>22}")
    for name, get in rows:
        print(f"{name:38} {_fmt(get(hand)):>20} {_fmt(get(learned)):>22}")
    g = fit.thresholds["global"]
    print(f"\nchosen global takedown threshold {_fmt(g['threshold'])}, review threshold "
          f"{_fmt(fit.model.global_thresholds['review'])} (threshold fold: {g['selected']} takedowns, precision "
          f"{_fmt(g['precision'])}, CP lower {_fmt(g['precision_lower'])}; needs >= {g['n_min']})")
    for b, c in fit.thresholds["brands"].items():
        fb = c.get("fallback") or {}
        state = (f"own threshold {_fmt(c['threshold'])}" if c["threshold"] is not None else
                 "global kept" if fb.get("kept_global") else "takedown disabled")
        print(f"  brand {b}: {state}")
    print("coefficients: " + ", ".join(f"{k} {v:+.2f}" for k, v in fit.model.coefficients.items())
          + f", intercept {fit.model.intercept:+.2f}")

    learned_all = evaluate(fit.model, test_all, target_precision=args.target_precision, confidence=args.confidence)
    hand_all = evaluate(HandSetFusion(), test_all, target_precision=args.target_precision, confidence=args.confidence)
    print(f"over all {len(test_all)} test listings: takedown recall hand-set {_fmt(hand_all['takedown']['recall'])}, "
          f"learned {_fmt(learned_all['takedown']['recall'])}; ROC AUC hand-set {_fmt(hand_all['roc_auc'])}, "
          f"learned {_fmt(learned_all['roc_auc'])}")
    test = test_all
    p = fit.model.predict(test.X)
    t = np.array([fit.model.thresholds_for(b).takedown for b in test.brand])
    r = np.array([fit.model.thresholds_for(b).review for b in test.brand])
    print(f"\n{'kind (test fold)':22} {'n':>5} {'fake':>5} {'takedown':>9} {'review':>7} {'pass':>6}")
    per_kind = {}
    for kind in sorted(set(kinds.values())):
        m = np.array([kinds[i] == kind for i in test.listing_id])
        if not m.any():
            continue
        take, rev = (p >= t) & m, (p >= r) & (p < t) & m
        per_kind[kind] = {"n": int(m.sum()), "fakes": int(test.y[m].sum()), "takedown": int(take.sum()),
                          "review": int(rev.sum()), "pass": int(m.sum() - take.sum() - rev.sum())}
        k = per_kind[kind]
        print(f"{kind:22} {k['n']:>5} {k['fakes']:>5} {k['takedown']:>9} {k['review']:>7} {k['pass']:>6}")

    if args.via_store:
        from build_fusion_eval_set import outcome_rows

        from counterfeit_vision.feedback.store import FeedbackStore, write_outcomes
        from counterfeit_vision.fusion.fitting import train_from_store

        args.via_store.mkdir(parents=True, exist_ok=True)
        db = args.via_store / "feedback.sqlite3"
        db.unlink(missing_ok=True)
        store = FeedbackStore(db)
        listings = {json.loads(x)["id"]: json.loads(x) for x in (args.set / "listings.jsonl").read_text().splitlines()}
        for r in results:  # the scan ran with the hand-set fusion; the store keeps the decision and its seller
            r.setdefault("evidence", [])
            if not any(e.get("kind") == "seller" for e in r["evidence"]):
                r["evidence"].append({"kind": "seller", "text": listings[r["id"]]["seller_id"]})
        store.record_decisions(results)
        f = write_outcomes(args.via_store / "outcomes.jsonl", outcome_rows(labels, {r["id"]: r for r in results}))
        print("\n" + store.import_outcomes(f).summary())
        print(train_from_store(store, args.via_store / "models", target_precision=args.target_precision,
                               confidence=args.confidence).format())
    if args.models:
        d = fit.model.save(args.models / fit.model.version)
        print(f"\nsaved {fit.model.version} to {d}")
    if args.json:
        from counterfeit_vision.fusion.learned import _jsonable

        args.json.write_text(json.dumps(_jsonable({"mode": mode, "hand_set": hand, "learned": learned,
                                                   "hand_set_all": hand_all, "learned_all": learned_all,
                                                   "thresholds": fit.thresholds, "per_kind": per_kind,
                                                   "model": fit.model.to_json()}), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
