"""Forecasting a model family end to end, and the sampling budget PassUntil saves.

    .venv/bin/python benchmarks/forecast_speed.py [--items 10000] [--plain-items 500] [--quick]

1. A synthetic family of --items items x 8 models (four item clusters with known laws, 100
   samples per item and model), forecast of the largest model from the 7 smaller ones with each
   method (cod, passuntil, powerlaw), each timed; the leave-largest-out errors are printed.
2. The per-item PassUntil law PU(N) = exp(-c N^-alpha): passuntil.task_scaling_fit (one
   vectorised regression over all items) against a plain per-item Python loop of
   scipy.optimize.curve_fit on the same law, on --plain-items items and scaled linearly to
   --items (the loop's cost is per item). Both must agree on alpha to 1e-4 for the fitted items.
3. Sampling budget for a target relative error over items whose pass rates spread
   log-uniformly over [1e-5, 1e-1]: the rms of (p_hat - p)/p in every decade of p must be at
   most the target (every item resolved, not just the common ones). PassUntil needs r passes
   per item, whatever its p; fixed-K sampling must pick one K for all, set by the rarest items.
   The smallest r and the smallest K (on a grid) that reach the target are found by
   simulation; the RESULT line compares their mean draws per item (unit "draws"; ratio = fixed-K / PassUntil).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads
from scipy.optimize import curve_fit

from emergelab.measures.forecast import METHODS, backtest, forecast
from emergelab.measures.passuntil import sample_until, task_scaling_fit

SIZES = np.logspace(7, 10, 8)
LAWS = [(0.3, 0.5, 0.05), (3.0, 1.0, 0.0), (40.0, 1.2, 0.0), None]  # as in tests/unit/test_cod.py


def family(n_items: int, seed: int = 0, n_samples: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    share = np.array([0.35, 0.25, 0.25, 0.15])
    n_per = np.diff(np.round(np.r_[0, np.cumsum(share)] * n_items).astype(int))
    ps = []
    for law, n in zip(LAWS, n_per):
        if law is None:
            ps.append(np.zeros((n, 8)))
            continue
        a, b, c = law
        ps.append(np.exp(-a * np.exp(rng.normal(0, 0.1, n))[:, None] * (SIZES / 1e8)[None] ** -b - c))
    p = np.vstack(ps)
    n = len(p)
    return pd.concat([pd.DataFrame({"model": f"m{j}", "params": SIZES[j], "item": np.arange(n),
                                    "correct": (rng.random(n) < p[:, j]).astype(float),
                                    "n_samples": n_samples, "n_pass": rng.binomial(n_samples, p[:, j])})
                      for j in range(8)], ignore_index=True)  # fmt: skip


def plain_loop(sizes, pu):
    """The plain baseline: curve_fit of exp(-c N^-alpha) per item, in log c for conditioning."""
    ln = np.log(sizes)
    alphas = np.full(len(pu), np.nan)
    for i, y in enumerate(pu):
        ok = (y > 0) & (y < 1)
        if ok.sum() < 2:
            continue
        f = lambda x, lc, a: np.log(-np.log(np.exp(-np.exp(lc - a * x))))  # noqa: E731
        try:
            (lc, a), _ = curve_fit(f, ln[ok], np.log(-np.log(y[ok])), p0=[10.0, 0.5])
        except RuntimeError:
            continue
        alphas[i] = a
    return alphas


def budgets(n_items: int, target: float, seed: int = 0):
    """(r, mean PassUntil draws, K, fixed-K draws) reaching rms relative error <= target."""
    rng = np.random.default_rng(seed)
    p = 10 ** rng.uniform(-5, -1, n_items)

    decade = np.floor(np.log10(p)).astype(int)  # judged per decade of p: every item must be resolved

    def rel(est):
        sq = ((est - p) / p) ** 2
        return float(np.sqrt(np.max(np.bincount(decade + 5, sq) / np.maximum(np.bincount(decade + 5), 1))))

    for r in range(2, 200):
        s, k = sample_until(p, r, 10**9, rng)
        if rel(s / k) <= target:
            break
    pu_draws = float(k.mean())
    for K in np.unique(np.round(np.logspace(2, 9, 141)).astype(np.int64)):
        if rel(rng.binomial(K, p) / K) <= target:
            break
    return r, pu_draws, int(K), float(K)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10000)
    ap.add_argument("--plain-items", type=int, default=500, help="items the curve_fit loop runs on")
    ap.add_argument("--budget-items", type=int, default=2000)
    ap.add_argument("--rel-error", type=float, default=0.3)
    ap.add_argument("--quick", action="store_true", help="1000 items, 100 for the loop")
    a = ap.parse_args()
    if a.quick:
        a.items, a.plain_items, a.budget_items = 1000, 100, 500

    df = family(a.items)
    small = df[df["params"] < SIZES[-1]]
    print(f"family: {a.items} items x 8 models; forecast of the largest from the 7 smaller")
    for m in METHODS:
        t0 = time.perf_counter()
        out = forecast(small, SIZES[-1], method=m, n_boot=50)
        print(f"  {m:10s} {time.perf_counter() - t0:7.2f} s   predicted {out['predicted']:.4f}")
    bt = backtest(df, n_boot=50)
    print(bt[["method", "predicted", "actual", "abs_error"]].to_string(index=False))

    pu = (df["n_pass"] / df["n_samples"]).to_numpy().reshape(8, -1).T  # (n_items, 8)
    t0 = time.perf_counter()
    fit = task_scaling_fit(SIZES, pu)
    lab = time.perf_counter() - t0
    t0 = time.perf_counter()
    plain = plain_loop(SIZES, pu[: a.plain_items])
    base = (time.perf_counter() - t0) * a.items / a.plain_items
    both = np.isfinite(plain) & fit.fitted[: a.plain_items]
    diff = float(np.max(np.abs(plain[both] - fit.alpha[: a.plain_items][both])))
    print(f"per-item PassUntil law on {a.items} items: vectorised {lab:.4f} s, curve_fit loop "
          f"{base:.2f} s (measured on {a.plain_items}, scaled); max |alpha diff| {diff:.2e}")
    assert diff < 1e-4, "vectorised and curve_fit fits disagree"
    print_result("forecast_speed", "per-item PassUntil law fit vs curve_fit loop", lab, base, "s")

    r, pu_draws, K, fixed = budgets(a.budget_items, a.rel_error)
    print(f"budget for rms relative error <= {a.rel_error} in every decade of p in [1e-5, 1e-1]: "
          f"PassUntil r={r}, "
          f"{pu_draws:,.0f} draws/item; fixed K={K:,} draws/item; ratio {fixed / pu_draws:.1f}x")
    print_result("passuntil_budget", f"draws/item for rel. error {a.rel_error}: PassUntil vs fixed K",
                 pu_draws, fixed, "draws")  # fmt: skip


if __name__ == "__main__":
    main()
