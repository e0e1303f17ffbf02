"""The lab's early-warning pipeline against ewstools, same inputs and settings, same process.

    .venv/bin/python benchmarks/ews_vs_ewstools.py [--n 20000] [--window 0.25] [--repeats 5]

Two timings, interleaved (lab, ewstools, lab, ewstools, ...) so that load on the machine hits
both alike; the best of --repeats each, as wall time and as CPU time (time.process_time: on a
shared machine it leaves out the time spent waiting for a core, which inflates the longer run
less than the short one's best-of). The RESULT lines carry CPU time:
  end-to-end    Gaussian detrend (bandwidth 0.2, reflect: ewstools' defaults) + six rolling
                indicators (var, std, cv, ac1, skew, kurt) + their Kendall tau against time
  rolling-only  the six indicators of already detrended residuals
The lab's Gaussian detrend keeps its kernel spectrum and mirror indices per (length, bandwidth)
(`_detrend._reflect_plan`), as a surrogate test or a sweep reuses them; best-of timings include
that reuse, and a first call on a new length costs ~0.5 ms more at n = 20,000.
The agreement is printed too (max relative difference of the residuals, of the indicators,
and of tau). Ratios above 1 mean the lab is faster. Without ewstools (`pip install ewstools`,
in the `dev` extra) it says so and exits 0.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads
import ews_speed  # benchmarks/ews_speed.py: the same slowing-down test series

from emergelab.measures import ews

NAMES = {"var": "variance", "std": "std", "cv": "cv", "ac1": "ac1", "skew": "skew", "kurt": "kurtosis"}


def series(n: int, seed: int = 0) -> np.ndarray:
    return ews_speed.series(n, seed, level=100.0)  # positive: ewstools' cv keeps the sign


def lab_end_to_end(x, window, bandwidth):
    df = ews.indicators(x, window=window, bandwidth=bandwidth, bias=False)
    return df, dict(zip(df.columns, ews.kendall_trend_rows(df.to_numpy().T)))  # all six taus at once


def ewstools_end_to_end(ewstools, x, window, bandwidth, detrend=True):
    ts = ewstools.TimeSeries(x)
    if detrend:
        ts.detrend(method="Gaussian", bandwidth=bandwidth)
    for f in (ts.compute_var, ts.compute_std, ts.compute_cv, ts.compute_auto, ts.compute_skew, ts.compute_kurt):
        f(rolling_window=window)
    if detrend:
        ts.compute_ktau()
    return ts


def interleaved(fa, fb, repeats):
    """Best (wall, cpu) seconds of fa and of fb, run in turn."""
    ta, tb = [], []
    for _ in range(repeats):
        for f, out in ((fa, ta), (fb, tb)):
            w0, c0 = time.perf_counter(), time.process_time()
            f()
            out.append((time.perf_counter() - w0, time.process_time() - c0))
    return tuple(min(t[i] for t in ta) for i in (0, 1)), tuple(min(t[i] for t in tb) for i in (0, 1))


def report(label, name, what, lab, ewt):
    (lw, lc), (ew, ec) = lab, ewt
    print(f"{label:13s} wall: lab {lw * 1e3:7.1f} ms, ewstools {ew * 1e3:8.1f} ms, ratio {ew / lw:5.0f}x   "
          f"cpu: lab {lc * 1e3:7.1f} ms, ewstools {ec * 1e3:8.1f} ms, ratio {ec / lc:5.0f}x")  # fmt: skip
    print_result(name, what, lc * 1e3, ec * 1e3, "ms (cpu)")


def rel(a, b) -> float:
    ok = ~np.isnan(b)
    return float(np.abs(a[ok] - b[ok]).max() / np.abs(b[ok]).max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000, help="points in the series")
    ap.add_argument("--window", type=float, default=0.25, help="rolling window, fraction of n (ewstools: 0.25)")
    ap.add_argument("--bandwidth", type=float, default=0.2, help="Gaussian bandwidth, ksmooth units")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    try:
        import ewstools
    except ImportError:
        print("ewstools is not installed: nothing to compare against (pip install ewstools, or the dev extra)")
        return
    warnings.filterwarnings("ignore")  # ewstools' own pandas deprecation warnings

    x = series(args.n)
    resid = ews.detrend(x, bandwidth=args.bandwidth)
    lab_end_to_end(x[:500], args.window, args.bandwidth)  # warm up: first-call imports, FFT plans
    ewstools_end_to_end(ewstools, x[:500], args.window, args.bandwidth)

    df, taus = lab_end_to_end(x, args.window, args.bandwidth)
    ts = ewstools_end_to_end(ewstools, x, args.window, args.bandwidth)
    print(f"series: {args.n} points, window {args.window:.0%}, Gaussian bandwidth {args.bandwidth} (reflect)")
    print(f"agreement: residuals {rel(resid, ts.state['residuals'].to_numpy()):.1e} relative; indicators "
          + ", ".join(f"{k} {rel(df[k].to_numpy(), ts.ews[v].to_numpy()):.1e}" for k, v in NAMES.items())
          + f"; tau max |diff| {max(abs(taus[k] - ts.ktau[v]) for k, v in NAMES.items()):.1e}")  # fmt: skip

    lab, ewt = interleaved(lambda: lab_end_to_end(x, args.window, args.bandwidth),
                           lambda: ewstools_end_to_end(ewstools, x, args.window, args.bandwidth), args.repeats)
    report("end-to-end", "ews_vs_ewstools/end-to-end", f"detrend + 6 indicators + tau, n={args.n}", lab, ewt)
    lab, ewt = interleaved(lambda: ews.rolling(resid, args.window, bias=False),
                           lambda: ewstools_end_to_end(ewstools, resid, args.window, args.bandwidth, False),
                           args.repeats)  # fmt: skip
    report("rolling-only", "ews_vs_ewstools/rolling", f"6 rolling indicators, n={args.n}", lab, ewt)


if __name__ == "__main__":
    main()
