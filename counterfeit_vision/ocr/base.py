"""What every OCR backend provides, and the gated reading that makes OCR affordable.

Reading a photo has two steps with very different costs: *detection* (where is
text? a segmentation network over the whole photo, most of the cost) and
*recognition* (what does each text line say? a small network per line). Most
listing photos carry no text at all, so by default (``gated=True``) a reader

1. detects text on the photo scaled down to ``detect_side`` (640 px: lettering a
   buyer can read on a phone survives it; the detector's cost falls with the
   pixel count, about 4x from 1280 px),
2. skips photos where nothing was found, and
3. recognises only the ``max_regions`` largest text lines, cut from the photo at
   up to ``MAX_SIDE`` px so that small print is read at full resolution, all the
   lines of a group of photos in one batch where the backend batches.

``gated=False`` is the exhaustive read (detection at ``MAX_SIDE``, every line),
kept for research (``DetectorConfig.thorough``) so that the loss of the gate
is always measurable (``benchmarks/bench_scan.py`` prints both).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from counterfeit_vision import timing

__all__ = ["DETECT_SIDE", "MAX_REGIONS", "MAX_SIDE", "OcrReader", "TextBox", "TextLine"]

Box = tuple[int, int, int, int]

# Photos are downscaled to this long side before OCR: text that a buyer can read
# at this size is what matters, and the detector's cost grows with the pixel count.
MAX_SIDE = 1280
# the gated path's detection canvas (long side) and its cap of lines recognised per photo
DETECT_SIDE = 640
MAX_REGIONS = 24


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
        return TextLine(np.asarray(polygon, np.float32), str(text), float(conf)).box_at(scale, image_index)


@dataclass(frozen=True)
class TextLine:
    """A backend's raw read: a quadrilateral (4, 2) in the pixels it was given, text, confidence."""

    quad: np.ndarray
    text: str = ""
    confidence: float = 0.0

    def box_at(self, scale: float, image_index: int) -> TextBox:
        """The read as a ``TextBox`` in the original photo's pixels (``scale``: reader px per photo px)."""
        pts = np.asarray(self.quad, dtype=np.float32).reshape(-1, 2) / scale
        x1, y1 = pts.min(axis=0)
        x2, y2 = pts.max(axis=0)
        conf = float(min(max(self.confidence, 0.0), 1.0))
        return TextBox(self.text, conf, (int(x1), int(y1), int(x2), int(y2)), image_index)

    @property
    def area(self) -> float:
        pts = np.asarray(self.quad, np.float32).reshape(-1, 2)
        return float(np.prod(pts.max(axis=0) - pts.min(axis=0)))


def _scaled(image: Image.Image, side: int) -> tuple[Image.Image, float]:
    scale = min(1.0, side / max(image.size))
    if scale < 1.0:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.BILINEAR)
    return image.convert("RGB") if image.mode != "RGB" else image, scale


class OcrReader(abc.ABC):
    """Reads text boxes from photos; backends implement the three hooks at the bottom.

    Args:
        min_confidence: drop reads below this confidence.
        gated: the cheap path of the module docstring; ``False`` reads exhaustively.
        detect_side, max_regions: the gated path's detection canvas and line cap.
    """

    #: backend and models, as results name them (``Result.model_info["ocr"]``)
    name: str = "ocr"

    def __init__(self, *, min_confidence: float = 0.3, gated: bool = True, detect_side: int = DETECT_SIDE,
                 max_regions: int = MAX_REGIONS):
        self.min_confidence = min_confidence
        self.gated = gated
        self.detect_side = detect_side
        self.max_regions = max_regions

    @property
    def info(self) -> str:
        """The backend's name with the reading mode, for ``Result.model_info``."""
        return f"{self.name} ({'gated' if self.gated else 'exhaustive'})"

    def read(self, image: Image.Image, *, image_index: int = 0) -> list[TextBox]:
        """Text boxes in one photo, in reading order."""
        return self.read_many([image], numbers=[image_index])[0]

    def read_many(self, images: Sequence[Image.Image], *, numbers: Sequence[int] | None = None) -> list[list[TextBox]]:
        """Text boxes per photo; ``numbers`` are the photos' numbers to record (default: positions)."""
        numbers = list(range(len(images))) if numbers is None else list(numbers)
        scaled = [_scaled(im, MAX_SIDE) for im in images]
        if not self.gated:
            out = []
            for (im, scale), n in zip(scaled, numbers):
                with timing.stage("ocr_detect"):  # detection and recognition in one call of the backend
                    lines = self.read_lines(np.asarray(im))
                out.append(self._boxes(lines, scale, n))
            return out
        return self._read_gated(scaled, numbers)

    def _read_gated(self, scaled: list[tuple[Image.Image, float]], numbers: list[int]) -> list[list[TextBox]]:
        arrays = [np.asarray(im) for im, _ in scaled]
        found: list[list[TextLine]] = []
        with timing.stage("ocr_detect"):
            for im, _ in scaled:
                small, s = _scaled(im, self.detect_side)
                lines = [TextLine(ln.quad / s) for ln in self.detect(np.asarray(small))]  # back to MAX_SIDE px
                found.append(sorted(lines, key=lambda ln: -ln.area)[:self.max_regions])
        with timing.stage("ocr_recognise"):
            read = self.recognise([(arr, lines) for arr, lines in zip(arrays, found) if lines])
        reads = iter(read)
        return [self._boxes(next(reads), scale, n) if lines else []
                for (_, scale), n, lines in zip(scaled, numbers, found)]

    def _boxes(self, lines: Sequence[TextLine], scale: float, number: int) -> list[TextBox]:
        boxes = [ln.box_at(scale, number) for ln in lines]
        return [b for b in boxes if b.confidence >= self.min_confidence and b.text.strip()]  # backend's order

    # ------------------------------------------------------------ backend hooks
    @abc.abstractmethod
    def read_lines(self, image: np.ndarray) -> list[TextLine]:
        """Exhaustive read of an RGB array (H, W, 3): every line detected and recognised."""

    @abc.abstractmethod
    def detect(self, image: np.ndarray) -> list[TextLine]:
        """Text lines found in an RGB array, quads in its pixels (text left empty)."""

    @abc.abstractmethod
    def recognise(self, photos: Sequence[tuple[np.ndarray, Sequence[TextLine]]]) -> list[list[TextLine]]:
        """For each (RGB array, lines detected in it): the lines read, quads in the array's pixels."""
