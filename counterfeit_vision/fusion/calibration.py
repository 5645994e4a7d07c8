"""Calibration checks and threshold selection with a precision guarantee.

Three tools, all on plain arrays (labels ``y`` in {0, 1}, confidences ``p`` in [0, 1]):

- :func:`expected_calibration_error` and :func:`reliability_bins`: does a confidence of
  0.8 mean that about 80% of such listings are confirmed fakes?
- :func:`clopper_pearson_lower`: a one-sided exact lower confidence bound on a
  binomial proportion (here: the precision of ``takedown``).
- :func:`select_takedown_threshold`: the lowest threshold whose precision on
  held-out labels is at least ``target`` with statistical confidence ``confidence``.

The precision guarantee
-----------------------
Candidate thresholds are the distinct held-out confidences, visited from the
highest down. ``n_min`` is the fewest takedowns whose Clopper-Pearson bound could
reach the target even with no false positive
(``ceil(log(1 - confidence) / log(target))``: 299 for 0.99 at 95%). Testing
starts at the first threshold selecting at least ``n_start`` listings: the fewest
takedowns whose bound can pass with ``start_errors`` false positives (default 1:
473 for 0.99 at 95%), or ``n_min`` when fewer listings than that were scored, so a
single unlucky error at the very top does not end the walk. From there downwards,
each is tested by "Clopper-Pearson lower bound of precision >= target"; the walk
stops at the first failure and the last threshold that passed is chosen
(fixed-sequence testing, as in Learn-then-Test, Angelopoulos et al. 2021).
The order of the thresholds depends
only on the confidences, not on the labels, so no multiple-testing correction is
needed: with probability at least ``confidence`` over the held-out labels the
precision of ``takedown`` at the chosen threshold is at least ``target`` for new
listings drawn like the held-out ones. When no threshold passes, ``takedown`` is
disabled (everything above the review threshold goes to ``review``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy.stats import beta

__all__ = [
    "ReliabilityBin", "ThresholdChoice", "clopper_pearson_lower", "clopper_pearson_interval",
    "expected_calibration_error", "min_takedowns_for", "precision_recall_at", "reliability_bins",
    "review_threshold", "select_takedown_threshold", "roc_auc", "average_precision", "brier_score",
    "curve_points", "takedowns_to_pass", "plot_reliability", "plot_precision_recall",
]


def _arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels and confidences differ in length: {y.shape} vs {p.shape}")
    if y.size and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    if p.size and (np.isnan(p).any() or p.min() < 0 or p.max() > 1):
        raise ValueError("confidences must be in [0, 1]")
    return y, p


# ------------------------------------------------------------------ calibration
@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability diagram: its confidence range, size, mean confidence and observed fake rate."""

    lo: float
    hi: float
    count: int
    mean_confidence: float   # average predicted confidence in the bin (nan when empty)
    fraction_positive: float  # observed share of confirmed fakes in the bin (nan when empty)


def _bin_edges(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1))) if p.size else np.array([0.0, 1.0])
        edges[0], edges[-1] = 0.0, 1.0
        return edges
    raise ValueError(f"strategy must be uniform or quantile, got {strategy!r}")


def reliability_bins(y, p, n_bins: int = 10, strategy: str = "uniform") -> list[ReliabilityBin]:
    """Bins of confidence with the observed rate of positives in each (a reliability diagram)."""
    y, p = _arrays(y, p)
    edges = _bin_edges(p, n_bins, strategy)
    # bin i holds edges[i] <= p < edges[i+1]; the last bin also holds p == 1
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    out = []
    for i in range(len(edges) - 1):
        m = idx == i
        n = int(m.sum())
        out.append(ReliabilityBin(float(edges[i]), float(edges[i + 1]), n,
                                  float(p[m].mean()) if n else math.nan, float(y[m].mean()) if n else math.nan))
    return out


