"""Fit the learned fusion: monotone logistic model, isotonic calibration, takedown thresholds.

Works on a :class:`FeatureTable` (BrandCues features + labels), so it can be fed
from the feedback store (:meth:`FeatureTable.from_store`), from an evaluation set,
or from simulated rows (``training/fusion.py``'s ``simulate_feedback``, for tests and notebooks).
Used by ``counterfeit-vision train``; scoring never imports it.

Procedure (:func:`fit_fusion`)
------------------------------
1. Split the labelled rows by a hash of the listing id (stable across retrains, so
   a listing never moves from the test fold into the fit fold): ``fit`` 50%,
   ``threshold`` 25%, ``test`` 25%.
2. On ``fit``: a logistic regression over the illegitimacy cues with sign constraints
   (misuse cues >= 0, authorised seller <= 0; scipy L-BFGS-B with bounds, L2 penalty),
   only on rows where a brand is invoked (attribution >= min_attribution).
   Isotonic calibration (scikit-learn ``IsotonicRegression``) of
   ``attribution * p_illegit`` on out-of-fold predictions (5-fold cross-fitting inside
   ``fit``, like ``CalibratedClassifierCV(ensemble=False)``), then the final logistic
   model on the whole ``fit`` fold.
3. On ``threshold``: the takedown threshold by fixed-sequence Clopper-Pearson testing
   (:func:`counterfeit_vision.calibration.select_takedown_threshold`), globally and per
   brand for brands with at least ``n_min`` held-out fakes (299 for 0.99 at 95%; fewer
   cannot ever pass). A brand with that many labels whose own bound fails keeps the
   global threshold unless its labels show it is worse there (two-sided
   Clopper-Pearson upper bound of its precision at the global threshold below the
   target), in which case its takedown is disabled (review only). The review threshold is the
   highest one that keeps ``review_recall`` of the held-out fakes, but never below
   ``review_floor`` (0.2: a listing with under 20% chance of being fake is not worth a
   reviewer's time) nor above the takedown threshold.
4. On ``test``: ROC AUC, average precision, ECE, Brier, and precision/recall of
   ``takedown`` at the chosen thresholds (with a Clopper-Pearson bound) -> the manifest.
"""

from __future__ import annotations

import hashlib
import math
import platform
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from counterfeit_vision.catalog import Thresholds
from counterfeit_vision.fusion.calibration import (
    average_precision,
    brier_score,
    clopper_pearson_interval,
    clopper_pearson_lower,
    expected_calibration_error,
    min_takedowns_for,
    precision_recall_at,
    review_threshold,
    roc_auc,
    select_takedown_threshold,
)
from counterfeit_vision.fusion.cues import FEATURE_NAMES, BrandCues
from counterfeit_vision.fusion.handset import MIN_ATTRIBUTION, FusionModel, HandSetFusion
from counterfeit_vision.fusion.learned import (
    ACTIVE_FILE,
    ATTRIBUTION_FEATURES,
    FEATURE_SIGNS,
    ILLEGITIMACY_FEATURES,
    LearnedFusion,
    active_version,
    load_fusion_model,
)

__all__ = [
    "FeatureTable", "FitResult", "TrainReport", "evaluate", "fit_fusion", "fit_monotone_logistic",
    "model_confidences", "split_folds", "train_from_store", "train_from_table", "is_better", "qualifies",
    "DEFAULT_FRACTIONS",
]

DEFAULT_FRACTIONS = {"fit": 0.5, "threshold": 0.25, "test": 0.25}
SPLIT_SALT = "cv-fusion-split-v1"
MAX_ECE = 0.05


