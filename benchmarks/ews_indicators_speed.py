"""Speed and agreement of the entropy, DFA, spectral and multivariate EWS against per-window
baselines, same process.

    .venv/bin/python benchmarks/ews_indicators_speed.py [--n 4000] [--window 0.25] [--skip-ewstools]

Baselines (each the way a per-window tool computes it: numpy inside a Python loop over windows):
  sampen    per window: the (w-m) x (w-m) Chebyshev distance matrices, as EntropyHub's SampEn
  permen    per window: ordinal patterns by argsort, counted with np.unique
  dfa       pandas rolling(w).apply(ewstools.helpers.dfa), as ewstools' compute_dfa
  spectral  ewstools TimeSeries.compute_spectrum + compute_spec_type (scipy welch + lmfit fits)
  cov       per window: np.cov, then np.linalg.eigvalsh
Agreement (max abs difference) is printed next to each; spectral prints how often the two
pick the same best form instead (different optimisers, see ews_spectral's docstring).
Ratios above 1 mean the lab is faster.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads

from emergelab.measures import ews_entropy as E
from emergelab.measures import ews_multi as M
from emergelab.measures import ews_spectral as S


def timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def sampen_window(s, m=2, r=0.2):
    rr, T = r * s.std(), len(s) - m
    emb = np.lib.stride_tricks.sliding_window_view(s, m + 1)[:T]
    d_m = np.abs(emb[:, None, :m] - emb[None, :, :m]).max(-1)
    d_m1 = np.maximum(d_m, np.abs(emb[:, None, m] - emb[None, :, m]))
    iu = np.triu_indices(T, 1)
    B, A = np.sum(d_m[iu] <= rr), np.sum(d_m1[iu] <= rr)
    return -np.log(A / B) if A and B else np.nan


def permen_window(s, order=3):
    emb = np.lib.stride_tricks.sliding_window_view(s, order)
    _, c = np.unique(np.argsort(emb, axis=1, kind="stable"), axis=0, return_counts=True)
    p = c / c.sum()
    return -(p * np.log(p)).sum() / np.log(float(np.prod(range(1, order + 1))))


def per_window(f, x, w):
    out = np.full(len(x), np.nan)
    for e in range(w - 1, len(x)):
        out[e] = f(x[e - w + 1 : e + 1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--window", type=float, default=0.25)
    ap.add_argument("--entropy-window", type=int, default=100, help="samples; SampEn is O(n w^2)")
    ap.add_argument("--ewstools-n", type=int, default=1500, help="points for the (slow) ewstools baselines")
    ap.add_argument("--skip-ewstools", action="store_true")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(a.n).cumsum() * 0.05 + rng.standard_normal(a.n)
    w, we = int(a.window * a.n), a.entropy_window

    cases = (("sampen", lambda: E.sample_entropy(x, window=we), lambda: per_window(sampen_window, x, we)),
             ("permen", lambda: E.permutation_entropy(x, window=w), lambda: per_window(permen_window, x, w)))
    for name, lab, base in cases:
        (got, t_lab), (want, t_base) = timed(lab), timed(base)
        print(f"{name}: max |diff| {np.nanmax(np.abs(got - want)):.1e}")
        print_result(f"ews_{name}", "per-window numpy loop", t_lab, t_base, "s")

    X = np.c_[x, x[::-1], np.roll(x, 7)]
    cov, t_lab = timed(lambda: M.covariance_spectrum(M.rolling_covariance(X, w)))
    want, t_base = timed(lambda: np.array([np.linalg.eigvalsh(np.cov(X[e - w + 1 : e + 1].T))[-1]
                                           for e in range(w - 1, a.n)]))  # fmt: skip
    print(f"cov eig1: max rel diff {np.max(np.abs(cov[0][w - 1 :] - want) / want):.1e}")
    print_result("ews_cov_eig1", "per-window np.cov + eigvalsh", t_lab, t_base, "s")

    if a.skip_ewstools:
        return
    import pandas as pd
    from ewstools import TimeSeries, helpers

    xs = x[: a.ewstools_n]  # ewstools' loops take minutes on the full series
    ws = int(a.window * len(xs))
    got, t_lab = timed(lambda: E.dfa(xs, window=ws))
    want, t_base = timed(lambda: pd.Series(xs).rolling(ws).apply(helpers.dfa, raw=True).to_numpy())
    print(f"dfa ({len(xs)} points): max |diff| {np.nanmax(np.abs(got - want)):.1e}")
    print_result("ews_dfa", "ewstools compute_dfa (pandas rolling apply)", t_lab, t_base, "s")

    lab, t_lab = timed(lambda: S.spectral_ews(xs, window=a.window, step=20))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = TimeSeries(pd.Series(xs, index=np.arange(len(xs))))

        def ewst():
            ts.compute_spectrum(rolling_window=a.window, pspec_roll_offset=20)
            ts.compute_smax()
            ts.compute_spec_type()
        _, t_base = timed(ewst)
    same = np.mean(lab[["w_fold", "w_hopf", "w_null"]].to_numpy().argmax(1)
                   == ts.ews_spec[["fold", "hopf", "null"]].to_numpy().argmax(1))  # fmt: skip
    dsmax = np.max(np.abs(lab.smax.to_numpy() - ts.ews_spec.smax.to_numpy()))
    print(f"spectral ({len(lab)} windows): smax max |diff| {dsmax:.1e}, same best form {same:.0%}")
    print_result("ews_spectral", "ewstools compute_spectrum + compute_spec_type", t_lab, t_base, "s")


if __name__ == "__main__":
    main()
