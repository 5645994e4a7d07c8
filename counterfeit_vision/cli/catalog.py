"""``counterfeit-vision index build`` and ``brand check | add | remove``: the commands that write indexes.

Each keeps catalogue and index in step: ``brand add`` copies the brand into the catalogue
and adds it to the index, ``brand remove`` takes it out of both (the catalogue folder is
kept under ``<catalog>/.removed/``, which the loader skips), so the next scan never finds
one without the other.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from counterfeit_vision.cli._options import add_model_options, default_index
from counterfeit_vision.errors import UsageError

__all__ = ["register"]


def register(sub) -> None:
    """Add the ``index build`` and ``brand check|add|remove`` subcommands to ``sub``."""
    index = sub.add_parser("index", help="manage the reference index").add_subparsers(dest="index_cmd", required=True)
    build = index.add_parser("build", help="embed every brand's logos and photos into a fresh index")
    build.add_argument("--catalog", required=True, metavar="DIR")
    build.add_argument("--index", metavar="DIR")
    build.add_argument("--factory", default="auto",
                       help="auto (exact until 200k vectors, then IVF) or a FAISS factory string (Flat = exact)")
    build.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_model_options(build)
    build.set_defaults(func=cmd_index_build)

    brand = sub.add_parser("brand", help="onboard or remove brands").add_subparsers(dest="brand_cmd", required=True)
    check = brand.add_parser("check", help="validate a brand folder (or a whole catalogue folder)",
                             description="Validate a brand folder, or every brand of a catalogue folder; warn "
                                         "about names shared between brands and brands entered twice, and show "
                                         "which names the title engine treats as ambiguous, and why.")
    check.add_argument("path")
    check.add_argument("--catalog", metavar="DIR",
                       help="also check the brand against this catalogue's other brands (shared names)")
    check.set_defaults(func=cmd_brand_check)
    add = brand.add_parser("add", help="validate a brand folder, copy it into the catalogue, add it to the index")
    add.add_argument("path")
    add.add_argument("--catalog", default="brand_catalog", metavar="DIR")
    add.add_argument("--index", required=True, metavar="DIR")
    add.add_argument("--replace", action="store_true", help="replace an existing brand of the same id")
    add.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_model_options(add)
    add.set_defaults(func=cmd_brand_add)
    remove = brand.add_parser("remove", help="remove a brand from the index and the catalogue")
    remove.add_argument("brand_id")
    remove.add_argument("--index", required=True, metavar="DIR")
    remove.add_argument("--catalog", metavar="DIR",
                        help="catalogue the brand's folder is moved out of, to DIR/.removed/ "
                             "(default: the catalogue the index was built from)")
    add_model_options(remove)
    remove.set_defaults(func=cmd_brand_remove)


def cmd_index_build(args: argparse.Namespace) -> int:
    from counterfeit_vision.catalog import load_catalog
    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.index.onboarding import build_index, save_index

    catalog = load_catalog(args.catalog)
    embedder = create_embedder(args.embedder, device=args.device, precision=args.precision)
    index = build_index(catalog, embedder, factory=args.factory, progress=not args.quiet)
    out = Path(args.index or default_index(Path(args.catalog)))
    save_index(index, out, embedder, reference_root=catalog.root)
    print(f"built index of {len(index)} vectors for {len(catalog)} brands with {embedder.info.name} -> {out}")
    return 0


def _existing_index(args: argparse.Namespace):
    """The embedder and the index at ``--index``, which must exist (never created empty by accident)."""
    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.index.reference import ReferenceIndex, read_manifest

    index_dir = Path(args.index)
    read_manifest(index_dir)  # a missing or broken index is an error naming `index build`, before loading models
    embedder = create_embedder(args.embedder, device=args.device, precision=args.precision)
    return embedder, ReferenceIndex.load(index_dir, expect=embedder.info), index_dir


def cmd_brand_check(args: argparse.Namespace) -> int:
    from counterfeit_vision.catalog import BRAND_FILE, load_brand, load_catalog
    from counterfeit_vision.catalog_checks import catalog_warnings
    from counterfeit_vision.index.onboarding import check_brand_images
    from counterfeit_vision.titles.lexicon import load_common_words
    from counterfeit_vision.titles.names import mark_names

    path = Path(args.path)
    if not (path / BRAND_FILE).exists() and path.is_dir():  # a catalogue folder: every brand
        brands = list(load_catalog(path))
        others: list = []
    else:
        brands = [load_brand(path)]
        others = [b for b in load_catalog(args.catalog) if b.id != brands[0].id] if args.catalog else []
    for brand in brands:
        check_brand_images(brand)  # every image decoded as onboarding will, not only its header
        print(f"ok: brand {brand.id!r} ({brand.name}): {len(brand.logos)} logos, {len(brand.references)} references")
    ids = {b.id for b in brands}
    for warning in catalog_warnings([*brands, *others]):
        if ids.intersection(warning.brands):
            print(f"warning: {warning}")
    for mark in mark_names([*brands, *others], load_common_words()[1]):
        if mark.brand_id in ids:
            print(f"name {mark.brand_id}: {mark}")
    return 0


def cmd_brand_add(args: argparse.Namespace) -> int:
    from counterfeit_vision.index.onboarding import onboard_brand_folder

    embedder, index, index_dir = _existing_index(args)
    brand = onboard_brand_folder(args.path, catalog_dir=args.catalog, index=index, index_dir=index_dir,
                                 embedder=embedder, replace=args.replace, progress=not args.quiet)
    print(f"added brand {brand.id!r}: {sum(e.brand_id == brand.id for e in index.entries.values())} vectors; "
          f"index {index_dir} now has {len(index)}")
    return 0


def cmd_brand_remove(args: argparse.Namespace) -> int:
    from counterfeit_vision.index.onboarding import offboard_brand

    embedder, index, index_dir = _existing_index(args)
    if args.brand_id not in index.brands():
        raise UsageError(f"brand {args.brand_id!r} is not in the index at {index_dir} "
                         f"(it holds: {', '.join(sorted(index.brands())) or 'no brands'})")
    catalog_dir = args.catalog or index.reference_root  # the index remembers its catalogue
    if catalog_dir is None:
        raise UsageError(f"the index at {index_dir} does not record its catalogue; pass --catalog DIR")
    n, moved = offboard_brand(args.brand_id, catalog_dir=catalog_dir, index=index, index_dir=index_dir,
                              embedder=embedder)
    where = f"; catalogue folder moved to {moved}" if moved else ""
    print(f"removed {n} vectors of brand {args.brand_id!r}; index {index_dir} now has {len(index)}{where}")
    return 0
