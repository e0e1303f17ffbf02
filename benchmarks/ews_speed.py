"""Speed and agreement of the vectorised EWS indicators against per-window loops, same process.

    .venv/bin/python benchmarks/ews_speed.py [--n 20000] [--window 0.25] [--surrogate-n 5000]

Comparisons on the detrended residuals of one series (an AR(1) whose coefficient ramps
from 0.1 to 0.95, on a trend, plus an offset of 1e3 so centring matters):
  loop      plain Python over windows, numpy inside each (var, std, cv, ac1 via np.corrcoef,
            skew, kurt; cv = std of the residuals / |mean of the raw series|, as
            ews.indicators): the max abs difference to ews.rolling must be <= 1e-10
  pandas    Series.rolling(w).apply(lambda s: s.autocorr()), the per-window callback that
            ewstools uses for ac1 (reference only)
  kendall   ews.kendall_trend_rows of the six indicators against scipy.stats.kendalltau per
            row: max |diff| must be <= 1e-12
  surrogate ews.surrogate_test with 100 AR(1) surrogates on a shorter series
Ratios above 1 mean ews.rolling is faster.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads

from emergelab.measures import ews


def loop(x, w, lag=1, level=None) -> dict:
    """The plain reference: each statistic computed window by window; cv's denominator is the
    window mean of `level` (the raw series) when given, as in ews.indicators."""
    level = x if level is None else level
    out = {k: np.full(len(x), np.nan) for k in ews.INDICATORS}
    for i in range(w - 1, len(x)):
        xw = x[i - w + 1 : i + 1]
        d = xw - xw.mean()
        m2 = np.mean(d * d)
        out["var"][i] = xw.var(ddof=1)
        out["std"][i] = xw.std(ddof=1)
        out["cv"][i] = out["std"][i] / abs(level[i - w + 1 : i + 1].mean())
        out["ac1"][i] = np.corrcoef(xw[lag:], xw[:-lag])[0, 1]
        out["skew"][i] = np.mean(d**3) / m2**1.5
        out["kurt"][i] = np.mean(d**4) / m2**2 - 3.0
    return out


def series(n: int, seed: int = 0, level: float = 1e3) -> np.ndarray:
    """An AR(1) slowing down towards its end, on a slow wave around `level`."""
    phi = np.linspace(0.1, 0.95, n)  # slowing down towards the end
    e = np.random.default_rng(seed).standard_normal(n)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi[t] * x[t - 1] + e[t]
    return level + 5.0 * np.sin(np.linspace(0, 3, n)) + x


def best_of(f, repeats: int, clock=time.perf_counter) -> float:
    times = []
    for _ in range(repeats):
        t0 = clock()
        f()
        times.append(clock() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000, help="points in the series")
    ap.add_argument("--window", type=float, default=0.25, help="rolling window, fraction of n")
    ap.add_argument("--surrogate-n", type=int, default=5_000, help="points in the surrogate-test series")
    ap.add_argument("--surrogates", type=int, default=100)
    ap.add_argument("--skip-pandas", action="store_true", help="skip the slow pandas callback")
    args = ap.parse_args()

    x = series(args.n)
    bw = 0.2  # gaussian detrending bandwidth of the residuals; ews.indicators gets the same
    resid = ews.detrend(x, "gaussian", bandwidth=bw)
    w = int(args.window * args.n + 1e-9)
    print(f"series: {args.n} points, window {w} ({args.window:.0%}), residuals of a gaussian detrend")

    fast = ews.rolling(resid, w)
    # cv = std of the residuals / |mean of the raw series|
    fast["cv"] = ews.indicators(x, window=args.window, bandwidth=bw)["cv"].to_numpy()
    t_fast = best_of(lambda: ews.rolling(resid, w), 5)
    t_ind = best_of(lambda: ews.indicators(x, window=args.window, bandwidth=bw), 3)
    t0 = time.perf_counter()
    ref = loop(resid, w, level=x)
    t_loop = time.perf_counter() - t0
    diffs = {k: float(np.nanmax(np.abs(fast[k] - ref[k]))) for k in ews.INDICATORS}
    worst = max(diffs.values())
    print("max |rolling - loop|: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    print(f"rolling (6 indicators)  {t_fast * 1e3:8.1f} ms")
    print(f"indicators (+ detrend)  {t_ind * 1e3:8.1f} ms")
    print(f"per-window numpy loop   {t_loop * 1e3:8.1f} ms   ratio loop/rolling = {t_loop / t_fast:,.0f}x")
    assert worst <= 1e-10, f"rolling disagrees with the loop by {worst:.2e}"
    print_result("ews_speed/loop", f"ews.rolling vs per-window numpy loop, n={args.n}", t_fast * 1e3, t_loop * 1e3,
                 "ms")  # fmt: skip

    if not args.skip_pandas:
        import pandas as pd

        t_ac1 = best_of(lambda: ews.rolling(resid, w, which="ac1"), 5)
        t0 = time.perf_counter()
        pd_ac1 = pd.Series(resid).rolling(w).apply(lambda s: s.autocorr(1), raw=False).to_numpy()
        t_pd = time.perf_counter() - t0
        d = float(np.nanmax(np.abs(pd_ac1 - fast["ac1"])))
        print(f"ac1 only: rolling {t_ac1 * 1e3:.1f} ms; pandas rolling.apply(autocorr) {t_pd:.2f} s "
              f"(ratio {t_pd / t_ac1:,.0f}x, max |diff| {d:.1e})")  # fmt: skip
        print_result("ews_speed/pandas-ac1", "rolling ac1 vs pandas rolling.apply", t_ac1 * 1e3, t_pd * 1e3, "ms")

    from scipy import stats  # tau of the six indicators against time, as ews.indicators' users do

    A = np.stack([fast[k][w - 1 :] for k in ews.INDICATORS])  # (6, n - w + 1)
    cpu = time.process_time  # CPU time: waiting for a core on a shared machine left out
    t_tau = best_of(lambda: ews.kendall_trend_rows(A), 10, cpu)
    t_sc = best_of(lambda: [stats.kendalltau(np.arange(A.shape[1]), r) for r in A], 3, cpu)
    d = float(np.max(np.abs(ews.kendall_trend_rows(A) - [stats.kendalltau(np.arange(A.shape[1]), r).statistic
                                                          for r in A])))  # fmt: skip
    print(f"Kendall tau of 6 indicators (cpu): kendall_trend_rows {t_tau * 1e3:.1f} ms; scipy.stats.kendalltau "
          f"{t_sc * 1e3:.1f} ms (ratio {t_sc / t_tau:,.1f}x, max |diff| {d:.1e})")  # fmt: skip
    assert d <= 1e-12, f"Kendall tau disagrees with scipy by {d:.2e}"
    print_result("ews_speed/kendall", "kendall_trend_rows vs scipy.stats.kendalltau, 6 rows", t_tau * 1e3,
                 t_sc * 1e3, "ms (cpu)")  # fmt: skip

    xs = series(args.surrogate_n, seed=1)
    ews.surrogate_test(xs[:200], n=5)  # warm up: first-call imports (pandas) are not the method's cost
    t0 = time.perf_counter()
    tests = ews.surrogate_test(xs, n=args.surrogates, which=("var", "ac1"))
    t_sur = time.perf_counter() - t0
    print(f"surrogate_test: {args.surrogates} AR(1) surrogates of {args.surrogate_n} points, window 50%: "
          f"{t_sur:.2f} s")  # fmt: skip
    print(tests.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
