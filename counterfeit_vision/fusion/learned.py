"""Learned fusion: a small, monotone, calibrated model fitted on confirmed outcomes.

The model keeps the two questions of :mod:`counterfeit_vision.fusion.cues` apart::

    attribution  = max(title_brand, ocr_brand, logo, photo)          # which brand is invoked
    p_illegit    = sigmoid(b + sum_i w_i * x_i)                      # is the invocation illegitimate
    confidence   = isotonic(attribution * p_illegit)                 # calibrated on held-out labels
    confidence   = 0 when attribution < min_attribution              # no brand invoked: pass

over the illegitimacy cues ``x_i`` in :data:`ILLEGITIMACY_FEATURES` (``photo`` is
there as "an official photo reused"). Monotone by construction:

- ``w_i >= 0`` for every misuse cue, so more misuse evidence never lowers the score;
- ``w_authorized_seller <= 0``, so an authorised seller never raises it;
- the isotonic map is non-decreasing, so calibration keeps both properties.

Loading checks those signs and refuses a model file that breaks them.

On disk (a folder)::

    model.json      coefficients, isotonic points, thresholds (plain JSON, no pickle)
    manifest.json   version, features, library versions, training data summary,
                    held-out metrics, sha256 of model.json

A models root written by ``counterfeit-vision train --out DIR`` holds one such
folder per version and a file ``ACTIVE`` naming the active one;
:func:`load_fusion_model` accepts either.

Fitting lives in ``training/fusion.py``; this module only scores.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from counterfeit_vision._atomic import atomic_write, write_json_atomic
from counterfeit_vision.catalog import Thresholds
from counterfeit_vision.errors import UserError
from counterfeit_vision.fusion.cues import FEATURE_NAMES, BrandCues
from counterfeit_vision.fusion.handset import MIN_ATTRIBUTION, FusionOutput

__all__ = [
    "ATTRIBUTION_FEATURES", "ILLEGITIMACY_FEATURES", "FEATURE_SIGNS", "FORMAT", "MAX_CONFIDENCE",
    "LearnedFusion", "ModelFileError", "load_fusion_model", "active_version",
]

FORMAT = "counterfeit-vision/learned-fusion/1"
ATTRIBUTION_FEATURES = ("title_brand", "ocr_brand", "logo", "photo")
ILLEGITIMACY_FEATURES = ("title_misuse", "ocr_misuse", "hidden_brand", "price_below_floor",
                         "seller_history", "photo", "authorized_seller")
# +1: the weight must be >= 0; -1: <= 0
FEATURE_SIGNS: Mapping[str, int] = {name: (-1 if name == "authorized_seller" else 1) for name in ILLEGITIMACY_FEATURES}
# A calibrated probability of exactly 1 is never justified by finite data; capping also
# lets ``takedown = 1.0`` mean "takedown disabled".
MAX_CONFIDENCE = 0.9999
MODEL_FILE = "model.json"
MANIFEST_FILE = "manifest.json"
ACTIVE_FILE = "ACTIVE"


class ModelFileError(UserError, ValueError):
    """A model folder that is missing, corrupt, or breaks the model's constraints."""


