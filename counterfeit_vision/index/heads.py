"""Few-shot brand adaptation at scoring time: per-brand linear heads on frozen embeddings.

``index.head_fitting`` fits one logistic head per brand on the frozen
embedder's features of that brand's logos (augmented) and product photos
against everything else it has seen (other brands' logos, windows of their
photos, synthetic backgrounds) at onboarding. This module only *applies* heads.

On disk the heads live beside the index they were trained with::

    indexes/<name>/heads/
      manifest.json            # embedder, brands, per-brand training summary, weights file
      heads-<digest>.npz       # W (B, D), b (B,)
      bank/<brand_id>.npz      # that brand's cached training features (used when another brand onboards)

A brand's head is independent of the others, so onboarding a brand trains one
head and leaves the others alone.

Heads see the embeddings through a fixed *feature map* (``FEATURE_MAPS``), the
same for every head of an index and recorded in the manifest. The default,
``sqrt``, is power normalisation: the element-wise square root of the
(non-negative, pooled) features, L2-normalised again. It evens out the few
channels that dominate a pooled ImageNet feature, so a linear head can use the
many weaker ones a logo also fires; on FlickrLogos-27 it raised logo top-1 on
two of three splits and lowered false alarms on the third (benchmarks/README_images.md).
Heads saved before the map existed load as ``identity``, which is what they were
trained on.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path
from typing import Iterable

import numpy as np

from counterfeit_vision._atomic import atomic_write, write_json_atomic
from counterfeit_vision.embedders.base import EmbedderInfo

__all__ = ["BrandHeads", "DEFAULT_FEATURE_MAP", "FEATURE_MAPS", "HEADS_DIR", "HeadsMismatchError"]

HEADS_DIR = "heads"
FORMAT_VERSION = 1


def _identity(X: np.ndarray) -> np.ndarray:
    return X


def _sqrt_l2(X: np.ndarray) -> np.ndarray:
    # signed, so that features of an embedder with negative values (CLIP) keep their sign
    Y = np.sign(X) * np.sqrt(np.abs(X))
    return Y / np.maximum(1e-12, np.linalg.norm(Y, axis=-1, keepdims=True))


FEATURE_MAPS = {"identity": _identity, "sqrt": _sqrt_l2}
DEFAULT_FEATURE_MAP = "sqrt"


class HeadsMismatchError(RuntimeError):
    """Heads were trained on another embedder's features, or the files are unreadable."""


