"""Command line: ``counterfeit-vision scan | index build | brand add/remove/check | titles``.

Exit codes: 0 when the command ran (rows with bad input carry their own
``error``), 2 for a broken catalogue, index or arguments, before any work.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path

__all__ = ["main"]

log = logging.getLogger("counterfeit_vision")


class UsageError(Exception):
    """A problem with what the user asked for; printed without a traceback."""


def _add_model_options(p: argparse.ArgumentParser) -> None:
    from counterfeit_vision.embedders import EMBEDDER_NAMES

    p.add_argument("--embedder", default="auto", choices=EMBEDDER_NAMES,
                   help="image embedder (auto: CLIP if its weights are local, else efficientnet_lite0; "
                        "efficientnet_lite1/2: larger offline models, slower; efficientnet_lite0_logo: "
                        "Lite0 with a logo-tuned tail)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))


def _default_index(catalog: Path) -> Path:
    return Path("indexes") / catalog.resolve().name


def _config(args):
    from counterfeit_vision.detector import DetectorConfig

    return DetectorConfig(embedder=args.embedder, device=args.device, precision=args.precision,
                          use_images=not getattr(args, "no_images", False),
                          use_ocr=not getattr(args, "no_ocr", False),
                          index_factory=getattr(args, "factory", "auto"))


# ------------------------------------------------------------------------ scan
def cmd_scan(args) -> int:
    from tqdm import tqdm

    from counterfeit_vision._atomic import atomic_write
    from counterfeit_vision.catalog import load_catalog
    from counterfeit_vision.detector import Detector
    from counterfeit_vision.listing import Result, read_listings

    catalog = load_catalog(args.catalog)  # a broken catalogue stops here, before any work
    if not Path(args.listings).is_file():
        raise UsageError(f"listings file not found: {args.listings}")
    index_dir = args.index or _default_index(Path(args.catalog))
    if args.engine == "ray":
        return _scan_ray(args, index_dir)
    fusion = _load_fusion(args)
    detector = Detector.from_catalog(catalog, index_dir=index_dir,
                                     config=_config(args), fusion=fusion)
    if getattr(args, "feedback_db", None):
        from counterfeit_vision.feedback import FeedbackStore

        store = FeedbackStore(args.feedback_db)
        detector.seller_history = store.seller_history
    rows = list(read_listings(args.listings))
    results: list[Result] = []
    with tqdm(total=len(rows), desc="scanning", unit="listing", disable=args.quiet) as bar:
        pending = []
        for item in rows + [None]:
            if item is not None and not isinstance(item, tuple):
                pending.append(item)
                if len(pending) < args.batch_size:
                    continue
            if pending:
                results.extend(detector.score_batch(pending, batch_size=args.batch_size))
                bar.update(len(pending))
                pending = []
            if isinstance(item, tuple):  # an unparseable row keeps its place in the output
                results.append(Result.failed(item[0], item[1], detector.model_info))
                bar.update(1)
    with atomic_write(args.out) as f:
        for r in results:
            f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
    if getattr(args, "feedback_db", None):
        store.record_decisions(results)
    if getattr(args, "report", None):
        from counterfeit_vision.report import write_report

        write_report(results, args.report, catalog=catalog, listings=[r for r in rows if not isinstance(r, tuple)])
    if not args.quiet:
        print(summary_table([r.to_dict() for r in results]))
        print(f"\nwrote {len(results)} results to {args.out} (embedder: {detector.model_info.get('embedder', 'off')})")
    return 0


def _load_fusion(args):
    model_dir = getattr(args, "fusion_model", None)
    if not model_dir:
        return None
    from counterfeit_vision.learned_fusion import load_fusion_model

    return load_fusion_model(model_dir)


def _scan_ray(args, index_dir: Path) -> int:
    from counterfeit_vision.distributed import scan_with_ray

    n = scan_with_ray(args.listings, args.catalog, args.out, index_dir=index_dir, config=_config(args),
                      batch_size=args.batch_size, actors=args.actors, ray_address=args.ray_address)
    if not args.quiet:
        rows = [json.loads(line) for line in Path(args.out).read_text(encoding="utf-8").splitlines()]
        print(summary_table(rows))
        print(f"\nwrote {n} results to {args.out} (engine: ray)")
    return 0


def summary_table(rows: list[dict]) -> str:
    """A fixed-width table of result rows (their JSON form): one line each, then counts per decision."""
    lines = [f"{'id':28} {'decision':9} {'conf':>5}  {'brand':10} top evidence / error"]
    lines.append("-" * 100)
    for r in rows:
        top = r["error"] or (r["evidence"][0]["detail"] if r["evidence"] else "; ".join(r.get("notes", [])[:1]))
        lines.append(f"{r['id'][:28]:28} {r['decision']:9} {r['confidence']:5.2f}  {(r['brand'] or '-')[:10]:10} {top[:60]}")
    counts = {d: sum(r["decision"] == d for r in rows) for d in ("takedown", "review", "pass")}
    errors = sum(r["error"] is not None for r in rows)
    lines.append("-" * 100)
    lines.append("  ".join(f"{d}: {n}" for d, n in counts.items()) + f"  errors: {errors}")
    return "\n".join(lines)


# ----------------------------------------------------------------------- index
def cmd_index_build(args) -> int:
    from counterfeit_vision.catalog import load_catalog
    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.onboarding import build_index

    catalog = load_catalog(args.catalog)
    embedder = create_embedder(args.embedder, device=args.device, precision=args.precision)
    index = build_index(catalog, embedder, factory=args.factory)
    out = Path(args.index or _default_index(Path(args.catalog)))
    index.save(out)
    print(f"built index of {len(index)} vectors for {len(catalog)} brands with {embedder.info.name} -> {out}")
    return 0


# ----------------------------------------------------------------------- brand
def _load_index_for(args):
    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.index import ReferenceIndex

    embedder = create_embedder(args.embedder, device=args.device, precision=args.precision)
    index_dir = Path(args.index)
    if (index_dir / "manifest.json").exists():
        index = ReferenceIndex.load(index_dir, expect=embedder.info)
    else:
        index = ReferenceIndex(embedder.info)
    return embedder, index, index_dir


def cmd_brand_check(args) -> int:
    from counterfeit_vision.catalog import load_brand

    brand = load_brand(args.path)
    print(f"ok: brand {brand.id!r} ({brand.name}): {len(brand.logos)} logos, {len(brand.references)} references")
    return 0


def cmd_brand_add(args) -> int:
    from counterfeit_vision.catalog import load_brand, load_catalog
    from counterfeit_vision.onboarding import add_brand

    src = Path(args.path)
    brand = load_brand(src)  # validate before touching anything
    catalog_root = Path(args.catalog)
    target = catalog_root / brand.id
    if src.resolve() != target.resolve():
        if target.exists() and not args.replace:
            raise UsageError(f"{target} exists; pass --replace to overwrite brand {brand.id!r}")
        shutil.copytree(src, target, dirs_exist_ok=args.replace)
    load_catalog(catalog_root)  # the catalogue as a whole must stay valid (no name clashes)
    brand = load_brand(target)
    embedder, index, index_dir = _load_index_for(args)
    n = add_brand(index, brand, embedder, root=catalog_root)
    index.save(index_dir)
    print(f"added brand {brand.id!r}: {n} vectors; index {index_dir} now has {len(index)}")
    return 0


def cmd_brand_remove(args) -> int:
    _, index, index_dir = _load_index_for(args)
    n = index.remove_brand(args.brand_id)
    index.save(index_dir)
    print(f"removed {n} vectors of brand {args.brand_id!r}; index {index_dir} now has {len(index)}")
    return 0


# ----------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="counterfeit-vision", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    scan = sub.add_parser("scan", help="score listings from a JSONL file")
    scan.add_argument("listings", metavar="LISTINGS.jsonl")
    scan.add_argument("--catalog", required=True, metavar="DIR")
    scan.add_argument("--out", required=True, metavar="RESULTS.jsonl")
    scan.add_argument("--index", metavar="DIR", help="reference index folder (default: indexes/<catalog name>)")
    scan.add_argument("--batch-size", type=int, default=16)
    scan.add_argument("--no-ocr", action="store_true", help="skip OCR of photos")
    scan.add_argument("--no-images", action="store_true", help="skip photo matching")
    scan.add_argument("--report", metavar="report.html", help="write an HTML evidence page")
    scan.add_argument("--feedback-db", metavar="FILE", help="SQLite feedback store to record decisions in")
    scan.add_argument("--fusion-model", metavar="DIR", help="learned fusion model folder")
    scan.add_argument("--engine", default="local", choices=("local", "ray"),
                      help="local: this process; ray: a Ray cluster (pip install 'counterfeit-vision[distributed]')")
    scan.add_argument("--ray-address", default=None, help="Ray cluster address (default: start a local one)")
    scan.add_argument("--actors", type=int, default=1, help="Detector actors for --engine ray")
    scan.add_argument("-q", "--quiet", action="store_true")
    _add_model_options(scan)
    scan.set_defaults(func=cmd_scan)

    index = sub.add_parser("index", help="manage the reference index").add_subparsers(dest="index_cmd", required=True)
    build = index.add_parser("build", help="embed every brand's logos and photos into a fresh index")
    build.add_argument("--catalog", required=True, metavar="DIR")
    build.add_argument("--index", metavar="DIR")
    build.add_argument("--factory", default="auto",
                       help="auto (exact until 200k vectors, then IVF) or a FAISS factory string (Flat = exact)")
    _add_model_options(build)
    build.set_defaults(func=cmd_index_build)

    brand = sub.add_parser("brand", help="onboard or remove brands").add_subparsers(dest="brand_cmd", required=True)
    check = brand.add_parser("check", help="validate a brand folder")
    check.add_argument("path")
    check.set_defaults(func=cmd_brand_check)
    add = brand.add_parser("add", help="validate a brand folder, copy it into the catalogue, add it to the index")
    add.add_argument("path")
    add.add_argument("--catalog", default="brand_catalog", metavar="DIR")
    add.add_argument("--index", required=True, metavar="DIR")
    add.add_argument("--replace", action="store_true", help="replace an existing brand of the same id")
    _add_model_options(add)
    add.set_defaults(func=cmd_brand_add)
    remove = brand.add_parser("remove", help="remove a brand's vectors from the index")
    remove.add_argument("brand_id")
    remove.add_argument("--index", required=True, metavar="DIR")
    _add_model_options(remove)
    remove.set_defaults(func=cmd_brand_remove)

    _register_optional(sub)
    return parser


def _register_optional(sub) -> None:
    """Subcommands that live beside their feature's code."""
    from counterfeit_vision import feedback_command
    from counterfeit_vision.titles import command as titles_command

    titles_command.register(sub)
    feedback_command.register(sub)


def main(argv: list[str] | None = None) -> int:
    from counterfeit_vision.catalog import CatalogError
    from counterfeit_vision.embedders.base import WeightsNotFoundError
    from counterfeit_vision.index import IndexMismatchError
    from counterfeit_vision.learned_fusion import ModelFileError

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (CatalogError, IndexMismatchError, WeightsNotFoundError, ModelFileError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
