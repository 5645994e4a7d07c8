"""counterfeit-vision: find counterfeit marketplace listings before a sale.

    import counterfeit_vision as cv
    detector = cv.Detector.from_catalog("brand_catalog", index_dir="indexes/sample")
    result = detector.score({"id": "1", "title": "V3lora tote replica", "images": ["bag.jpg"], "price": 30})

Heavy dependencies (torch, faiss, easyocr, open_clip) load only when the piece
that needs them is used, so importing the package is fast and side-effect free.
"""

from __future__ import annotations

import importlib

from counterfeit_vision._version import __version__

__all__ = [
    "__version__",
    "Brand", "Catalog", "CatalogError", "load_brand", "load_catalog",
    "Detector", "DetectorConfig",
    "Listing", "Result", "Evidence", "read_listings",
    "BrandCues", "HandSetFusion", "decide",
    "ReferenceIndex", "create_embedder", "OcrReader", "TextBox", "ImageMatcher", "ImageHit",
    "PhotoBrandFinder", "BrandSighting",
    "TitleMatcher", "TitleFinding",
    "add_brand", "build_index", "onboard_brand_folder",
]

_LAZY = {
    "Brand": "catalog", "Catalog": "catalog", "CatalogError": "catalog", "load_brand": "catalog",
    "load_catalog": "catalog",
    "Detector": "detector", "DetectorConfig": "detector",
    "Listing": "listing", "Result": "listing", "Evidence": "listing", "read_listings": "listing",
    "BrandCues": "fusion.cues", "HandSetFusion": "fusion.handset", "decide": "fusion.handset",
    "ReferenceIndex": "index.reference", "create_embedder": "embedders", "OcrReader": "ocr", "TextBox": "ocr",
    "ImageMatcher": "image.matcher", "ImageHit": "image.matcher",
    "PhotoBrandFinder": "image.photo_brands", "BrandSighting": "image.photo_brands",
    "TitleMatcher": "titles", "TitleFinding": "titles",
    "add_brand": "index.onboarding", "build_index": "index.onboarding", "onboard_brand_folder": "index.onboarding",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"counterfeit_vision.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'counterfeit_vision' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