# ---------------------------------------------------------------------- tables
@dataclass
class FeatureTable:
    """Labelled cue features: ``X[:, j]`` is ``FEATURE_NAMES[j]``; ``y`` is 1 for a confirmed fake."""

    X: np.ndarray
    y: np.ndarray
    brand: np.ndarray
    listing_id: np.ndarray
    seller_id: np.ndarray | None = None
    weight: np.ndarray | None = None   # sample weights (trusted reporters' labels weigh more); None: all 1

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=float).reshape(-1, len(FEATURE_NAMES))
        self.y = np.asarray(self.y, dtype=float).ravel()
        self.brand = np.asarray(self.brand, dtype=object)
        self.listing_id = np.asarray(self.listing_id, dtype=object)
        if self.seller_id is None:
            self.seller_id = np.full(len(self.y), None, dtype=object)
        self.weight = np.ones(len(self.y)) if self.weight is None else np.asarray(self.weight, dtype=float).ravel()
        n = len(self.y)
        if not (len(self.X) == len(self.brand) == len(self.listing_id) == len(self.seller_id) == len(self.weight)
                == n):
            raise ValueError("feature table columns differ in length")
        if not (np.isfinite(self.weight).all() and (self.weight > 0).all()):
            raise ValueError("sample weights must be finite and > 0")

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> "FeatureTable":
        """Rows with ``features`` (dict) or the feature names as keys, plus label, brand_id, listing_id
        and optionally seller_id and weight."""
        X, y, b, ids, sellers, weights = [], [], [], [], [], []
        for i, r in enumerate(rows):
            f = r.get("features", r)
            X.append([float(f.get(n, 0.0)) for n in FEATURE_NAMES])
            y.append(int(r["label"]))
            b.append(r.get("brand_id"))
            ids.append(str(r.get("listing_id", i)))
            sellers.append(r.get("seller_id"))
            weights.append(float(r.get("weight", 1.0)))
        return cls(np.array(X).reshape(-1, len(FEATURE_NAMES)), np.array(y), np.array(b, dtype=object),
                   np.array(ids, dtype=object), np.array(sellers, dtype=object), np.array(weights))

    @classmethod
    def from_store(cls, store, *, trusted_accuracy: float | None = None, trusted_weight: float = 2.0
                   ) -> "FeatureTable":
        """The store's labelled listings; with ``trusted_accuracy``, labels whose reporter's accuracy
        (:mod:`counterfeit_vision.feedback.reporters`) reaches it get the sample weight ``trusted_weight``."""
        rows = store.training_table()
        if trusted_accuracy is not None:
            from counterfeit_vision.feedback.reporters import label_weights, reporter_accuracy

            weights = label_weights(rows, reporter_accuracy(store), trusted_accuracy=trusted_accuracy,
                                    trusted_weight=trusted_weight)
            rows = [{**r, "weight": w} for r, w in zip(rows, weights)]
        return cls.from_rows(rows)

    def subset(self, mask: np.ndarray) -> "FeatureTable":
        return FeatureTable(self.X[mask], self.y[mask], self.brand[mask], self.listing_id[mask], self.seller_id[mask],
                            self.weight[mask])

    def column(self, name: str) -> np.ndarray:
        return self.X[:, FEATURE_NAMES.index(name)]

    def attribution(self) -> np.ndarray:
        return self.X[:, [FEATURE_NAMES.index(n) for n in ATTRIBUTION_FEATURES]].max(axis=1)

    def cues(self, i: int) -> BrandCues:
        row = dict(zip(FEATURE_NAMES, self.X[i].tolist()))
        row["authorized_seller"] = bool(row["authorized_seller"] >= 0.5)
        return BrandCues(str(self.brand[i] or "unknown"), **{k: (min(1.0, max(0.0, v)) if isinstance(v, float) else v)
                                                             for k, v in row.items()})

    def summary(self) -> dict:
        brands, counts = np.unique(self.brand.astype(str), return_counts=True)
        fakes = {b: int(self.y[self.brand.astype(str) == b].sum()) for b in brands}
        return {"rows": len(self), "confirmed_fakes": int(self.y.sum()), "not_fake": int(len(self) - self.y.sum()),
                "brands": {b: {"rows": int(c), "fakes": fakes[b]} for b, c in zip(brands, counts)},
                "sha256": hashlib.sha256(np.ascontiguousarray(self.X).tobytes() + self.y.tobytes()
                                         + "\n".join(map(str, self.listing_id)).encode()).hexdigest()}


def _hash_unit(key: str, salt: str = SPLIT_SALT) -> float:
    return int.from_bytes(hashlib.sha256(f"{salt}:{key}".encode()).digest()[:8], "big") / 2**64