@dataclass
class LearnedFusion:
    """A fitted fusion model; implements :class:`counterfeit_vision.fusion.FusionModel`."""

    coefficients: dict[str, float]
    intercept: float
    calibration_x: tuple[float, ...]      # isotonic breakpoints (raw score, increasing)
    calibration_y: tuple[float, ...]      # calibrated confidence at each breakpoint (non-decreasing)
    min_attribution: float = MIN_ATTRIBUTION
    global_thresholds: dict[str, float | None] = field(default_factory=lambda: {"takedown": None, "review": 0.4})
    brand_thresholds: dict[str, dict[str, float | None]] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check()
        self._w = np.array([self.coefficients[n] for n in ILLEGITIMACY_FEATURES], dtype=float)
        self._cx = np.asarray(self.calibration_x, dtype=float)
        self._cy = np.asarray(self.calibration_y, dtype=float)

    # ---------------------------------------------------------------- identity
    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "features": list(ILLEGITIMACY_FEATURES),
            "coefficients": {n: float(self.coefficients[n]) for n in ILLEGITIMACY_FEATURES},
            "intercept": float(self.intercept),
            "min_attribution": float(self.min_attribution),
            "calibration": {"method": "isotonic", "x": [float(v) for v in self.calibration_x],
                            "y": [float(v) for v in self.calibration_y]},
            "max_confidence": MAX_CONFIDENCE,
            "thresholds": {"global": dict(self.global_thresholds),
                           "brands": {b: dict(t) for b, t in sorted(self.brand_thresholds.items())}},
        }

    @property
    def version(self) -> str:
        """``fusion-<first 12 hex of sha256 of the canonical model JSON>``: same model, same version."""
        return "fusion-" + _digest(self.to_json())[:12]

    # ------------------------------------------------------------------ scoring
    def raw_scores(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(attribution, p_illegit) for rows of features in :data:`FEATURE_NAMES` order."""
        X = np.atleast_2d(np.asarray(features, dtype=float))
        cols = [FEATURE_NAMES.index(n) for n in ILLEGITIMACY_FEATURES]
        attribution = X[:, [FEATURE_NAMES.index(n) for n in ATTRIBUTION_FEATURES]].max(axis=1)
        z = self.intercept + X[:, cols] @ self._w
        return attribution, 1.0 / (1.0 + np.exp(-z))

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """The isotonic map (linear between breakpoints, flat outside), capped at MAX_CONFIDENCE."""
        raw = np.asarray(raw, dtype=float)
        if self._cx.size == 0:
            out = raw
        elif self._cx.size == 1:
            out = np.full_like(raw, self._cy[0])
        else:
            out = np.interp(raw, self._cx, self._cy)
        return np.clip(out, 0.0, MAX_CONFIDENCE)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Calibrated confidences for rows of features (vectorised :meth:`score`)."""
        attribution, p = self.raw_scores(features)
        conf = self.calibrate(attribution * p)
        return np.where(attribution < self.min_attribution, 0.0, conf)

    def score(self, cues: BrandCues) -> FusionOutput:
        f = cues.features()
        x = np.array([[f[n] for n in FEATURE_NAMES]])
        confidence = float(self.predict(x)[0])
        if confidence <= 0:
            return FusionOutput(0.0, {})
        return FusionOutput(confidence, self._shares(f, confidence))

    def _shares(self, f: Mapping[str, float], confidence: float) -> dict[str, float]:
        """Split the confidence among cues in proportion to their positive logit terms."""
        terms = {n: self.coefficients[n] * f[n] for n in ILLEGITIMACY_FEATURES if self.coefficients[n] * f[n] > 0}
        total = sum(terms.values())
        if total <= 0:
            return {}
        return {k: confidence * v / total for k, v in sorted(terms.items(), key=lambda kv: -kv[1])}

    def thresholds_for(self, brand_id: str | None) -> Thresholds:
        """The brand's thresholds when it had enough held-out labels, else the global ones.

        A takedown threshold of None (no threshold met the precision target) becomes 1.0,
        which no confidence reaches (they are capped at MAX_CONFIDENCE): takedown disabled.
        """
        t = self.brand_thresholds.get(brand_id or "", self.global_thresholds)
        takedown = 1.0 if t.get("takedown") is None else float(t["takedown"])
        review = float(t.get("review") if t.get("review") is not None else 0.4)
        return Thresholds(takedown=takedown, review=min(review, takedown))

    # --------------------------------------------------------------- save/load
    def save(self, folder: str | Path, manifest: Mapping[str, Any] | None = None) -> Path:
        """Write model.json and manifest.json into ``folder`` (created; files replaced atomically)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        body = _canonical(self.to_json())
        with atomic_write(folder / MODEL_FILE) as f:
            f.write(body + "\n")
        man = dict(self.manifest if manifest is None else manifest)
        man.update({"format": FORMAT, "version": self.version, "model_file": MODEL_FILE,
                    "model_sha256": hashlib.sha256(body.encode()).hexdigest(),
                    "features": list(FEATURE_NAMES), "model_features": list(ILLEGITIMACY_FEATURES),
                    "feature_signs": dict(FEATURE_SIGNS), "formula": _FORMULA})
        write_json_atomic(folder / MANIFEST_FILE, _jsonable(man))
        self.manifest = man
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "LearnedFusion":
        folder = Path(folder)
        try:
            man = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
            body = (folder / MODEL_FILE).read_text(encoding="utf-8")
            raw = json.loads(body)
        except FileNotFoundError as exc:
            raise ModelFileError(f"{folder}: not a fusion model folder ({exc.filename} missing)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"{folder}: unreadable model file: {exc}") from None
        want = man.get("model_sha256")
        got = hashlib.sha256(body.rstrip("\n").encode()).hexdigest()
        if want and want != got:
            raise ModelFileError(f"{folder}: {MODEL_FILE} does not match its manifest "
                                 f"(sha256 {got[:12]} != {want[:12]})")
        model = cls.from_json(raw, manifest=man)
        if man.get("version") and man["version"] != model.version:
            raise ModelFileError(f"{folder}: manifest names version {man['version']}, model is {model.version}")
        return model

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], manifest: Mapping[str, Any] | None = None) -> "LearnedFusion":
        if not isinstance(raw, Mapping) or raw.get("format") != FORMAT:
            raise ModelFileError(f"unknown model format {raw.get('format') if isinstance(raw, Mapping) else raw!r}")
        try:
            cal = raw["calibration"]
            th = raw.get("thresholds", {})
            return cls(coefficients={k: float(v) for k, v in raw["coefficients"].items()},
                       intercept=float(raw["intercept"]),
                       calibration_x=tuple(float(v) for v in cal["x"]),
                       calibration_y=tuple(float(v) for v in cal["y"]),
                       min_attribution=float(raw.get("min_attribution", MIN_ATTRIBUTION)),
                       global_thresholds=dict(th.get("global", {"takedown": None, "review": 0.4})),
                       brand_thresholds={str(b): dict(t) for b, t in th.get("brands", {}).items()},
                       manifest=dict(manifest or {}))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"malformed model file: {exc!r}") from None

    # -------------------------------------------------------------- validation
    def _check(self) -> None:
        missing = set(ILLEGITIMACY_FEATURES) - set(self.coefficients)
        extra = set(self.coefficients) - set(ILLEGITIMACY_FEATURES)
        if missing or extra:
            raise ModelFileError(f"coefficients must be exactly {ILLEGITIMACY_FEATURES}; missing {sorted(missing)}, "
                                 f"unexpected {sorted(extra)}")
        for name, sign in FEATURE_SIGNS.items():
            w = self.coefficients[name]
            if not math.isfinite(w) or w * sign < 0:
                raise ModelFileError(f"coefficient {name}={w} breaks its sign constraint ({'+' if sign > 0 else '-'})")
        if not math.isfinite(self.intercept):
            raise ModelFileError("intercept must be finite")
        cx, cy = np.asarray(self.calibration_x, float), np.asarray(self.calibration_y, float)
        if cx.shape != cy.shape or not np.isfinite(cx).all() or not np.isfinite(cy).all():
            raise ModelFileError("calibration x and y must be finite and of equal length")
        if np.any(np.diff(cx) < 0) or np.any(np.diff(cy) < -1e-12) or (cy.size and (cy.min() < 0 or cy.max() > 1)):
            raise ModelFileError("calibration must be a non-decreasing map into [0, 1] over increasing x")
        for scope, t in [("global", self.global_thresholds), *self.brand_thresholds.items()]:
            for key in ("takedown", "review"):
                v = t.get(key)
                if v is not None and not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                    raise ModelFileError(f"threshold {scope}.{key}={v!r} must be null or in [0, 1]")


_FORMULA = ("confidence = isotonic(max(title_brand, ocr_brand, logo, photo) * sigmoid(intercept + "
            "sum(coefficients[f] * f for f in model_features))); 0 when attribution < min_attribution")


def _jsonable(obj: Any) -> Any:
    """NaN -> None and numpy scalars -> Python, so the manifest is strict JSON."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _digest(obj: Any) -> str:
    return hashlib.sha256(_canonical(obj).encode()).hexdigest()


def active_version(root: str | Path) -> str | None:
    """The version named in ``root/ACTIVE``, or None."""
    p = Path(root) / ACTIVE_FILE
    if not p.is_file():
        return None
    name = p.read_text(encoding="utf-8").strip()
    return name or None


def load_fusion_model(path: str | Path) -> LearnedFusion:
    """Load a model folder (with manifest.json) or the active model of a models root (with ACTIVE)."""
    path = Path(path)
    if (path / MANIFEST_FILE).is_file():
        return LearnedFusion.load(path)
    version = active_version(path)
    if version is not None:
        if "/" in version or "\\" in version or version.startswith("."):
            raise ModelFileError(f"{path / ACTIVE_FILE}: bad version name {version!r}")
        return LearnedFusion.load(path / version)
    raise ModelFileError(f"{path}: no {MANIFEST_FILE} and no {ACTIVE_FILE}; train a model with "
                         f"`counterfeit-vision train --out {path} --activate` (the hand-set fusion is the default)")