def expected_calibration_error(y, p, n_bins: int = 15, strategy: str = "uniform") -> float:
    """Count-weighted mean |observed rate - mean confidence| over confidence bins."""
    y, p = _arrays(y, p)
    if not y.size:
        return math.nan
    return float(sum(b.count * abs(b.fraction_positive - b.mean_confidence)
                     for b in reliability_bins(y, p, n_bins, strategy) if b.count) / y.size)


def brier_score(y, p) -> float:
    """Mean squared error of the confidences against the 0/1 labels (nan when empty)."""
    y, p = _arrays(y, p)
    return float(np.mean((p - y) ** 2)) if y.size else math.nan


def roc_auc(y, p) -> float:
    """Area under the ROC curve (nan when only one class is present)."""
    from sklearn.metrics import roc_auc_score

    y, p = _arrays(y, p)
    return float(roc_auc_score(y, p)) if 0 < y.sum() < y.size else math.nan


def average_precision(y, p) -> float:
    """Area under the precision-recall curve (nan when there are no positives)."""
    from sklearn.metrics import average_precision_score

    y, p = _arrays(y, p)
    return float(average_precision_score(y, p)) if y.sum() > 0 else math.nan


# ------------------------------------------------------------ Clopper-Pearson
def clopper_pearson_lower(k: int, n: int, confidence: float = 0.95) -> float:
    """One-sided lower bound L with P(true rate >= L) >= confidence, for k successes in n trials."""
    if n <= 0 or k <= 0:
        return 0.0
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    return float(beta.ppf(1.0 - confidence, k, n - k + 1))


