"""RapidOCR backend: PaddleOCR's PP-OCR detector and recogniser as ONNX models on onnxruntime.

The ``rapidocr`` wheel ships its default models (PP-OCRv6 small detection and
recognition). They are loaded from the wheel's folder (or ``model_dir``) by
explicit path and checked against the SHA-256 sums in RapidOCR's own model list,
so a missing or altered file fails loudly instead of RapidOCR downloading one.
The recogniser reads Chinese and Latin script (the offline EasyOCR weights are
English only), so a brand's Chinese alias on a photo can be read.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from counterfeit_vision._digest import file_digest
from counterfeit_vision.embedders.base import WeightsNotFoundError
from counterfeit_vision.ocr.base import MAX_SIDE, OcrReader, TextLine

__all__ = ["RAPIDOCR_MODELS", "RapidOcrReader", "default_model_dir", "verify_weights"]

log = logging.getLogger(__name__)

# the task -> model file RapidOCR's default config uses (PP-OCRv6 small; cls is not used)
RAPIDOCR_MODELS = {"det": "PP-OCRv6_det_small.onnx", "rec": "PP-OCRv6_rec_small.onnx"}


def default_model_dir() -> Path:
    """The ``models`` folder of the installed ``rapidocr`` wheel."""
    try:
        import rapidocr
    except ImportError as exc:
        raise WeightsNotFoundError("RapidOCR is not installed; fix: pip install rapidocr onnxruntime") from exc
    return Path(rapidocr.__file__).parent / "models"


def _expected_sha256() -> dict[str, str]:
    """File name -> SHA-256 from RapidOCR's ``default_models.yaml``."""
    import yaml

    listing = yaml.safe_load((default_model_dir().parent / "default_models.yaml").read_text(encoding="utf-8"))
    sums: dict[str, str] = {}

    def walk(node):
        if isinstance(node, dict):
            if "model_dir" in node and "SHA256" in node:
                sums[str(node["model_dir"]).rsplit("/", 1)[-1]] = str(node["SHA256"])
            for v in node.values():
                walk(v)

    walk(listing)
    return sums


def verify_weights(model_dir: Path) -> dict[str, Path]:
    """The model files, after checking each against RapidOCR's published SHA-256."""
    expected = _expected_sha256()
    out = {}
    for task, name in RAPIDOCR_MODELS.items():
        path = model_dir / name
        if not path.is_file():
            raise WeightsNotFoundError(f"RapidOCR model {name} missing in {model_dir}; "
                                       f"fix: pip install --force-reinstall rapidocr, or pass model_dir=")
        actual = file_digest(path, algo="sha256")
        if name not in expected or actual != expected[name]:
            raise WeightsNotFoundError(f"RapidOCR model {path} has SHA-256 {actual}, RapidOCR lists "
                                       f"{expected.get(name, 'no sum')}; reinstall rapidocr")
        out[task] = path
    return out


def _require_cuda_provider() -> None:
    """OCR on the GPU needs onnxruntime's CUDA provider; without it, say so rather than run on the CPU."""
    import onnxruntime

    from counterfeit_vision.errors import ConfigError

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        raise ConfigError("RapidOCR on device cuda needs onnxruntime's CUDA provider; fix: pip install "
                          "onnxruntime-gpu (in place of onnxruntime), or run OCR with device='cpu'")


class RapidOcrReader(OcrReader):
    """Reads text with RapidOCR (PP-OCRv6 on onnxruntime).

    Args:
        model_dir: folder with the files of ``RAPIDOCR_MODELS`` (default: the wheel's).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` (CUDA needs ``onnxruntime-gpu``).
        min_confidence, gated, detect_side, max_regions: see :class:`OcrReader`.
    """

    name = "rapidocr:PP-OCRv6_det_small+PP-OCRv6_rec_small"

    def __init__(self, *, model_dir: str | Path | None = None, device: str = "auto", **options):
        super().__init__(**options)
        from counterfeit_vision.embedders._device import resolve_device

        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        files = verify_weights(self.model_dir)
        self.device = resolve_device(device)
        if self.device.type == "cuda":
            _require_cuda_provider()
        from rapidocr import RapidOCR  # imports onnxruntime: only here

        self._engine = RapidOCR(params={
            "Global.log_level": "error", "Global.use_cls": False,
            # no resizing beyond ours: the reader is handed photos at MAX_SIDE (or the gate's canvas)
            "Global.max_side_len": MAX_SIDE, "Det.limit_type": "max", "Det.limit_side_len": MAX_SIDE,
            "Det.model_path": str(files["det"]), "Rec.model_path": str(files["rec"]),
            "EngineConfig.onnxruntime.use_cuda": self.device.type == "cuda",
        })

    def read_lines(self, image: np.ndarray) -> list[TextLine]:
        r = self._engine(image, use_det=True, use_cls=False, use_rec=True)
        if getattr(r, "boxes", None) is None or r.txts is None:
            return []
        return [TextLine(np.asarray(q, np.float32), str(t), float(s)) for q, t, s in zip(r.boxes, r.txts, r.scores)]

    def detect(self, image: np.ndarray) -> list[TextLine]:
        r = self._engine(image, use_det=True, use_cls=False, use_rec=False)
        return [] if r.boxes is None else [TextLine(np.asarray(q, np.float32)) for q in r.boxes]

    def recognise(self, photos: Sequence[tuple[np.ndarray, Sequence[TextLine]]]) -> list[list[TextLine]]:
        crops, owner = [], []
        for k, (image, lines) in enumerate(photos):
            quads = np.stack([np.asarray(ln.quad, np.float32) for ln in lines]) if lines else np.zeros((0, 4, 2))
            crops += self._engine.crop_text_regions(image, quads)
            owner += [k] * len(lines)
        out: list[list[TextLine]] = [[] for _ in photos]
        if not crops:
            return out
        rec = self._engine.recognize_txt(crops)  # one batch for every line of every photo (sorted by width inside)
        quads = [ln.quad for _, lines in photos for ln in lines]
        for k, q, text, score in zip(owner, quads, rec.txts, rec.scores):
            out[k].append(TextLine(np.asarray(q, np.float32), str(text), float(score)))
        return out
