"""Critical data size: the smallest training set that still generalises, and its scaling law.

After Y. Tian (2025), "Provable Scaling Laws of Feature Emergence from Learning Dynamics of
Grokking" (Li_2): on group arithmetic over a group of order M, a network trained on n of the
M^2 pairs generalises only when n exceeds a critical n_c, and the paper's bound has
n_c ∝ M log M. Here the critical size is measured from runs, then that law is fitted against
the alternatives so the best one is visible.

critical_fractions(runs): per modulus M, the critical train fraction f_c. Each grid point
(M, f) gets a success rate, the share of its runs (seeds) that generalised. f_c is where the
rate crosses 1/2, interpolated linearly in log f between the two grid points that bracket
the crossing: with all-or-none outcomes it is their geometric midpoint, sqrt(f_lo * f_hi).
The bracket is the step *below the lowest fraction from which every larger fraction
succeeds*, so a lone lucky seed far below does not move f_c (it is counted in
`inversions`). Why not a logistic fit: with a handful of seeds the outcomes are usually
perfectly separated, where the logistic maximum likelihood has no finite optimum.

fit_critical_laws(modulus, n_c): n_c = c * g(M) for g in LAWS (one free constant c each,
least squares in log n_c, so errors are relative), plus the free power law n_c = c * M^a.
The best law is the one-parameter law with the smallest rms log error; the free law has an
extra parameter and always fits at least as well, so it is reported beside them (its
exponent a says where the data lie) but never picked as best. Over a narrow range of M,
M log M looks like M^(1 + 1/ln M): `exponent` gives each law's local exponent at the
geometric mean of M for that comparison.

bracket_wins(table): the grid's resolution. The winner can hang on where f_c sits inside its
bracket; refitting at every combination of bracket ends says how often each law wins and
what range the free exponent spans.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emergelab.errors import UserError

# name -> g(M); the free power law "M^a" is fitted separately
LAWS = {
    "M log M": lambda m: m * np.log(m),
    "M": lambda m: m,
    "M^1.5": lambda m: m**1.5,
    "M^2": lambda m: m**2,  # a constant critical fraction: no scaling with M at all
}
FREE = "M^a"
# final validation accuracy that counts as generalised. At a fixed epoch budget it rises
# gradually with the train fraction (grokking: Z59, 3,000 epochs: 0.25, 0.54, 0.78 at 21, 24,
# 28 % of the pairs); 1/2 is the middle of that rise, where it is steepest, so seeds agree and
# the epoch budget matters least. 0.95 ("fully generalised") sits in its slow tail.
SUCCESS_THRESHOLD = 0.5
CRITICAL_COLUMNS = ("modulus", "critical_fraction", "lower", "upper", "n_c", "status", "runs",
                    "fractions", "inversions")  # fmt: skip
FIT_COLUMNS = ("law", "c", "a", "exponent", "rms_log_error", "max_rel_error", "n_params", "best")


def _numeric(runs: pd.DataFrame, col: str) -> np.ndarray:
    try:
        v = pd.to_numeric(runs[col], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"column {col!r} must be numeric") from None
    bad = ~np.isfinite(v)
    if bad.any():
        raise UserError(f"column {col!r} has {int(bad.sum())} missing or infinite value(s), the first "
                        f"in row {int(np.argmax(bad))}; drop those runs")
    return v


def critical_fractions(runs, threshold: float = SUCCESS_THRESHOLD) -> pd.DataFrame:
    """Per modulus, the critical train fraction (module docstring) from one row per run.

    `runs` has columns modulus, train_fraction and either grokked (bool or 0/1) or val_acc
    (final validation accuracy; generalised when >= threshold); other columns (seed) are
    ignored. Returns CRITICAL_COLUMNS, one row per modulus, ascending: lower/upper bracket
    f_c; status "ok", "below grid" (every fraction generalised: f_c < lower grid end, f_c
    NaN) or "above grid" (the largest fraction failed); n_c = f_c * M^2 training pairs.
    """
    if not isinstance(runs, pd.DataFrame):
        raise UserError(f"runs must be a pandas DataFrame, got {type(runs).__name__}")
    missing = [c for c in ("modulus", "train_fraction") if c not in runs.columns]
    if missing:
        raise UserError(f"runs is missing column(s) {', '.join(missing)}; it needs modulus, "
                        "train_fraction and grokked (or val_acc)")
    if not len(runs):
        raise UserError("runs is empty: there is nothing to estimate a critical fraction from")
    if not 0 < threshold <= 1:
        raise UserError(f"threshold must be in (0, 1], got {threshold}")
    m, f = _numeric(runs, "modulus"), _numeric(runs, "train_fraction")
    if np.any(m < 2) or np.any(m != np.round(m)):
        raise UserError("modulus must be a whole number >= 2 (the group's order)")
    if np.any((f <= 0) | (f >= 1)):
        raise UserError("train_fraction must be in (0, 1)")
    if "grokked" in runs.columns:
        g = _numeric(runs, "grokked")
        if np.any((g != 0) & (g != 1)):
            raise UserError("column 'grokked' must be True/False or 0/1")
        ok = g == 1
    elif "val_acc" in runs.columns:
        ok = _numeric(runs, "val_acc") >= threshold
    else:
        raise UserError("runs needs a column grokked (True/False) or val_acc (final validation accuracy)")

    rows = []
    frame = pd.DataFrame({"m": m, "f": f, "ok": ok.astype(float)})
    for M, d in frame.groupby("m", sort=True):
        rate = d.groupby("f")["ok"].mean().sort_index()  # success rate per fraction, ascending
        fr, r = rate.index.to_numpy(), rate.to_numpy()
        fail = r < 0.5
        # the lowest fraction from which every larger one succeeds
        hi = len(r) - int(np.argmax(fail[::-1])) if fail.any() else 0
        base = {"modulus": int(M), "runs": len(d), "fractions": len(fr)}
        if hi == len(r):
            rows.append({**base, "critical_fraction": np.nan, "lower": fr[-1], "upper": np.nan,
                         "status": "above grid", "inversions": 0})  # fmt: skip
            continue
        if hi == 0:
            rows.append({**base, "critical_fraction": np.nan, "lower": np.nan, "upper": fr[0],
                         "status": "below grid", "inversions": 0})  # fmt: skip
            continue
        lo = hi - 1
        t = (0.5 - r[lo]) / (r[hi] - r[lo])  # in (0, 1]: r[hi] >= 0.5 > r[lo]
        fc = float(np.exp(np.log(fr[lo]) + t * (np.log(fr[hi]) - np.log(fr[lo]))))
        rows.append({**base, "critical_fraction": fc, "lower": fr[lo], "upper": fr[hi], "status": "ok",
                     "inversions": int((~fail[:lo]).sum())})  # fmt: skip
    out = pd.DataFrame(rows)
    out["n_c"] = out["critical_fraction"] * out["modulus"].astype(float) ** 2
    return out[list(CRITICAL_COLUMNS)]


def predict_n_c(law: str, c: float, a: float, modulus) -> np.ndarray:
    """n_c = c * g(M) for a law of LAWS, or c * M^a for the free power law."""
    m = np.asarray(modulus, dtype=float)
    if law == FREE:
        return c * m**a
    if law not in LAWS:
        raise UserError(f"unknown law {law!r}; one of {', '.join([*LAWS, FREE])}")
    return c * LAWS[law](m)


def fit_critical_laws(modulus, n_c) -> pd.DataFrame:
    """Fit each law of LAWS and the free power law to critical sizes n_c (module docstring).

    Returns FIT_COLUMNS, one row per law: c; a (the free law's exponent, NaN otherwise);
    exponent (local d log n_c / d log M at the geometric mean of M); rms_log_error and
    max_rel_error (|n_c / fit - 1|, largest over the points); n_params; best (one True row).
    """
    m, n = np.asarray(modulus, dtype=float).ravel(), np.asarray(n_c, dtype=float).ravel()
    if len(m) != len(n):
        raise UserError(f"modulus and n_c have different lengths ({len(m)} vs {len(n)})")
    keep = np.isfinite(n)  # moduli whose critical fraction fell outside the grid have NaN
    m, n = m[keep], n[keep]
    if not (np.all(np.isfinite(m)) and np.all(m >= 2) and np.all(n > 0)):
        raise UserError("fitting needs moduli >= 2 and critical sizes n_c > 0")
    if len(np.unique(m)) < 2:
        raise UserError(f"fitting a scaling law needs critical sizes at 2 or more moduli, got "
                        f"{len(np.unique(m))}; widen the train_fraction grid so it brackets each one")
    lm, ln = np.log(m), np.log(n)
    lm0 = lm.mean()  # the geometric mean of M, where local exponents are compared
    rows = []

    def row(law, lc, a, exponent, k):
        resid = ln - lc - (a * lm if law == FREE else np.log(LAWS[law](m)))
        rows.append({"law": law, "c": float(np.exp(lc)), "a": a, "exponent": float(exponent),
                     "rms_log_error": float(np.sqrt(np.mean(resid**2))),
                     "max_rel_error": float(np.max(np.abs(np.expm1(resid)))), "n_params": k})  # fmt: skip

    for law, g in LAWS.items():
        lg = np.log(g(m))
        eps = 1e-6  # local exponent by a central difference in log M
        e = (np.log(g(np.exp(lm0 + eps))) - np.log(g(np.exp(lm0 - eps)))) / (2 * eps)
        row(law, float(np.mean(ln - lg)), np.nan, e, 1)
    a = float(np.sum((lm - lm0) * (ln - ln.mean())) / np.sum((lm - lm0) ** 2))
    row(FREE, float(ln.mean() - a * lm0), a, a, 2)
    out = pd.DataFrame(rows)
    fixed = out["n_params"] == 1
    out["best"] = False
    out.loc[out.loc[fixed, "rms_log_error"].idxmin(), "best"] = True
    return out[list(FIT_COLUMNS)]


def bracket_wins(table: pd.DataFrame, max_moduli: int = 12) -> pd.DataFrame:
    """How much the law comparison hangs on where f_c lies inside its bracket.

    Refits every law with each bracketed modulus's f_c moved to either end of its bracket
    (all 2^k corners, k <= max_moduli). Returns one row per law of fit_critical_laws:
    win_share (share of corners where that one-parameter law is best; NaN for the free law)
    and a_lo, a_hi (the free exponent's range over the corners, on the free law's row).
    A law that wins at most corners is resolved by the grid; a split says "refine the grid".
    """
    ok = table[table["status"] == "ok"]
    k = len(ok)
    if k < 2:
        raise UserError(f"comparing laws needs 2 or more bracketed moduli, got {k}")
    if k > max_moduli:
        raise UserError(f"{k} bracketed moduli make 2^{k} corners; pass max_moduli >= {k} or fewer moduli")
    m = ok["modulus"].to_numpy(float)
    ends = np.stack([ok["lower"].to_numpy(float), ok["upper"].to_numpy(float)])  # (2, k)
    names = [*LAWS, FREE]
    wins = dict.fromkeys(LAWS, 0)
    a = []
    for corner in range(2**k):
        pick = (corner >> np.arange(k)) & 1  # which end of each bracket
        fits = fit_critical_laws(m, ends[pick, np.arange(k)] * m**2)
        wins[fits.loc[fits["best"], "law"].iloc[0]] += 1
        a.append(fits.loc[fits["law"] == FREE, "a"].iloc[0])
    return pd.DataFrame({"law": names,
                         "win_share": [wins[n] / 2**k for n in LAWS] + [np.nan],
                         "a_lo": [np.nan] * len(LAWS) + [min(a)], "a_hi": [np.nan] * len(LAWS) + [max(a)]})
