"""OCR of listing photos: one interface (:class:`OcrReader`), two offline backends.

``create_ocr("rapidocr" | "easyocr")`` builds a reader; both read gated by
default (text found cheaply first, only the lines found recognised; see
:mod:`counterfeit_vision.ocr.base`). Backends are imported when built, so
importing this package costs nothing.
"""

from __future__ import annotations

from counterfeit_vision.ocr.base import DETECT_SIDE, MAX_REGIONS, MAX_SIDE, OcrReader, TextBox, TextLine

__all__ = ["DEFAULT_OCR", "DETECT_SIDE", "MAX_REGIONS", "MAX_SIDE", "OCR_BACKENDS", "OcrReader", "TextBox",
           "TextLine", "create_ocr"]

OCR_BACKENDS = ("rapidocr", "easyocr")
DEFAULT_OCR = "rapidocr"


def create_ocr(backend: str = DEFAULT_OCR, *, device: str = "auto", gated: bool = True, **options) -> OcrReader:
    """An OCR reader of the named backend (``OCR_BACKENDS``)."""
    if backend == "easyocr":
        from counterfeit_vision.ocr.easy import EasyOcrReader

        return EasyOcrReader(device=device, gated=gated, **options)
    if backend == "rapidocr":
        from counterfeit_vision.ocr.rapid import RapidOcrReader

        return RapidOcrReader(device=device, gated=gated, **options)
    raise ValueError(f"unknown OCR backend {backend!r}; choose one of {', '.join(OCR_BACKENDS)} (or none)")
