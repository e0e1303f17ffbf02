"""PassUntil: pass rates far below 1/n_items, and the task scaling law they follow.

After Hu et al., "Predicting Emergent Abilities with Infinite Resolution Evaluation" (ICLR 2024;
arXiv 2310.03262; the "Unlock Predictable Scaling from Emergent Abilities" preprint).

Sampling. For each item, draw generations until r of them pass (r = 1 or 2), stopping at a cap.
With K draws in all, PU = r / K is the maximum-likelihood pass rate (K - r failures before the
r-th pass are negative binomial). The same point estimate n_pass / n_samples holds for fixed-K
sampling (binomial), so a family frame's counts need not say which design made them.

Intervals (exact, by the beta-binomial duality P(Binom(k, p) >= r) = I_p(r, k - r + 1)):
- inverse sampling, r-th pass at draw K = k ("until"): P(K <= k) = I_p(r, k - r + 1) rises in p,
  so lo = Beta.ppf(a/2; r, k - r + 1) and hi = Beta.ppf(1 - a/2; r, k - r) (hi = 1 when k = r);
- censored (fewer than r passes, s, in the cap): a one-sided upper bound, the Clopper-Pearson
  hi = Beta.ppf(1 - a; s + 1, cap - s), lo = 0 (flag `censored`);
- fixed-K counts (r=None): two-sided Clopper-Pearson.

Task scaling law: PU(N) = exp(-c N^-alpha), i.e. z = log(-log PU) = log c - alpha log N, linear in
log N. Fitted per item (a closed-form weighted regression over all items at once, points with
PU in {0, 1} dropped) and averaged: the task's PU is the mean of the items' PU curves.
Accelerated emergence: z concave in log N (quadratic term q < 0: z falls ever faster,
"super-scaling"); multi-step tasks can be convex (q > 0, "sub-scaling"); concavity() fits
z = z0 + b u + q u^2 on the item-mean PU and bootstraps items for q's interval.

Two circuits (our reading of the paper's "multiple circuits" hypothesis): two mechanisms vote
softly with equal weight, PU(N) = (exp(-c1 N^-a1) + exp(-c2 N^-a2)) / 2, so a late, steep
circuit overtaking an early, shallow one makes z concave. Fitted to log PU by least squares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import least_squares

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line


def _counts(n_pass, n_samples):
    try:
        s, k = np.asarray(n_pass, dtype=float), np.asarray(n_samples, dtype=float)
    except (TypeError, ValueError):
        raise UserError("n_pass and n_samples must be numeric counts") from None
    if s.shape != k.shape:
        raise UserError(f"n_pass and n_samples have different shapes ({s.shape} vs {k.shape})")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(k))):
        raise UserError("n_pass and n_samples contain NaN/inf; drop those items first")
    if np.any((s < 0) | (s > k) | (k < 1) | (s != np.round(s)) | (k != np.round(k))):
        raise UserError("counts must be whole numbers with 0 <= n_pass <= n_samples and n_samples >= 1")
    return s, k


def passuntil_estimate(n_pass, n_samples, *, r: int | None = 1, cap=None, level: float = 0.95):
    """Per item (any shape, flattened): pu, lo, hi, censored, design -> DataFrame.

    r: passes sampled for (1 or 2); None for fixed-K counts. cap: the draw limit; an item with
    fewer than r passes is censored (with cap=None, any item with fewer than r passes is)."""
    s, k = (a.ravel() for a in _counts(n_pass, n_samples))
    if not 0 < level < 1:
        raise UserError(f"level must be in (0, 1), got {level}")
    a = 1 - level
    pu = s / k
    if r is None:  # fixed K: two-sided Clopper-Pearson
        lo = np.where(s > 0, stats.beta.ppf(a / 2, np.maximum(s, 1), k - s + 1), 0.0)
        hi = np.where(s < k, stats.beta.ppf(1 - a / 2, s + 1, np.maximum(k - s, 1)), 1.0)
        return pd.DataFrame({"pu": pu, "lo": lo, "hi": hi, "censored": np.zeros(len(s), bool)})
    if int(r) != r or r < 1:
        raise UserError(f"r must be a whole number >= 1 (or None for fixed-K counts), got {r}")
    if np.any(s > r):
        raise UserError(f"an item has more than r={r} passes; stop at r passes, or pass r=None "
                        f"for fixed-K counts")
    censored = s < r
    if cap is not None and np.any(censored & (k < cap)):
        raise UserError(f"an item has fewer than r={r} passes but fewer than cap={cap} draws; "
                        f"sampling stops only at r passes or at the cap")
    # uncensored: the r-th pass at draw k (negative binomial duality)
    lo = np.where(censored, 0.0, stats.beta.ppf(a / 2, r, np.maximum(k - r + 1, 1)))
    hi_u = np.where(k > r, stats.beta.ppf(1 - a / 2, r, np.maximum(k - r, 1)), 1.0)
    # censored: one-sided upper bound from the s < r passes seen in k = cap draws
    hi_c = np.where(s < k, stats.beta.ppf(1 - a, s + 1, np.maximum(k - s, 1)), 1.0)
    return pd.DataFrame({"pu": pu, "lo": lo, "hi": np.where(censored, hi_c, hi_u), "censored": censored})


def sample_until(p, r: int, cap: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Simulate PassUntil for pass rates p (any shape): (n_pass, n_samples), both shaped like p.

    The draw of the r-th pass is r + NegBinomial(r, p). If it lies beyond the cap, the item is
    censored at cap draws, and its first r - 1 passes, uniform over the draws before the r-th,
    fall inside the cap as a hypergeometric count. Exact, with no loop over draws."""
    p = np.asarray(p, dtype=float)
    if np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
        raise UserError("pass rates p must be in [0, 1]")
    if int(r) != r or r < 1 or int(cap) != cap or cap < r:
        raise UserError(f"need whole numbers r >= 1 and cap >= r, got r={r}, cap={cap}")
    if not isinstance(rng, np.random.Generator):
        raise UserError("rng must be a numpy Generator, e.g. np.random.default_rng(seed)")
    pos = p > 0
    kr = np.full(p.shape, np.iinfo(np.int64).max // 2, dtype=np.int64)  # p = 0: never passes
    kr[pos] = r + rng.negative_binomial(r, p[pos])
    done = kr <= cap
    n_samples = np.where(done, kr, cap)
    n_pass = np.full(p.shape, r, dtype=np.int64)
    cens = ~done & pos
    n_pass[cens | ~pos] = 0
    if r > 1 and cens.any():  # of kr - 1 draws, cap are inside; r - 1 passes among them
        tot = kr[cens] - 1
        small = tot < 10**9  # numpy's hypergeometric limit; beyond it, with replacement is exact enough
        got = rng.binomial(r - 1, cap / tot)
        got[small] = rng.hypergeometric(cap, tot[small] - cap, r - 1)
        n_pass[cens] = got
    return n_pass, n_samples


# ------------------------------------------------------------------ the task scaling law

def _design(sizes, pu):
    n = np.asarray(sizes, dtype=float).ravel()
    y = np.atleast_2d(np.asarray(pu, dtype=float))  # (n_items, n_sizes)
    if y.shape[1] != len(n):
        raise UserError(f"pu must have one column per size: {y.shape[1]} columns, {len(n)} sizes")
    if len(n) < 3 or np.any(~np.isfinite(n) | (n <= 0)) or len(np.unique(n)) < 3:
        raise UserError(f"need at least 3 distinct sizes, all > 0; got {len(np.unique(n))}")
    if np.any(np.isnan(y)) or np.any((y < 0) | (y > 1)):
        raise UserError("pass rates must be in [0, 1] with no NaN")
    return np.log(n), y


@dataclass(frozen=True, eq=False)
class TaskScalingFit:
    """Per item: z = log(-log PU) = log_c - alpha * log N. Items that cannot be fitted (fewer
    than 2 sizes with 0 < PU < 1) keep their last observed PU (0 or 1) at every size."""

    alpha: np.ndarray    # (n_items,) NaN where not fitted
    log_c: np.ndarray    # (n_items,)
    fallback: np.ndarray = field(repr=False)  # (n_items,) PU used where not fitted

    @property
    def fitted(self) -> np.ndarray:
        return np.isfinite(self.alpha)

    def predict_items(self, sizes) -> np.ndarray:
        """(n_items, n_sizes) PU."""
        ln = np.log(np.atleast_1d(np.asarray(sizes, dtype=float)))[None, :]
        z = self.log_c[:, None] - self.alpha[:, None] * ln
        return np.where(self.fitted[:, None], np.exp(-np.exp(z)), self.fallback[:, None])

    def predict(self, sizes) -> np.ndarray:
        """Task PU: the mean over items, (n_sizes,)."""
        return self.predict_items(sizes).mean(0)


def task_scaling_fit(sizes, pu) -> TaskScalingFit:
    """Fit PU(N) = exp(-c N^-alpha) to each row of pu (n_items, n_sizes), or to one curve."""
    ln, y = _design(sizes, pu)
    ok = (y > 0) & (y < 1)
    z = np.log(-np.log(np.where(ok, y, 0.5)))
    w = ok.astype(float)
    sw = w.sum(1)
    mx = (w * ln).sum(1) / np.maximum(sw, 1)
    mz = (w * z).sum(1) / np.maximum(sw, 1)
    sxx = (w * (ln - mx[:, None]) ** 2).sum(1)
    good = (ok.sum(1) >= 2) & (sxx > 0)
    sxz = (w * (ln - mx[:, None]) * (z - mz[:, None])).sum(1)
    slope = np.where(good, sxz / np.where(good, sxx, 1), np.nan)
    if not good.any():
        raise UserError("no item has a pass rate strictly between 0 and 1 at 2 or more sizes; "
                        "sample more (raise the cap) or use larger models")
    return TaskScalingFit(-slope, np.where(good, mz - slope * mx, np.nan), y[:, -1].copy())


def concavity(sizes, pu, *, n_boot: int = 500, level: float = 0.9, seed: int = 0) -> dict:
    """Quadratic term q of z = log(-log mean PU) vs u = log N (centred): sign, interval, verdict.

    With pu (n_items, n_sizes) the interval comes from resampling items; with one curve, from
    the normal approximation to q's least-squares error (needs >= 4 sizes)."""
    ln, y = _design(sizes, pu)
    u = ln - ln.mean()
    X = np.column_stack([np.ones_like(u), u, u**2])  # (n_sizes, 3)

    def q_of(mean_pu):  # (n_fits, n_sizes) -> (n_fits,) quadratic terms; NaN where PU hits 0 or 1
        bad = (mean_pu <= 0) | (mean_pu >= 1)
        z = np.log(-np.log(np.clip(mean_pu, 1e-300, 1 - 1e-16)))
        q = np.linalg.lstsq(X, z.T, rcond=None)[0][2]
        return np.where(bad.any(1), np.nan, q)

    q = float(q_of(y.mean(0)[None])[0])
    if not np.isfinite(q):
        raise UserError("the mean pass rate is 0 or 1 at some size; concavity needs 0 < PU < 1")
    a = (1 - level) / 2
    if y.shape[0] > 1:
        idx = np.random.default_rng(seed).integers(0, y.shape[0], (n_boot, y.shape[0]))
        qb = q_of(y[idx].mean(1))
        lo, hi = np.nanquantile(qb, [a, 1 - a])
    else:
        if len(u) < 4:
            raise UserError("a single curve needs at least 4 sizes for a curvature interval")
        z = np.log(-np.log(y[0]))
        res = z - X @ np.linalg.lstsq(X, z, rcond=None)[0]
        se = np.sqrt(res @ res / (len(u) - 3) * np.linalg.inv(X.T @ X)[2, 2])
        lo, hi = q + stats.t.ppf([a, 1 - a], len(u) - 3) * se
    verdict = "accelerated" if hi < 0 else "sub-scaling" if lo > 0 else "linear"
    return {"q": q, "lo": float(lo), "hi": float(hi), "level": level, "verdict": verdict}


def _two_circuit(p, ln):
    (lc1, a1, lc2, a2) = p
    return 0.5 * (np.exp(-np.exp(lc1 - a1 * ln)) + np.exp(-np.exp(lc2 - a2 * ln)))


def two_circuit_fit(sizes, pu) -> dict:
    """Fit PU(N) = (exp(-c1 N^-a1) + exp(-c2 N^-a2)) / 2 to one curve (or the item mean) in log PU.

    Returns a1, c1, a2, c2 (circuit 1 the shallower), rmse of log PU, and predict(sizes)."""
    ln, y = _design(sizes, pu)
    y = y.mean(0)
    if np.any(y <= 0) or len(ln) < 5:
        raise UserError("the two-circuit fit needs 5 or more sizes, each with a pass rate > 0")
    s = ln.mean()

    def res(p):
        return np.log(np.maximum(_two_circuit(p, ln - s), 1e-300)) - np.log(y)

    best = None
    for a1, a2 in [(0.5, 3.0), (1.0, 5.0), (0.2, 2.0), (1.0, 1.0)]:  # shallow + steep starts
        for lc in [(0.0, 2.0), (1.0, 3.0), (-1.0, 1.0)]:
            try:
                r = least_squares(res, [lc[0], a1, lc[1], a2], bounds=([-30, 0, -30, 0], [30, 50, 30, 50]))
            except ValueError:
                continue
            if best is None or r.cost < best.cost:
                best = r
    lc1, a1, lc2, a2 = best.x
    if a1 > a2:
        lc1, a1, lc2, a2 = lc2, a2, lc1, a1
    p = np.array([lc1, a1, lc2, a2])
    # c_i N^-a_i with N uncentred: c_i = exp(lc_i) * exp(s)^a_i
    return {"a1": float(a1), "c1": float(np.exp(lc1 + a1 * s)), "a2": float(a2),
            "c2": float(np.exp(lc2 + a2 * s)), "rmse_log": float(np.sqrt(np.mean(best.fun**2))),
            "predict": lambda n: _two_circuit(p, np.log(np.asarray(n, dtype=float)) - s)}  # fmt: skip
