"""Discrete power laws fitted as Clauset, Shalizi & Newman (2009) do ("Power-law distributions
in empirical data", SIAM Review 51): maximum likelihood, not a line on log-log axes; xmin by
the smallest Kolmogorov-Smirnov distance; a bootstrap goodness-of-fit p; and Vuong
likelihood-ratio tests against the two usual alternatives, a discretised lognormal and a
discrete exponential, over the same tail.

One fit serves every instrument that asks "is this heavy tail a power law?": symbol usage in
emergent languages (measures/language.py) and degree distributions of graphs
(measures/networks.py).

    p(x) = x^-alpha / zeta(alpha, xmin)                    x >= xmin (power law)
    p(x) = (1 - e^-lam) e^(-lam (x - xmin))                x >= xmin (exponential)
    p(x) = P(x - 1/2 <= X < x + 1/2 | X >= xmin - 1/2)     X lognormal(mu, sigma)

gof_p (with n_boot > 0): the share of synthetic data sets, drawn from the fitted model (power
law above xmin, the data's own values below it) and refitted the same way, xmin included,
whose KS distance is at least the data's. Clauset et al. reject the power law when p <= 0.1.
Synthetic tails use their approximate discrete sampler (their eq. D.6), exact to a few % in
the tail's cdf and so well below the KS distances it is compared with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, special

from emergelab.errors import UserError

_PREFER_P = 0.1  # Vuong p below which one model is declared the better fit


@dataclass(frozen=True)
class PowerLawFit:
    alpha: float          # exponent: p(x) = x^-alpha / zeta(alpha, xmin) for x >= xmin
    alpha_se: float       # its standard error, (alpha - 1) / sqrt(n_tail)
    xmin: int             # the xmin whose fit is closest to the data in KS distance
    ks: float             # that KS distance
    n_tail: int           # samples >= xmin
    lognormal_mu: float   # the discretised lognormal fitted to the same tail
    lognormal_sigma: float
    loglik_ratio: float   # R = sum log p_powerlaw - log p_lognormal over the tail: > 0 favours the power law
    p_value: float        # Vuong's two-sided p for R != 0
    preferred: str        # 'power_law' or 'lognormal' when p < 0.1, else 'undecided'
    exp_lambda: float = float("nan")      # the discrete exponential fitted to the same tail
    loglik_ratio_exp: float = float("nan")  # power law vs exponential, as loglik_ratio
    p_value_exp: float = float("nan")
    preferred_exp: str = "undecided"      # 'power_law' or 'exponential' when p < 0.1
    gof_p: float = float("nan")           # bootstrap goodness-of-fit p (NaN unless n_boot > 0)
    n_boot: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _pl_alphas(n: np.ndarray, logsum: np.ndarray, xmin: np.ndarray) -> np.ndarray:
    """MLE of alpha for every candidate xmin at once: n, logsum = tail size and sum of log x.
    The negative log-likelihood n log zeta(alpha, xmin) + alpha logsum is convex in alpha, so a
    golden-section search (vectorised over candidates) on [1, 10] finds it; 60 steps: 1e-11."""
    nll = lambda a: n * np.log(special.zeta(a, xmin)) + a * logsum  # noqa: E731
    lo, hi = np.full(len(xmin), 1.0 + 1e-9), np.full(len(xmin), 10.0)
    g = (np.sqrt(5.0) - 1) / 2
    for _ in range(60):
        c, d = hi - g * (hi - lo), lo + g * (hi - lo)
        left = nll(c) < nll(d)  # the minimum lies in [lo, d]
        lo, hi = np.where(left, lo, c), np.where(left, d, hi)
    return (lo + hi) / 2


def _ln_logpmf(x: np.ndarray, xmin: int, mu: float, sigma: float) -> np.ndarray:
    """log p(x) of a lognormal binned to integers ([x - 1/2, x + 1/2)) and cut at xmin."""
    logsf = lambda t: special.log_ndtr((mu - np.log(t)) / sigma)  # noqa: E731  log P(X > t)
    lo, hi = logsf(x - 0.5), logsf(x + 0.5)
    return lo + np.log1p(-np.exp(hi - lo)) - logsf(xmin - 0.5)


def _best_tail(x: np.ndarray, xmin: int | None, min_tail: int) -> tuple[int, float, float]:
    """(xmin, alpha, ks) of the power law closest to x in KS distance over candidate xmins."""
    vals, counts = np.unique(x, return_counts=True)  # sorted distinct values
    n_tail = np.cumsum(counts[::-1])[::-1]  # samples >= vals[k]
    log_tail = np.cumsum((counts * np.log(vals))[::-1])[::-1]  # their sum of log x
    if xmin is None:  # every distinct value that leaves enough samples
        ks_idx = np.flatnonzero(n_tail >= min_tail)
        us = vals[ks_idx]
    else:
        ks_idx, us = np.array([np.searchsorted(vals, xmin)]), np.array([float(xmin)])
    alphas = _pl_alphas(n_tail[ks_idx], log_tail[ks_idx], us)
    best = (0, 0.0, np.inf)
    for k, u, a in zip(ks_idx, us, alphas):  # one candidate per distinct value, not per sample
        emp = np.cumsum(counts[k:]) / n_tail[k]  # empirical P(X <= v) over the tail
        model = 1 - special.zeta(a, vals[k:] + 1) / special.zeta(a, u)
        ks = float(np.abs(emp - model).max())
        if ks < best[2]:
            best = (int(u), float(a), ks)
    return best


def _vuong(diff: np.ndarray) -> tuple[float, float]:
    """(R, two-sided p) of Vuong's test on pointwise log-likelihood ratios."""
    R, sd = float(diff.sum()), float(diff.std())
    p = float(special.erfc(abs(R) / (sd * np.sqrt(2 * len(diff))))) if sd > 0 else 1.0
    return R, p


