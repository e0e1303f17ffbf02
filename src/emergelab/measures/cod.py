"""Clustering on difficulty (COD): forecast a larger model's accuracy from the predictable items.

After Xu et al., "Unveiling Downstream Performance Scaling of LLMs: A Clustering-Based
Perspective" (2025). Items of one benchmark scale differently (easy ones saturate early, hard
ones emerge late, some never move), so one law for the whole set extrapolates badly. COD:
1. difficulty_features: an item's pass rates across a ladder of small (anchor) models, smallest
   first: (n_items, n_anchors), values in [0, 1].
2. cluster_items: MeanShift (scikit-learn) with bandwidth = radius; points farther than radius
   from their cluster's centre, and clusters with fewer than min_size items, become outliers (-1).
3. fit_cluster_law per cluster: y(C) = g + (1 - g) exp(-a (C/C0)^-b - c), g the guess rate,
   C0 the geometric mean of the anchor sizes (so a is on a sane scale). Least squares in y, from
   a few starts, with c = 0 unless MIN_RISEN_FOR_C anchors are off the floor and the free c
   lowers the AICc (a cluster that has only begun to rise says nothing about its ceiling, and a
   free c fitted to its 3 rising points pulls the forecast down). A cluster is extrapolatable unless it is
     "flat"      (non-emergent: range of y over the anchors < FLAT), or
     "poor fit"  (non-scalable: rmse > POOR_FIT, or the fit failed, or y falls with size).
4. The predictable subset = the items of extrapolatable clusters. Its predicted accuracy at the
   target is the item-weighted mean of its clusters' laws.
5. fit_mapping: subset accuracy -> full-set accuracy, a straight line full = u + v * subset with
   v >= 0 (smooth and monotone), least squares over the anchor models, clipped to [0, 1]. When
   the excluded items stay flat, full = (share kept) * subset + const exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from sklearn.cluster import MeanShift

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line

FLAT = 0.02        # a cluster whose mean accuracy moves less than this over the anchors is flat
POOR_FIT = 0.05    # rmse of a cluster law above this: not scalable
MIN_RISEN_FOR_C = 5  # c is fitted only with this many anchors above guess + FLAT
MAX_SEEDS = 300    # MeanShift starts from at most this many items, drawn with the seed (a
                   # cluster of 2% of the items misses all of them with odds (0.98)^300 ~ 0.2%)


def difficulty_features(pass_rates) -> np.ndarray:
    """Validate (n_items, n_anchors) pass rates, anchors smallest first; return them as floats."""
    try:
        f = np.asarray(pass_rates, dtype=float)
    except (TypeError, ValueError):
        raise UserError("pass rates must be numeric (items x small models)") from None
    if f.ndim != 2 or f.shape[0] < 2 or f.shape[1] < 2:
        raise UserError(f"pass rates must be items x small models with at least 2 of each, got "
                        f"shape {f.shape}")
    if not np.all(np.isfinite(f)) or np.any((f < 0) | (f > 1)):
        raise UserError("pass rates must be in [0, 1] with no NaN; use n_pass / n_samples per item")
    return f


def cluster_items(features, *, radius: float, min_size: int, seed: int = 0) -> np.ndarray:
    """MeanShift labels (n_items,): 0 = largest cluster, ..., -1 = outlier."""
    f = difficulty_features(features)
    if not radius > 0:
        raise UserError(f"radius must be > 0, got {radius}")
    if int(min_size) != min_size or min_size < 1:
        raise UserError(f"min_size must be a whole number >= 1, got {min_size}")
    n = len(f)
    # MeanShift's cost grows with its starts; on big sets start from a seeded random subset
    seeds = f[np.random.default_rng(seed).choice(n, MAX_SEEDS, replace=False)] if n > MAX_SEEDS else f
    ms = MeanShift(bandwidth=radius, seeds=seeds, cluster_all=False).fit(f)
    lab = ms.labels_.copy()
    has = lab >= 0
    far = np.zeros(n, bool)
    far[has] = np.linalg.norm(f[has] - ms.cluster_centers_[lab[has]], axis=1) > radius
    lab[far] = -1  # the maximum radius: no item farther than it from its centre
    ids, counts = np.unique(lab[lab >= 0], return_counts=True)
    big = ids[counts >= min_size][np.argsort(-counts[counts >= min_size], kind="stable")]
    out = np.full(n, -1)
    for new, old in enumerate(big):  # a handful of clusters: relabel largest first
        out[lab == old] = new
    return out


@dataclass(frozen=True, eq=False)
class ClusterLaw:
    """y(C) = g + (1 - g) exp(-a (C/C0)^-b - c); status "ok", "flat" or "poor fit"."""

    params: dict          # a, b, c, g, C0
    rmse: float
    status: str

    @property
    def extrapolatable(self) -> bool:
        return self.status == "ok"

    def predict(self, C) -> np.ndarray:
        p = self.params
        u = np.asarray(C, dtype=float) / p["C0"]
        return p["g"] + (1 - p["g"]) * np.exp(-p["a"] * u ** (-p["b"]) - p["c"])


def _law(q, u, g):
    return g + (1 - g) * np.exp(-np.exp(q[0]) * u ** (-q[1]) - q[2])


def fit_cluster_law(C, y, guess: float = 0.0, *, start: ClusterLaw | None = None) -> ClusterLaw:
    """Fit the COD law to one curve (mean accuracy per anchor model) and judge it. With `start`
    (an earlier fit, e.g. in a bootstrap) only that starting point is tried."""
    C, y = np.asarray(C, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if len(C) != len(y) or len(np.unique(C)) < 3:
        raise UserError(f"a cluster law needs C and y of equal length with 3+ distinct sizes, got "
                        f"{len(np.unique(C))} sizes and {len(y)} values")
    if np.any(~np.isfinite(C) | (C <= 0)) or np.any(~np.isfinite(y) | (y < 0) | (y > 1)):
        raise UserError("a cluster law needs sizes C > 0 and accuracies y in [0, 1]")
    if not 0 <= guess < 1:
        raise UserError(f"guess must be in [0, 1), got {guess}")
    C0 = float(np.exp(np.log(C).mean()))
    u = C / C0
    order = np.argsort(C)
    best = None
    starts = [(0.0, 0.5, 0.0), (1.0, 1.0, 0.0), (2.0, 2.0, 0.0), (-1.0, 0.3, 0.0), (3.0, 4.0, 0.0)]
    if start is not None and np.isfinite(start.params["a"]):
        p = start.params  # same C0 assumed: the bootstrap refits on the same sizes
        starts = [(np.log(max(p["a"], 1e-8)), min(p["b"], 20.0), min(p["c"], 10.0))]
    best, best_ic = None, np.inf
    risen = int((y > guess + FLAT).sum())  # anchors off the floor: the only ones that shape the law
    for free_c in (False, True) if risen >= MIN_RISEN_FOR_C else (False,):  # c must earn its place
        k = 2 + free_c
        for la, b, c in starts:
            try:
                r = least_squares(lambda q: _law((*q, 0.0)[:3], u, guess) - y, [la, b, c][:k],
                                  bounds=([-20, 0, 0][:k], [20, 20, 10][:k]))  # fmt: skip
            except ValueError:
                continue
            n = len(y)
            mse = max(2 * r.cost / n, 1e-14)  # floor: exact fits tie, and the simpler one wins
            ic = n * np.log(mse) + 2 * k + (2 * k * (k + 1) / (n - k - 1) if n > k + 1 else np.inf)
            if ic < best_ic - 1e-9:
                best, best_ic = r, ic
    if best is None:
        return ClusterLaw({"a": np.nan, "b": np.nan, "c": np.nan, "g": guess, "C0": C0}, np.inf, "poor fit")
    rmse = float(np.sqrt(np.mean(best.fun**2)))
    ys = y[order]
    if ys.max() - ys.min() < FLAT:
        status = "flat"
    elif rmse > POOR_FIT or ys[-1] < ys[0] - FLAT:
        status = "poor fit"
    else:
        status = "ok"
    a, b, c = np.exp(best.x[0]), best.x[1], (best.x[2] if len(best.x) == 3 else 0.0)
    return ClusterLaw({"a": float(a), "b": float(b), "c": float(c), "g": guess, "C0": C0}, rmse, status)


def fit_mapping(subset_acc, full_acc):
    """full = u + v * subset, v >= 0, least squares over the anchors; returns (f, {u, v})."""
    s, f = np.asarray(subset_acc, dtype=float), np.asarray(full_acc, dtype=float)
    X = np.column_stack([np.ones_like(s), s])
    r = least_squares(lambda q: X @ q - f, [0.0, 1.0], bounds=([-np.inf, 0], [np.inf, np.inf]))
    u, v = r.x
    return (lambda x: np.clip(u + v * np.asarray(x, dtype=float), 0, 1)), {"u": float(u), "v": float(v)}


def cod_predict(acc, sizes, target, *, features=None, radius: float | None = None,
                min_size: int | None = None, guess: float = 0.0, seed: int = 0) -> dict:
    """Full-set accuracy at `target` from per-item accuracies acc (n_items, n_anchors).

    features default to acc; radius to 0.1 * sqrt(n_anchors) (a pass-rate distance of 0.1 per
    anchor: at 0.15 a late-rising cluster merged with the never-solved one in 1 of 6 seeds of the
    unit test's mixture); min_size to max(5, 1% of items). Returns predicted, subset prediction,
    labels, per-cluster laws and the mapping."""
    acc = difficulty_features(acc)
    sizes = np.asarray(sizes, dtype=float).ravel()
    if len(sizes) != acc.shape[1] or not np.all(np.diff(sizes) > 0):
        raise UserError("sizes must be increasing, one per column of acc (smallest model first)")
    feats = acc if features is None else difficulty_features(features)
    if len(feats) != len(acc):
        raise UserError(f"features have {len(feats)} items, acc has {len(acc)}; give one row per item")
    radius = 0.1 * np.sqrt(feats.shape[1]) if radius is None else radius
    min_size = max(5, len(acc) // 100) if min_size is None else min_size
    labels = cluster_items(feats, radius=radius, min_size=min_size, seed=seed)
    k = labels.max() + 1
    onehot = labels[:, None] == np.arange(k)[None, :]               # (n_items, k)
    n_k = onehot.sum(0)
    curves = (onehot.T.astype(float) @ acc) / n_k[:, None]           # (k, n_anchors) cluster means
    laws = [fit_cluster_law(sizes, curves[j], guess) for j in range(k)]
    keep = np.array([law.extrapolatable for law in laws], dtype=bool)
    if not keep.any():
        raise UserError("no cluster of items is extrapolatable (all flat or badly fitted); add "
                        "anchor models that span the rise, or use method='powerlaw'")
    at_target = np.array([law.predict(target) if ok else 0.0 for law, ok in zip(laws, keep)])
    subset_pred = float((at_target * n_k)[keep].sum() / n_k[keep].sum())
    in_subset = onehot[:, keep].any(1)
    mapping, mp = fit_mapping(acc[in_subset].mean(0), acc.mean(0))
    return {"predicted": float(mapping(subset_pred)), "subset_predicted": subset_pred,
            "subset_share": float(in_subset.mean()), "labels": labels, "laws": laws,
            "kept": np.flatnonzero(keep).tolist(), "mapping": mp, "radius": float(radius),
            "min_size": int(min_size)}  # fmt: skip
