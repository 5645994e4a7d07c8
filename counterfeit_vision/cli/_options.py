"""Options shared by several commands (model choice), and the default index folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from counterfeit_vision.embedders import EMBEDDER_NAMES


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--embedder", default="auto", choices=EMBEDDER_NAMES,
                   help="image embedder (auto: CLIP if its weights are local, else efficientnet_lite0; "
                        "efficientnet_lite1/2: larger offline models, slower; efficientnet_lite0_logo: "
                        "Lite0 with a logo-tuned tail)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))


def default_index(catalog: Path) -> Path:
    """``indexes/<catalogue folder name>``: where an index lives unless ``--index`` says otherwise."""
    return Path("indexes") / Path(catalog).resolve().name


def detector_config(args):
    from counterfeit_vision.detector import DetectorConfig

    return DetectorConfig(embedder=args.embedder, device=args.device, precision=args.precision,
                          use_images=not getattr(args, "no_images", False),
                          use_ocr=not getattr(args, "no_ocr", False),
                          ocr=getattr(args, "ocr", "rapidocr"), thorough=getattr(args, "thorough", False),
                          index_factory=getattr(args, "factory", "auto"),
                          image_roots=tuple(getattr(args, "image_root", None) or ()))
