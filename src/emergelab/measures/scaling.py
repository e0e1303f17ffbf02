"""Scaling of a model family's results: the family frame, power-law fits, and the mirage check.

After Schaeffer, Miranda & Koyejo, "Are Emergent Abilities of Large Language Models a Mirage?"
(NeurIPS 2023). If per-token loss falls smoothly, L(N) = (N/c)^(-alpha), the per-token
probability p = exp(-L) rises smoothly, but exact match over L tokens, p^L, stays near 0 and
then shoots up: a "jump" made by the metric. A continuous partner (log-likelihood, token edit
distance ~ L(1 - p), Brier score) shows the same family as a smooth curve.

The family frame: one row per (model, item), columns FAMILY_COLUMNS (a size column `params`
or `compute`, plus any metric columns). check_family validates it.

emergence_score(x, y) (SCIENCE A6): over the family sorted by size,
    sign(argmax - argmin) * (max - min) / sqrt(median of squared successive differences).
A smooth ramp over n sizes scores about n - 1; a step that happens in one size-interval scores
far more, because most successive differences are ~0. When the median squared difference is 0
(a perfect step, or a flat run longer than half the family) the denominator is floored at
SCORE_FLOOR * (max - min), so the score is capped at +-1/SCORE_FLOOR rather than infinite; a
constant curve scores 0.

mirage_check verdicts, per discontinuous metric (METRIC_PAIRS) with its partners present:
- Scores use log(size) as x. Discontinuous metrics are scored as they are; continuous partners
  on -log of their error (loss = -logprob, -log target_prob, edit distance, Brier), where the
  paper's power law is a straight line, so a steep but smooth power-law fall is not a "jump".
- sharpness = |score| / (n_sizes - 1): 1 for a straight ramp; "sharp" when >= SHARP (a smooth
  power-law partner scores ~1, a p^L exact-match curve over 8-10 sizes ~11-14).
- "unresolved": the metric reads 0 at the smallest size and fewer than MIN_LEVELS items change
  over the whole curve (range * n_items < MIN_LEVELS): with 1/n_items resolution the shape of
  the rise cannot be judged (the paper's "too few test items" effect). Checked first.
- "metric artefact": sharp under the discontinuous metric, smooth under at least one partner.
- "genuine jump": sharp under the metric and under every partner present.
- "smooth": not sharp under the metric.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line

SIZES = ("params", "compute")
METRIC_PAIRS = {"correct": ("logprob", "edit_distance", "target_prob"), "mc_correct": ("brier",)}
HIGHER_IS_BETTER = {"correct": True, "score": True, "logprob": True, "target_prob": True,
                    "edit_distance": False, "mc_correct": True, "brier": False}  # fmt: skip
METRICS = tuple(HIGHER_IS_BETTER)
FAMILY_COLUMNS = ("model", *SIZES, "item", *METRICS, "n_samples", "n_pass", "difficulty")
MIN_SIZES = 3
SCORE_FLOOR = 0.01   # floor of the score's denominator, as a fraction of the range: |score| <= 100
SHARP = 2.5          # |score| / (n - 1) at or above this is a jump; a straight ramp gives 1
ERR_FLOOR = 1e-6     # continuous errors are floored at this fraction of their max before the log
MIN_LEVELS = 20      # fewer items than this changing over the curve: shape not resolved
# value ranges per metric: (low, high); binary metrics and counts are checked separately
_RANGES = {"score": (0, 1), "target_prob": (0, 1), "logprob": (-np.inf, 0),
           "edit_distance": (0, np.inf), "brier": (0, 2)}  # fmt: skip
_BINARY = ("correct", "mc_correct")


# ------------------------------------------------------------------ the family frame

def size_column(df: pd.DataFrame, size: str = "params") -> str:
    if size not in SIZES:
        raise UserError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    if size not in df.columns:
        raise UserError(f"the family has no {size!r} column; add it or pass size="
                        f"{'compute' if size == 'params' else 'params'!r}")
    return size


def check_family(df, size: str = "params") -> pd.DataFrame:
    """Validate a family frame (one row per model x item); return a copy sorted by size, model, item."""
    if not isinstance(df, pd.DataFrame):
        raise UserError(f"a family must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in ("model", "item") if c not in df.columns]
    if missing:
        raise UserError(f"the family is missing column(s) {', '.join(missing)}; it needs model, "
                        f"item, params (or compute) and at least one metric column")
    size = size_column(df, size)
    metrics = [c for c in (*METRICS, "n_pass") if c in df.columns]
    if not metrics:
        raise UserError(f"the family has no metric column; add one of {', '.join(METRICS)} "
                        f"(or n_samples and n_pass)")
    if ("n_pass" in df.columns) != ("n_samples" in df.columns):
        raise UserError("n_pass and n_samples come together; add the missing one or drop both")
    df = df.copy()
    for c in ("model", "item", size, *metrics, *(["n_samples"] if "n_samples" in df else [])):
        bad = df[c].isna().to_numpy()
        if bad.any():
            raise UserError(f"column {c!r} has {int(bad.sum())} missing value(s), the first in "
                            f"row {int(np.argmax(bad))}; drop or fill those rows")
    try:
        df[size] = df[size].astype(float)
    except (TypeError, ValueError):
        raise UserError(f"column {size!r} must be numeric") from None
    s = df[size].to_numpy()
    if not np.all(np.isfinite(s) & (s > 0)):
        m = df["model"].to_numpy()[np.argmax(~(np.isfinite(s) & (s > 0)))]
        raise UserError(f"sizes must be finite and > 0; model {m!r} has {size}="
                        f"{s[np.argmax(~(np.isfinite(s) & (s > 0)))]}")
    per_model = df.groupby("model")[size].nunique()
    if (per_model > 1).any():
        raise UserError(f"model {per_model.index[np.argmax(per_model.to_numpy() > 1)]!r} has "
                        f"several {size} values; give each model one size")
    if df[size].nunique() < MIN_SIZES:
        raise UserError(f"the family has {df[size].nunique()} distinct {size} value(s); scaling "
                        f"needs at least {MIN_SIZES} model sizes")
    if df.duplicated(["model", "item"]).any():
        raise UserError("some (model, item) pairs appear more than once; keep one row per pair")
    for c in metrics:
        try:
            v = df[c].astype(float).to_numpy()
        except (TypeError, ValueError):
            raise UserError(f"column {c!r} must be numeric") from None
        df[c] = v
        if c in _BINARY:
            bad = (v != 0) & (v != 1)
            what = "0 or 1"
        elif c == "n_pass":
            n = df["n_samples"].astype(float).to_numpy()
            bad = (v < 0) | (v > n) | (n < 1) | (v != np.round(v)) | (n != np.round(n))
            what = "whole counts with 0 <= n_pass <= n_samples and n_samples >= 1"
        else:
            lo, hi = _RANGES[c]
            bad = ~np.isfinite(v) | (v < lo) | (v > hi)
            what = f"finite and in [{lo}, {hi}]"
        if bad.any():
            i = int(np.argmax(bad))
            raise UserError(f"column {c!r} must be {what}; model {df['model'].iloc[i]!r}, item "
                            f"{df['item'].iloc[i]!r} has {v[i]}")
        if c in (*_BINARY, "score") and (np.all(v == 0) or np.all(v == 1)):
            raise UserError(f"column {c!r} is {int(v[0])} for every model and item: nothing "
                            f"changes with scale; check the grading or drop the column")
    return df.sort_values([size, "model", "item"], kind="stable").reset_index(drop=True)


def per_size_means(df: pd.DataFrame, size: str = "params") -> pd.DataFrame:
    """Mean of every metric column per size: (n_sizes, metrics) frame indexed by size, ascending."""
    cols = [c for c in METRICS if c in df.columns]
    return df.groupby(size)[cols].mean().sort_index()


# ------------------------------------------------------------------ power laws

@dataclass(frozen=True, eq=False)
class PowerLawFit:
    """y = a * (x/x0)^(-b) [+ c]; x0 = geometric mean of the x fitted, so a is y near the middle."""

    form: str
    params: dict                 # a, b (and c for "saturating"), x0
    residual_sd: float           # sd of log(y) - log(fit) over the points fitted
    boot: np.ndarray = field(repr=False)  # (n_boot, 2 or 3): a, b[, c] refitted on resamples

    def _eval(self, x, a, b, c):
        u = np.asarray(x, dtype=float)[..., None] / self.params["x0"]
        return a * u ** (-b) + c

    def predict(self, x) -> np.ndarray:
        p = self.params
        return self._eval(x, p["a"], p["b"], p.get("c", 0.0))[..., 0]

    def interval(self, x, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """Percentile band of the bootstrap refits at x: (lo, hi), each shaped like x."""
        if not 0 < level < 1:
            raise UserError(f"level must be in (0, 1), got {level}")
        if len(self.boot) == 0:
            raise UserError("this fit has no bootstrap; refit with n_boot > 0")
        b = self.boot
        c = b[:, 2] if b.shape[1] == 3 else 0.0
        y = self._eval(x, b[:, 0], b[:, 1], c)  # (..., n_boot)
        q = np.nanquantile(y, [(1 - level) / 2, (1 + level) / 2], axis=-1)
        return q[0], q[1]


def _loglinear(lx, ly, w):
    """Weighted least squares of ly on lx, one fit per row of w: (n_fits, n) -> log a, b."""
    sw = w.sum(1)
    mx, my = (w * lx).sum(1) / sw, (w * ly).sum(1) / sw
    sxx = (w * (lx - mx[:, None]) ** 2).sum(1)
    slope = (w * (lx - mx[:, None]) * (ly - my[:, None])).sum(1) / np.where(sxx > 0, sxx, np.nan)
    return my - slope * mx, -slope


def _fit_saturating(u, y):
    """least squares of log y on log(a u^-b + c), c in [0, min y): returns a, b, c or None."""
    lo = np.log(y)
    la0, b0 = _loglinear(np.log(u)[None], lo[None], np.ones((1, len(u))))

    def res(p):
        return np.log(np.exp(p[0]) * u ** (-p[1]) + p[2]) - lo

    x0 = [la0[0] if np.isfinite(la0[0]) else 0.0, max(b0[0], 1e-3) if np.isfinite(b0[0]) else 0.5,
          0.5 * y.min()]  # fmt: skip
    try:
        r = least_squares(res, x0, bounds=([-50, 0, 0], [50, 20, y.min() * (1 - 1e-9)]))
    except ValueError:
        return None
    return np.exp(r.x[0]), r.x[1], r.x[2]


def fit_power_law(x, y, *, form: str = "power", n_boot: int = 200, seed: int = 0) -> PowerLawFit:
    """Fit y = a x^-b ("power") or y = a x^-b + c ("saturating", c >= 0 an irreducible floor).

    Both are fitted to log y (errors are relative, as for losses across decades). The bootstrap
    resamples points with replacement; pass per-item rows (x repeated) to resample items instead.
    Resamples with fewer than 2 distinct x (power) or 3 (saturating) are dropped.
    """
    if form not in ("power", "saturating"):
        raise UserError(f"form must be 'power' or 'saturating', got {form!r}")
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if len(x) != len(y):
        raise UserError(f"x and y have different lengths ({len(x)} vs {len(y)})")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and np.all(x > 0) and np.all(y > 0)):
        raise UserError("a power law needs finite x > 0 and y > 0; drop zero or negative points")
    need = 2 if form == "power" else 3
    if len(np.unique(x)) < need + (form == "saturating"):
        raise UserError(f"a {form} fit needs at least {need + (form == 'saturating')} distinct x "
                        f"values, got {len(np.unique(x))}")
    x0 = float(np.exp(np.log(x).mean()))
    u = x / x0
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    # resample counts as weights: one vectorised weighted regression per resample
    w = np.zeros((n_boot, len(x)))
    np.add.at(w, (np.repeat(np.arange(n_boot), len(x)), idx.ravel()), 1.0)
    ok = ((w > 0).sum(1) >= need) if n_boot else np.zeros(0, bool)
    if form == "power":
        la, b = _loglinear(np.log(u)[None], np.log(y)[None], np.ones((1, len(x))))
        a, b, c = np.exp(la[0]), b[0], 0.0
        lab, bb = _loglinear(np.log(u)[None], np.log(y)[None], w[ok])
        boot = np.column_stack([np.exp(lab), bb])
    else:
        got = _fit_saturating(u, y)
        if got is None:
            raise UserError("the saturating fit failed; try form='power' or check the data")
        a, b, c = got
        rows = []
        for wi in w[ok]:  # a handful of points per refit: a loop over resamples is cheap enough
            keep = wi > 0
            uu, yy = np.repeat(u[keep], wi[keep].astype(int)), np.repeat(y[keep], wi[keep].astype(int))
            g = _fit_saturating(uu, yy) if len(np.unique(uu)) >= 3 else None
            rows.append(g if g is not None else (np.nan,) * 3)
        boot = np.array(rows, dtype=float).reshape(-1, 3)
    resid = np.log(y) - np.log(a * u ** (-b) + c)
    params = {"a": float(a), "b": float(b), **({"c": float(c)} if form == "saturating" else {}), "x0": x0}
    return PowerLawFit(form, params, float(resid.std(ddof=0)), boot)


# ------------------------------------------------------------------ emergence and mirages

def emergence_score(x, y) -> float:
    """sign(argmax - argmin) * (max - min) / sqrt(median squared successive difference), by x."""
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if len(x) != len(y) or len(x) < MIN_SIZES:
        raise UserError(f"emergence_score needs x and y of equal length >= {MIN_SIZES}, got "
                        f"{len(x)} and {len(y)}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise UserError("emergence_score needs finite x and y; drop NaN/inf points first")
    y = y[np.argsort(x, kind="stable")]
    rng_ = y.max() - y.min()
    if rng_ == 0:
        return 0.0
    denom = max(np.sqrt(np.median(np.diff(y) ** 2)), SCORE_FLOOR * rng_)
    return float(np.sign(np.argmax(y) - np.argmin(y)) * rng_ / denom)


def _scored(col, y):
    """The curve a metric is scored on, oriented so that up = better. Continuous partners are
    scored in log of their error (loss = -logprob, -log target_prob, edit distance, Brier), where
    the power law the paper finds is a straight line and a smooth fall does not read as a jump."""
    if col in _BINARY or col == "score":
        return y
    err = {"logprob": -y, "target_prob": -np.log(np.clip(y, 1e-300, 1))}.get(col, y)
    tiny = ERR_FLOOR * max(err.max(), 1e-300)  # a perfect model (error 0) stays finite
    return -np.log(np.maximum(err, tiny))


def mirage_check(df, size: str = "params") -> pd.DataFrame:
    """One row per discontinuous metric present: its score, its partners' scores, a verdict."""
    df = check_family(df, size)
    means = per_size_means(df, size)
    x = means.index.to_numpy(dtype=float)
    n_items = int(df.groupby(size)["item"].nunique().min())
    rows = []
    for metric, partners in METRIC_PAIRS.items():
        partners = [p for p in partners if p in means.columns]
        if metric not in means.columns or not partners:
            continue

        def sharpness(col):
            y = _scored(col, means[col].to_numpy())
            s = emergence_score(np.log(x), y)
            return s, abs(s) / (len(x) - 1)

        s_m, sh_m = sharpness(metric)
        part = {p: sharpness(p) for p in partners}
        y = means[metric].to_numpy()
        levels = (y.max() - y.min()) * n_items
        if y[0] == 0 and levels < MIN_LEVELS:
            verdict = "unresolved"
        elif sh_m < SHARP:
            verdict = "smooth"
        elif min(sh for _, sh in part.values()) < SHARP:
            verdict = "metric artefact"
        else:
            verdict = "genuine jump"
        row = {"metric": metric, "partners": ",".join(partners), "verdict": verdict,
               "score": s_m, "sharpness": sh_m, "n_items": n_items, "resolution": 1.0 / n_items,
               "sizes": x.tolist(), "means": y.tolist()}  # fmt: skip
        for p, (s, sh) in part.items():
            row[f"score_{p}"], row[f"sharpness_{p}"] = s, sh
            row[f"means_{p}"] = means[p].tolist()
        rows.append(row)
    if not rows:
        pairs = ", ".join(f"{m} with {'/'.join(p)}" for m, p in METRIC_PAIRS.items())
        raise UserError(f"no metric pair present; the mirage check needs one of: {pairs}")
    return pd.DataFrame(rows)
