"""Fit the operating points of one embedder from ``eval_logos.py --dump`` files, and check them.

Every dump is one development split (its photos with a logo and the photos without any
catalogue logo, scored by the real matcher and OCR). The script prints, per dump, the result a
listing of that photo alone gets (a neutral title, no price, an unknown seller) with today's raw
scores and with points fitted on the *other* dumps (cross-validated across splits), then fits on
all of them (``fusion.operating_fit``) and, with ``--write``, saves the points as the ones fitted
for the embedder (``counterfeit_vision/fusion/fitted/<embedder>.json``, stamped into the indexes
it builds). ``--check FILE`` dumps are scored with the final points but never fitted on
(the all-references protocol, to see whether they transfer).

Usage::

    python benchmarks/fit_operating_points.py DUMP.json [DUMP.json ...] [--check DUMP.json ...]
        [--embedder efficientnet_lite0_logo] [--attribution-rate 0.10] [--review-rate 0.02] [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]


def scored_photos(dump: Path):
    """The dump's rows as ``ScoredPhoto``s: per brand, its best logo, text and photo-reuse scores."""
    from eval_logos import SEEN_BY_EYE

    from counterfeit_vision.fusion.operating_fit import ScoredPhoto

    out = []
    for row in json.loads(dump.read_text()):
        scores: dict[str, dict[str, float]] = {}
        for brand_id, _score, logo, text in row["sightings"]:
            scores.setdefault(brand_id, {}).update(logo=logo, text=text)
        for brand_id, kind, score, _verified in row["hits"]:
            if kind == "photo":
                s = scores.setdefault(brand_id, {})
                s["photo"] = max(s.get("photo", 0.0), score)
        # a photo without an annotated catalogue logo may still show one (checked by eye)
        shows = frozenset(row["brands"]) if row["truth"] else SEEN_BY_EYE.get(row["image"], frozenset())
        out.append(ScoredPhoto(scores, shows))
    return out


def agreement(dump: Path, photos, points) -> str:
    """How often the simulated neutral listing (``operating_fit.neutral_outcome``) got the brand and
    decision the real detector gave in that dump's run (the dump's points: ``points``)."""
    from counterfeit_vision.fusion.operating_fit import neutral_outcome

    rows = json.loads(dump.read_text())[:len(photos)]  # a dump still being written has grown since
    got = [neutral_outcome(p, points) for p in photos]
    same = sum(1 for row, o in zip(rows, got) if (o.brand, o.decision) == (row["result_brand"], row["decision"]))
    return f"  simulated neutral listings agree with the detector's results of the run on {same}/{len(rows)} photos"


def line(name: str, rates: dict) -> str:
    return (f"{name:<44} right brand {rates['right_brand']:.3f}  flagged {rates['flagged']:.3f}  |  no logo: named "
            f"{rates['no_logo_named']:.3f}  flagged {rates['no_logo_flagged']:.3f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dumps", nargs="+", type=Path)
    ap.add_argument("--check", nargs="*", type=Path, default=[])
    ap.add_argument("--embedder", default="efficientnet_lite0_logo")
    ap.add_argument("--attribution-rate", type=float, default=0.10)
    ap.add_argument("--review-rate", type=float, default=0.02)
    ap.add_argument("--dumps-points", choices=("none", "unknown"), default="none",
                    help="the operating points the dumps' runs used (none: raw scores; checks the simulation)")
    ap.add_argument("--write", action="store_true", help="save the points fitted on every dump for the embedder")
    args = ap.parse_args(argv)
    from counterfeit_vision.fusion.operating_fit import fit_operating_points, outcome_rates

    splits = {d.name: scored_photos(d) for d in args.dumps}
    fit = lambda photos, on: fit_operating_points(  # noqa: E731
        photos, attribution_rate=args.attribution_rate, review_rate=args.review_rate, fitted_on=on)
    print(f"targets: photos without a catalogue logo named <= {args.attribution_rate:.1%}, "
          f"flagged <= {args.review_rate:.1%}")
    for name, photos in splits.items():
        others = [p for n, ps in splits.items() if n != name for p in ps]
        print(line(f"{name} raw scores (today)", outcome_rates(photos, None)))
        if args.dumps_points == "none":
            print(agreement(next(d for d in args.dumps if d.name == name), photos, None))
        shown = sum(1 for p in photos if p.shows)
        print(f"  {shown} photos with a logo, {len(photos) - shown} without")
        if others:
            print(line(f"{name} fitted on the other splits", outcome_rates(photos, fit(others, "others"))))
    pooled = [p for ps in splits.values() for p in ps]
    points = fit(pooled, f"{args.embedder}: FlickrLogos-27 dev splits {', '.join(splits)}")
    print(line("all splits, fitted on all (in-sample)", outcome_rates(pooled, points)))
    for k, kp in points.kinds.items():
        print(f"  {k}: attribution at raw {kp.attribution:.4f}, review at raw {kp.review:.4f}")
    for dump in args.check:
        photos = scored_photos(dump)
        print(line(f"{dump.name} raw scores (today)", outcome_rates(photos, None)))
        print(line(f"{dump.name} fitted on the dev splits", outcome_rates(photos, points)))
    if args.write:
        from counterfeit_vision.embedders import create_embedder
        from counterfeit_vision.fusion.operating_points import write_fitted_points

        print(f"wrote {write_fitted_points(points, create_embedder(args.embedder, device='cpu').info)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