class BrandHeads:
    """One linear logistic head per brand over L2-normalised embeddings.

    ``scores(X)[n, b]`` is the head's probability that view ``n`` shows brand ``b``.
    """

    def __init__(self, embedder: EmbedderInfo, feature_map: str = DEFAULT_FEATURE_MAP):
        if feature_map not in FEATURE_MAPS:
            raise ValueError(f"unknown head feature map {feature_map!r}; choose one of {sorted(FEATURE_MAPS)}")
        self.embedder = embedder
        self.feature_map = feature_map
        self.brand_ids: list[str] = []
        self.W = np.zeros((0, embedder.dim), np.float32)
        self.b = np.zeros(0, np.float32)
        self.meta: dict[str, dict] = {}
        # training features per brand (see training/few_shot.py); loaded lazily from ``bank/``
        self.banks: dict[str, dict[str, np.ndarray]] = {}
        self._folder: Path | None = None

    def all_banks(self) -> dict[str, dict[str, np.ndarray]]:
        """Every brand's cached training features (loading the ones still on disk)."""
        if self._folder is not None and (self._folder / "bank").is_dir():
            for f in sorted((self._folder / "bank").glob("*.npz")):
                if f.stem not in self.banks:
                    with np.load(f) as z:
                        self.banks[f.stem] = {k: z[k] for k in z.files}
        return self.banks

    def __len__(self) -> int:
        return len(self.brand_ids)

    def __contains__(self, brand_id: str) -> bool:
        return brand_id in self.brand_ids

    def set_brand(self, brand_id: str, w: np.ndarray, b: float, meta: dict | None = None) -> None:
        w = np.asarray(w, np.float32).reshape(-1)
        if w.shape[0] != self.embedder.dim:
            raise ValueError(f"head for {brand_id} has dim {w.shape[0]}, embedder dim is {self.embedder.dim}")
        if brand_id in self.brand_ids:
            i = self.brand_ids.index(brand_id)
            self.W[i], self.b[i] = w, b
        else:
            self.brand_ids.append(brand_id)
            self.W = np.vstack([self.W, w[None]])
            self.b = np.append(self.b, np.float32(b))
        self.meta[brand_id] = dict(meta or {})

    def remove_brand(self, brand_id: str) -> bool:
        if brand_id not in self.brand_ids:
            return False
        i = self.brand_ids.index(brand_id)
        del self.brand_ids[i]
        self.W = np.delete(self.W, i, axis=0)
        self.b = np.delete(self.b, i)
        self.meta.pop(brand_id, None)
        self.all_banks().pop(brand_id, None)
        return True

    def features(self, X: np.ndarray) -> np.ndarray:
        """Embeddings as the heads see them (the feature map); training uses the same map."""
        return FEATURE_MAPS[self.feature_map](np.asarray(X, np.float32))

    def logits(self, X: np.ndarray) -> np.ndarray:
        """(N, D) embeddings -> (N, B) logits."""
        X = np.asarray(X, np.float32)
        if X.ndim != 2 or X.shape[1] != self.embedder.dim:
            raise ValueError(f"expected (N, {self.embedder.dim}) embeddings, got {X.shape}")
        return self.features(X) @ self.W.T + self.b[None, :]

    def scores(self, X: np.ndarray) -> np.ndarray:
        """(N, D) embeddings -> (N, B) probabilities in [0, 1]."""
        return 1.0 / (1.0 + np.exp(-np.clip(self.logits(X), -50, 50)))

    # ------------------------------------------------------------- persistence
    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, W=self.W, b=self.b)
        blob = buf.getvalue()
        name = f"heads-{hashlib.sha1(blob).hexdigest()[:12]}.npz"
        with atomic_write(folder / name, "wb") as f:
            f.write(blob)
        write_json_atomic(folder / "manifest.json", {
            "format_version": FORMAT_VERSION,
            "kind": "per-brand logistic heads on frozen embeddings",
            "embedder": self.embedder.to_dict(),
            "feature_map": self.feature_map,
            "weights_file": name,
            "brands": self.brand_ids,
            "meta": self.meta,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })
        for stale in folder.glob("heads-*.npz"):
            if stale.name != name:
                stale.unlink(missing_ok=True)
        banks = self.all_banks()
        (folder / "bank").mkdir(exist_ok=True)
        for brand_id, bank in banks.items():
            buf = io.BytesIO()
            np.savez(buf, **bank)
            with atomic_write(folder / "bank" / f"{brand_id}.npz", "wb") as f:
                f.write(buf.getvalue())
        for stale in (folder / "bank").glob("*.npz"):
            if stale.stem not in banks:
                stale.unlink(missing_ok=True)
        self._folder = folder
        return folder / "manifest.json"

    @classmethod
    def load(cls, folder: str | Path, *, expect: EmbedderInfo | None = None) -> "BrandHeads":
        folder = Path(folder)
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            data = np.load(folder / manifest["weights_file"])
        except (OSError, KeyError, ValueError) as exc:
            raise HeadsMismatchError(f"cannot read adaptation heads at {folder}: {exc}; retrain them with "
                                     f"`python -m training.few_shot --index INDEX --catalog CATALOG`") from exc
        if manifest.get("format_version") != FORMAT_VERSION:
            raise HeadsMismatchError(f"heads at {folder} have format {manifest.get('format_version')}; retrain")
        info = EmbedderInfo(**manifest["embedder"])
        if expect is not None and not info.compatible_with(expect):
            raise HeadsMismatchError(f"heads at {folder} were trained on {info.name} features, "
                                     f"the embedder is {expect.name}; retrain them")
        try:  # heads saved before feature maps existed were trained on the raw embeddings
            self = cls(info, manifest.get("feature_map", "identity"))
        except ValueError as exc:
            raise HeadsMismatchError(f"heads at {folder}: {exc}; upgrade the library or retrain them") from exc
        self.brand_ids = list(manifest["brands"])
        self.W = np.asarray(data["W"], np.float32).reshape(len(self.brand_ids), info.dim)
        self.b = np.asarray(data["b"], np.float32).reshape(len(self.brand_ids))
        self.meta = dict(manifest.get("meta", {}))
        self._folder = folder
        return self

    def restricted_to(self, brand_ids: Iterable[str]) -> "BrandHeads":
        keep = set(brand_ids)
        out = BrandHeads(self.embedder, self.feature_map)
        for i, bid in enumerate(self.brand_ids):
            if bid in keep:
                out.set_brand(bid, self.W[i], float(self.b[i]), self.meta.get(bid))
        return out