def clopper_pearson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided exact interval at level ``confidence``."""
    if n <= 0:
        return 0.0, 1.0
    a = (1.0 - confidence) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def min_takedowns_for(target: float, confidence: float) -> int:
    """Fewest takedowns (all correct) whose Clopper-Pearson lower bound reaches ``target``."""
    if not 0 < target < 1:
        return 1
    return max(1, math.ceil(math.log(1.0 - confidence) / math.log(target) - 1e-12))


def precision_recall_at(y, p, threshold: float | None) -> dict:
    """Counts, precision and recall of ``p >= threshold`` (None: nothing selected)."""
    y, p = _arrays(y, p)
    sel = p >= threshold if threshold is not None else np.zeros_like(p, dtype=bool)
    n, tp, pos = int(sel.sum()), int(y[sel].sum()), int(y.sum())
    return {"threshold": threshold, "selected": n, "true_positives": tp, "positives": pos,
            "precision": tp / n if n else math.nan, "recall": tp / pos if pos else math.nan}


@dataclass(frozen=True)
class ThresholdChoice:
    """A chosen takedown threshold and what it achieved on the labels it was chosen on."""

    threshold: float | None        # None: no threshold met the target; takedown disabled
    target: float
    confidence: float
    selected: int                  # listings at or above the threshold
    true_positives: int
    positives: int
    precision: float
    precision_lower: float         # Clopper-Pearson one-sided lower bound at `confidence`
    recall: float
    n_min: int                     # takedowns needed before any threshold is testable
    scope: str = "global"          # "global" or a brand id

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def takedowns_to_pass(target: float, confidence: float, errors: int) -> int:
    """Fewest takedowns whose Clopper-Pearson lower bound reaches ``target`` with ``errors`` false positives."""
    n = min_takedowns_for(target, confidence) + errors
    while clopper_pearson_lower(n - errors, n, confidence) < target:
        n += max(1, n // 200)
    while n > errors + 1 and clopper_pearson_lower(n - 1 - errors, n - 1, confidence) >= target:
        n -= 1
    return n


def select_takedown_threshold(y, p, *, target: float = 0.99, confidence: float = 0.95,
                              floor: float = 0.0, scope: str = "global", start_errors: int = 1) -> ThresholdChoice:
    """The lowest threshold (>= ``floor``) with precision >= target at ``confidence``; see the module doc."""
    y, p = _arrays(y, p)
    n_min = min_takedowns_for(target, confidence)
    n_start = takedowns_to_pass(target, confidence, start_errors) if start_errors > 0 else n_min
    if n_start > p.size:  # depends on the number of scores only, never on the labels
        n_start = n_min
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    pos = int(y.sum())
    chosen: tuple[float, int, int, float] | None = None
    if ps.size:
        # group ties: a threshold selects every listing at or above it
        values, first = np.unique(-ps, return_index=True)
        ends = np.append(first[1:], ps.size)  # exclusive end of each tie group in sorted order
        cum_tp = np.cumsum(ys)
        for v, end in zip(-values, ends):
            if v < floor:
                break
            n = int(end)
            if n < n_start:
                continue
            tp = int(cum_tp[n - 1])
            lower = clopper_pearson_lower(tp, n, confidence)
            if lower < target:
                break  # fixed-sequence: stop at the first failure
            chosen = (float(v), n, tp, lower)
    if chosen is None:
        return ThresholdChoice(None, target, confidence, 0, 0, pos, math.nan, 0.0,
                               0.0 if pos else math.nan, n_min, scope)
    t, n, tp, lower = chosen
    return ThresholdChoice(t, target, confidence, n, tp, pos, tp / n, lower, tp / pos if pos else math.nan,
                           n_min, scope)


def review_threshold(y, p, *, recall: float = 0.98, ceiling: float = 1.0, floor: float = 0.05) -> float:
    """The highest threshold whose recall is at least ``recall`` (clamped to [floor, ceiling]).

    Listings between this and the takedown threshold go to human review.
    """
    y, p = _arrays(y, p)
    if y.sum() == 0:
        return min(ceiling, max(floor, 0.5))
    scores = np.sort(p[y == 1])[::-1]
    k = max(1, math.ceil(recall * scores.size))
    t = float(scores[k - 1])
    return float(min(ceiling, max(floor, t)))


def curve_points(y, p, thresholds: Sequence[float] | None = None) -> list[dict]:
    """Precision and recall at each threshold (default: the distinct confidences), for plotting."""
    y, p = _arrays(y, p)
    ts = sorted(set(np.round(p, 6).tolist()), reverse=True) if thresholds is None else list(thresholds)
    return [precision_recall_at(y, p, t) for t in ts]


# ------------------------------------------------------------------- plotting
def plot_reliability(y, p, *, n_bins: int = 10, ax=None, label: str | None = None):
    """Reliability diagram: observed share of fakes per confidence bin against the diagonal.

    Needs matplotlib (imported here only). Returns the axes.
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(4.5, 4.5))[1]
    bins = [b for b in reliability_bins(y, p, n_bins=n_bins) if b.count]
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1, label="perfect calibration")
    ax.plot([b.mean_confidence for b in bins], [b.fraction_positive for b in bins], "o-",
            label=(label or "model") + f" (ECE {expected_calibration_error(y, p):.3f})")
    for b in bins:
        ax.annotate(str(b.count), (b.mean_confidence, b.fraction_positive), fontsize=7,
                    xytext=(3, -9), textcoords="offset points")
    ax.set_xlabel("confidence")
    ax.set_ylabel("share confirmed fake")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_precision_recall(y, p, *, thresholds: dict[str, float | None] | None = None, ax=None,
                          label: str | None = None, target: float | None = None):
    """Precision against recall over all thresholds, with chosen thresholds marked. Returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(5, 4))[1]
    pts = [c for c in curve_points(y, p) if c["selected"]]
    ax.plot([c["recall"] for c in pts], [c["precision"] for c in pts], label=label or "model")
    for name, t in (thresholds or {}).items():
        if t is None:
            continue
        c = precision_recall_at(y, p, t)
        if c["selected"]:
            ax.plot([c["recall"]], [c["precision"]], "o")
            ax.annotate(f"{name} {t:.3f}\nP={c['precision']:.3f} R={c['recall']:.2f}", (c["recall"], c["precision"]),
                        fontsize=8, xytext=(5, -25), textcoords="offset points")
    if target is not None:
        ax.axhline(target, ls=":", c="grey", lw=1, label=f"precision target {target}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.02)
    ax.legend(loc="lower left", fontsize=8)
    return ax