def split_folds(table: FeatureTable, fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
                salt: str = SPLIT_SALT) -> dict[str, FeatureTable]:
    """Deterministic split by a hash of the listing id (all brands of a listing land together)."""
    total = sum(fractions.values())
    u = np.array([_hash_unit(str(x), salt) for x in table.listing_id])
    out, lo = {}, 0.0
    names = list(fractions)
    for k, name in enumerate(names):
        hi = 1.0 if k == len(names) - 1 else lo + fractions[name] / total
        out[name] = table.subset((u >= lo) & (u < hi))
        lo = hi
    return out


# ---------------------------------------------------------------- the fitting
def fit_monotone_logistic(Z: np.ndarray, y: np.ndarray, signs: Sequence[int], *, C: float = 1.0,
                          sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Logistic regression with sign-constrained weights: minimise 0.5|w|^2 + C * sum(w_i * logloss_i)."""
    from scipy.optimize import minimize
    from scipy.special import expit, log1p

    Z = np.asarray(Z, dtype=float)
    y = np.asarray(y, dtype=float)
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    d = Z.shape[1]

    def objective(theta):
        w, b = theta[:d], theta[d]
        z = Z @ w + b
        # log(1 + exp(-s z)) with s = 2y - 1, computed stably
        s = 2 * y - 1
        m = -s * z
        loss = np.where(m > 0, m + log1p(np.exp(-m)), log1p(np.exp(m)))
        p = expit(z)
        g = sw * (p - y)
        f = 0.5 * w @ w + C * (sw @ loss)
        grad = np.concatenate([w + C * (Z.T @ g), [C * g.sum()]])
        return f, grad

    bounds = [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs] + [(None, None)]
    res = minimize(objective, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 2000})
    w = np.array([max(0.0, v) if s > 0 else min(0.0, v) if s < 0 else v for v, s in zip(res.x[:d], signs)])
    return w, float(res.x[d])


def _model_inputs(table: FeatureTable) -> np.ndarray:
    return table.X[:, [FEATURE_NAMES.index(n) for n in ILLEGITIMACY_FEATURES]]


def _fit_isotonic(raw: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None
                  ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    from sklearn.isotonic import IsotonicRegression

    if len(raw) == 0:
        return (0.0, 1.0), (0.0, 1.0)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(
        raw, y, sample_weight=weight)
    return tuple(float(v) for v in iso.X_thresholds_), tuple(float(v) for v in iso.y_thresholds_)


@dataclass
class FitResult:
    """What :func:`fit_fusion` returns: the fitted model, the folds, its held-out metrics and thresholds."""

    model: LearnedFusion
    folds: dict[str, FeatureTable]
    metrics: dict                 # held-out test metrics of the new model
    thresholds: dict              # the threshold choices with their held-out evidence


def fit_fusion(table: FeatureTable, *, target_precision: float = 0.99, confidence: float = 0.95,
               review_recall: float = 0.98, review_floor: float = 0.2, C: float = 1.0, cv_folds: int = 5,
               min_attribution: float = MIN_ATTRIBUTION, fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
               salt: str = SPLIT_SALT, seed: int = 0, data_source: str = "") -> FitResult:
    """Fit, calibrate and choose thresholds (see the module doc). Needs both classes in the fit fold."""
    folds = split_folds(table, fractions, salt)
    fit = folds["fit"]
    invoked = fit.attribution() >= min_attribution
    fit_inv = fit.subset(invoked)
    if len(fit_inv) < 20 or fit_inv.y.min() == fit_inv.y.max():
        raise ValueError(f"need labelled fakes and non-fakes with a brand invoked to fit; got {len(fit_inv)} rows, "
                         f"{int(fit_inv.y.sum())} fakes")
    signs = [FEATURE_SIGNS[n] for n in ILLEGITIMACY_FEATURES]
    Z, y, attr, sw = _model_inputs(fit_inv), fit_inv.y, fit_inv.attribution(), fit_inv.weight

    # out-of-fold raw scores for the isotonic map
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(len(y)) % max(2, cv_folds)
    oof = np.zeros(len(y))
    for k in range(max(2, cv_folds)):
        tr, te = fold_of != k, fold_of == k
        if y[tr].min() == y[tr].max():
            w, b = fit_monotone_logistic(Z, y, signs, C=C, sample_weight=sw)
        else:
            w, b = fit_monotone_logistic(Z[tr], y[tr], signs, C=C, sample_weight=sw[tr])
        oof[te] = attr[te] / (1.0 + np.exp(-(Z[te] @ w + b)))
    cal_x, cal_y = _fit_isotonic(oof, y, sw)
    w, b = fit_monotone_logistic(Z, y, signs, C=C, sample_weight=sw)
    model = LearnedFusion(coefficients=dict(zip(ILLEGITIMACY_FEATURES, map(float, w))), intercept=b,
                          calibration_x=cal_x, calibration_y=cal_y, min_attribution=min_attribution)

    # thresholds on the threshold fold
    th = folds["threshold"]
    p_th = model.predict(th.X)
    choice = select_takedown_threshold(th.y, p_th, target=target_precision, confidence=confidence)
    takedown = choice.threshold
    global_t = {"takedown": takedown,
                "review": review_threshold(th.y, p_th, recall=review_recall, floor=review_floor,
                                           ceiling=takedown if takedown is not None else 1.0)}
    n_min = min_takedowns_for(target_precision, confidence)
    brand_t: dict[str, dict] = {}
    brand_choices = {}
    for brand in sorted({str(b) for b in th.brand if b is not None}):
        m = th.brand.astype(str) == brand
        if th.y[m].sum() < n_min:
            continue  # too few held-out fakes for the bound to ever pass: the global threshold applies
        c = select_takedown_threshold(th.y[m], p_th[m], target=target_precision, confidence=confidence, scope=brand)
        entry = c.to_dict()
        t_brand = c.threshold
        if t_brand is None and takedown is not None:
            # the brand's own labels cannot prove the target; keep the global threshold unless they
            # show the brand is worse there (two-sided Clopper-Pearson upper bound below the target)
            at = precision_recall_at(th.y[m], p_th[m], takedown)
            upper = clopper_pearson_interval(at["true_positives"], at["selected"], confidence)[1]
            entry["fallback"] = {"global_threshold": takedown, "precision": at["precision"], "precision_upper": upper}
            t_brand = takedown if upper >= target_precision else None
            entry["fallback"]["kept_global"] = t_brand is not None
        if t_brand == takedown:
            brand_choices[brand] = entry
            continue  # same as global: no brand entry needed
        brand_choices[brand] = entry
        brand_t[brand] = {"takedown": t_brand,
                          "review": review_threshold(th.y[m], p_th[m], recall=review_recall, floor=review_floor,
                                                     ceiling=t_brand if t_brand is not None else 1.0)}
    model = replace(model, global_thresholds=global_t, brand_thresholds=brand_t)
    thresholds = {"target_precision": target_precision, "confidence": confidence, "n_min": n_min,
                  "review_recall": review_recall, "global": choice.to_dict(), "brands": brand_choices,
                  "method": "fixed-sequence Clopper-Pearson on the threshold fold"}
    metrics = evaluate(model, folds["test"], target_precision=target_precision, confidence=confidence)
    model.manifest = _manifest(model, table, folds, metrics, thresholds, data_source, C=C, cv_folds=cv_folds,
                               seed=seed, salt=salt, fractions=fractions)
    return FitResult(model, folds, metrics, thresholds)


def _manifest(model, table, folds, metrics, thresholds, data_source, **params) -> dict:
    import scipy
    import sklearn

    from counterfeit_vision._version import __version__

    return {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_type": "monotone logistic regression + isotonic calibration",
        "coefficients": {k: round(v, 6) for k, v in model.coefficients.items()},
        "intercept": round(model.intercept, 6),
        "libraries": {"counterfeit_vision": __version__, "numpy": np.__version__, "scipy": scipy.__version__,
                      "scikit-learn": sklearn.__version__, "python": platform.python_version()},
        "training_data": {"source": data_source, **table.summary(),
                          "folds": {k: {"rows": len(v), "fakes": int(v.y.sum())} for k, v in folds.items()}},
        "params": {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in params.items()},
        "thresholds": thresholds,
        "metrics": {"test": metrics},
    }


# ------------------------------------------------------------------ evaluation
def model_confidences(fusion: FusionModel, table: FeatureTable) -> np.ndarray:
    """Confidences of any fusion model on a table (vectorised for LearnedFusion)."""
    if isinstance(fusion, LearnedFusion):
        return fusion.predict(table.X)
    return np.array([fusion.score(table.cues(i)).confidence for i in range(len(table))])


def _thresholds(fusion, brand, default: Thresholds | Callable[[str], Thresholds | None] | None) -> Thresholds:
    t = fusion.thresholds_for(brand)
    if t is None and callable(default):
        t = default(brand)
    elif t is None:
        t = default
    return t or Thresholds()


def evaluate(fusion: FusionModel, table: FeatureTable, *, target_precision: float = 0.99, confidence: float = 0.95,
             default_thresholds: Thresholds | Callable[[str], Thresholds | None] | None = None,
             n_bins: int = 15) -> dict:
    """Held-out metrics of a fusion model at its own thresholds (``thresholds_for``) or the defaults."""
    p = model_confidences(fusion, table)
    y = table.y
    t_take = np.array([_thresholds(fusion, b, default_thresholds).takedown for b in table.brand])
    t_rev = np.array([_thresholds(fusion, b, default_thresholds).review for b in table.brand])
    take = p >= t_take
    review = (p >= t_rev) & ~take
    n, tp, pos = int(take.sum()), int(y[take].sum()), int(y.sum())
    return {
        "fusion": fusion.version, "rows": len(y), "positives": pos,
        "roc_auc": roc_auc(y, p), "average_precision": average_precision(y, p),
        "ece": expected_calibration_error(y, p, n_bins=n_bins), "brier": brier_score(y, p),
        "takedown": {"selected": n, "true_positives": tp,
                     "precision": tp / n if n else math.nan,
                     "precision_lower": clopper_pearson_lower(tp, n, confidence),
                     "recall": tp / pos if pos else math.nan},
        "review": {"selected": int(review.sum()), "fakes": int(y[review].sum())},
        "takedown_or_review_recall": float(y[take | review].sum() / pos) if pos else math.nan,
        "target_precision": target_precision, "confidence": confidence,
    }


def qualifies(metrics: Mapping[str, Any], *, target_precision: float, max_ece: float = MAX_ECE) -> bool:
    """Point precision of takedown meets the target (or no takedowns at all) and ECE is within bound."""
    prec = metrics["takedown"]["precision"]
    ok_prec = metrics["takedown"]["selected"] == 0 or (not math.isnan(prec) and prec >= target_precision)
    return bool(ok_prec and not math.isnan(metrics["ece"]) and metrics["ece"] <= max_ece)


def is_better(after: Mapping[str, Any], before: Mapping[str, Any], *, min_improvement: float,
              target_precision: float, max_ece: float = MAX_ECE) -> tuple[bool, str]:
    """The replacement rule of ``counterfeit-vision train`` (documented in the CLI help)."""
    if not qualifies(after, target_precision=target_precision, max_ece=max_ece):
        return False, (f"new model misses the bar (takedown precision >= {target_precision}, ECE <= {max_ece}) "
                       "on the held-out test fold")
    if not qualifies(before, target_precision=target_precision, max_ece=max_ece):
        return True, "the active model misses the bar on the held-out test fold; the new one meets it"
    r_after = after["takedown"]["recall"] if after["takedown"]["selected"] else 0.0
    r_before = before["takedown"]["recall"] if before["takedown"]["selected"] else 0.0
    gain = (0.0 if math.isnan(r_after) else r_after) - (0.0 if math.isnan(r_before) else r_before)
    if gain >= min_improvement:
        return True, f"takedown recall +{gain:.3f} >= margin {min_improvement}"
    return False, f"takedown recall change {gain:+.3f} is below the margin {min_improvement}"


# -------------------------------------------------------------------- retrain
@dataclass
class TrainReport:
    """Outcome of a retrain: the new version and folder, before/after test metrics, and whether it was activated."""

    version: str
    model_dir: Path
    before: dict
    after: dict
    activated: bool
    reason: str
    thresholds: dict = field(default_factory=dict)

    def format(self) -> str:
        rows = [("fusion", "fusion"), ("ROC AUC", "roc_auc"), ("average precision", "average_precision"),
                ("ECE", "ece"), ("Brier", "brier"), ("takedown precision", ("takedown", "precision")),
                ("takedown precision (CP lower)", ("takedown", "precision_lower")),
                ("takedown recall", ("takedown", "recall")), ("takedowns", ("takedown", "selected")),
                ("takedown+review recall", "takedown_or_review_recall")]

        def get(m, key):
            v = m[key[0]][key[1]] if isinstance(key, tuple) else m[key]
            return v if isinstance(v, str) else ("n/a" if v is None or (isinstance(v, float) and math.isnan(v))
                                                 else f"{v:.4f}" if isinstance(v, float) else str(v))
        lines = [f"held-out test fold: {self.after['rows']} labelled listings, "
                 f"{self.after['positives']} confirmed fakes",
                 f"{'metric':32} {'before':>22} {'after':>22}"]
        lines += [f"{name:32} {get(self.before, key):>22} {get(self.after, key):>22}" for name, key in rows]
        g = self.thresholds.get("global", {})
        lines.append(f"global takedown threshold {g.get('threshold')} (threshold fold: precision {g.get('precision')}, "
                     f"CP lower {g.get('precision_lower')}, recall {g.get('recall')}, "
                     f"needs >= {self.thresholds.get('n_min')} takedowns)")
        for b, c in self.thresholds.get("brands", {}).items():
            fb = c.get("fallback")
            if c.get("threshold") is not None:
                lines.append(f"  brand {b}: own takedown threshold {c['threshold']:.4f} "
                             f"(CP lower {c['precision_lower']:.4f}, recall {c['recall']:.3f})")
            elif fb and fb.get("kept_global"):
                lines.append(f"  brand {b}: own labels cannot prove the target; global threshold kept "
                             f"(brand precision there {fb['precision']:.4f}, upper bound {fb['precision_upper']:.4f})")
            else:
                lines.append(f"  brand {b}: takedown disabled (labels show precision below the target)")
        lines.append(f"saved {self.version} to {self.model_dir}")
        lines.append(("activated: " if self.activated else "not activated: ") + self.reason)
        return "\n".join(lines)


def train_from_table(table: FeatureTable, out_dir: str | Path, *, activate: bool = False,
                     min_improvement: float = 0.01, target_precision: float = 0.99, confidence: float = 0.95,
                     data_source: str = "", progress: bool = False, **fit_kwargs) -> TrainReport:
    """Fit a new model, compare it with the active one (or the hand-set formula) on the same held-out
    test fold, save it under ``out_dir/<version>``, and point ``out_dir/ACTIVE`` at it when asked
    or when :func:`is_better` says so. ``progress`` shows a bar over the three stages."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    bar = tqdm(total=3, desc="training fusion", unit="stage", disable=not progress)
    bar.set_postfix_str("fitting and calibrating")
    result = fit_fusion(table, target_precision=target_precision, confidence=confidence,
                        data_source=data_source, **fit_kwargs)
    bar.update(1)
    bar.set_postfix_str("comparing with the active model")
    test = result.folds["test"]
    current: FusionModel = HandSetFusion()
    if active_version(out_dir):
        current = load_fusion_model(out_dir)
    before = evaluate(current, test, target_precision=target_precision, confidence=confidence)
    after = result.metrics
    better, reason = is_better(after, before, min_improvement=min_improvement, target_precision=target_precision)
    model = result.model
    model.manifest["metrics"]["before"] = {"against": before["fusion"], **before}
    bar.update(1)
    bar.set_postfix_str("saving")
    model_dir = model.save(out_dir / model.version)
    do = activate or better
    if activate and not better:
        reason = f"--activate given ({reason})"
    if do:
        from counterfeit_vision._atomic import atomic_write

        with atomic_write(out_dir / ACTIVE_FILE) as f:
            f.write(model.version + "\n")
    bar.update(1)
    bar.close()
    return TrainReport(model.version, model_dir, before, after, do, reason, result.thresholds)


def train_from_store(store, out_dir: str | Path, *, trusted_accuracy: float | None = None,
                     trusted_weight: float = 2.0, **kwargs) -> TrainReport:
    """:func:`train_from_table` on the labelled listings of a feedback store (trusted reporters'
    labels weighted as :meth:`FeatureTable.from_store` says)."""
    table = FeatureTable.from_store(store, trusted_accuracy=trusted_accuracy, trusted_weight=trusted_weight)
    return train_from_table(table, out_dir, data_source=f"feedback store {store.path}", **kwargs)