def _gof_p(x: np.ndarray, xmin: int, alpha: float, ks: float, n_boot: int, min_tail: int, seed: int,
           fixed_xmin: bool) -> float:
    """Clauset et al.'s semi-parametric bootstrap: the share of synthetic sets at least as far
    (in KS distance, after their own fit) from a power law as the data."""
    rng = np.random.default_rng(seed)
    body = x[x < xmin]
    p_tail = np.mean(x >= xmin)
    hits = 0
    for _ in range(n_boot):
        in_tail = rng.random(len(x)) < p_tail
        n_t = int(in_tail.sum())
        # eq. D.6: continuous inverse cdf at xmin - 1/2, rounded
        tail = np.floor((xmin - 0.5) * (1 - rng.random(n_t)) ** (-1 / (alpha - 1)) + 0.5)
        fake = np.concatenate([tail, rng.choice(body, len(x) - n_t)]) if len(body) else tail
        if len(fake) < min_tail:
            continue
        hits += _best_tail(fake, xmin if fixed_xmin else None, min_tail)[2] >= ks
    return hits / n_boot


def powerlaw_fit(x, xmin: int | None = None, min_tail: int = 10, n_boot: int = 0,
                 seed: int = 0) -> PowerLawFit:
    """Discrete power law fitted by maximum likelihood (Clauset et al. 2009). x: positive
    integers, e.g. how often each symbol was used, or node degrees (drop zeros first).
    xmin=None tries every distinct value leaving >= min_tail samples and keeps the one with the
    smallest KS distance; the tail is then compared with a discretised lognormal and a discrete
    exponential (Vuong tests). n_boot > 0 adds the bootstrap goodness-of-fit p (seeded)."""
    x = np.asarray(x, dtype=float).ravel()
    if len(x) < min_tail or not np.all(np.isfinite(x) & (x >= 1) & (x == np.round(x))):
        raise UserError(f"the counts must be >= {min_tail} positive integers; drop zero counts first")
    if xmin is not None and (xmin < 1 or np.sum(x >= xmin) < min_tail):
        raise UserError(f"xmin={xmin} leaves fewer than {min_tail} samples (or is < 1); pick a smaller one")
    if n_boot < 0:
        raise UserError(f"n_boot must be >= 0, got {n_boot}")
    u, a, ks = _best_tail(x, xmin, min_tail)
    tail = x[x >= u]
    logs = np.log(tail)
    log_pl = -a * logs - np.log(special.zeta(a, u))
    # The lognormal fitted to the same tail, its likelihood summed over distinct values (fast).
    tv, tc = np.unique(tail, return_counts=True)
    nll = lambda p: -tc @ _ln_logpmf(tv, u, p[0], np.exp(p[1]))  # noqa: E731
    mu, log_sigma = optimize.minimize(nll, [logs.mean(), np.log(logs.std() + 0.1)], method="Nelder-Mead").x
    R, p = _vuong(log_pl - _ln_logpmf(tail, u, mu, np.exp(log_sigma)))
    # The discrete exponential's MLE is closed-form: lam = log(1 + 1 / mean(x - xmin)).
    excess = float(np.mean(tail - u))
    lam = float(np.log1p(1 / excess)) if excess > 0 else float("inf")
    log_ex = np.log(-np.expm1(-lam)) - lam * (tail - u) if np.isfinite(lam) else np.zeros_like(tail)
    R_e, p_e = _vuong(log_pl - log_ex)
    gof = _gof_p(x, u, a, ks, n_boot, min_tail, seed, xmin is not None) if n_boot else float("nan")
    pick = lambda R, p, other: "undecided" if p >= _PREFER_P else ("power_law" if R > 0 else other)  # noqa: E731
    return PowerLawFit(alpha=a, alpha_se=float((a - 1) / np.sqrt(len(tail))), xmin=u, ks=ks, n_tail=len(tail),
                       lognormal_mu=float(mu), lognormal_sigma=float(np.exp(log_sigma)),
                       loglik_ratio=R, p_value=p, preferred=pick(R, p, "lognormal"),
                       exp_lambda=lam, loglik_ratio_exp=R_e, p_value_exp=p_e,
                       preferred_exp=pick(R_e, p_e, "exponential"), gof_p=gof, n_boot=n_boot)
