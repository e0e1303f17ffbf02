"""Recall and false alarms of measures.transitions.detect_transitions on labelled curve families.

    .venv/bin/python benchmarks/transition_recall.py [--per-family 150] [--seed 0] [--quick]
                                                     [--detector OLD_transitions.py]

Families (each curve is drawn from one seeded generator; see FAMILIES):
  jump-logistic, jump-step   one change whose 10-90 % span lies inside the data: any width
                             (one sample spacing .. 40 % of the span), height (1e-3 .. 1e3,
                             either sign), noise (sd 0 .. 10 % of the height), position
  rise-first, drop-first     a change already under way at the first point: a logistic 10-40 %
                             done there and 90 % done within 25 % of the span, or an
                             exponential approach from it that is 10 % done before the second
                             point: it must be reported with censored == "left"
  rise-last                  a change still under way at the last point: censored == "right"
  quiet-*                    no transition: slow exponential and power-law decays (90 % of the
                             fall takes more than half the span), linear drifts, AR(1) noise,
                             random walks, accuracies flat at chance with binomial noise, flat
  world                      the watched curves of every world's quick run
                             (tests/data/transition_curves/*.csv), labelled by eye in LABELS.csv

A jump is recalled when a transition of its sign has its midpoint within max(one 10-90 %
width, 2 sample spacings) of the truth; a censored change also needs the right flag. Precision
is recalled curves / curves with any report. A quiet curve counts when nothing is reported.
Curves are scored with detect_transitions(..., censored=True). The RESULT line compares
the time per curve with one plain logistic least-squares fit.
"""

from __future__ import annotations

import argparse
import csv
import functools
import inspect
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import curve_fit
from scipy.special import expit

from emergelab.measures.transitions import detect_transitions

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "transition_curves"
LN9 = np.log(9.0)
TARGETS = {"jump": 0.95, "rise": 0.9, "drop": 0.9, "quiet": 0.9}  # per family kind
# Each curve: (steps, values, truth). truth is None (quiet) or (sign, midpoint, width, censored).


def _axis(rng):
    # lengths from a short eval log to a long training log; steps start anywhere, any spacing
    n = int(rng.choice([16, 30, 60, 200, 1000]))
    dx = float(rng.choice([1.0, 10.0, 0.01]))
    return n, float(rng.integers(0, 1000)) * dx + np.arange(n) * dx, dx


def _level(rng):
    h = 10.0 ** rng.uniform(-3, 3) * rng.choice([-1.0, 1.0])
    return float(rng.normal(0, 3 * abs(h))), h, abs(h) * float(rng.choice([0.0, 0.01, 0.03, 0.1]))


def jump_logistic(rng):
    n, x, dx = _axis(rng)
    lo, h, sd = _level(rng)
    width = 10 ** rng.uniform(np.log10(dx), np.log10(0.4 * (x[-1] - x[0])))  # 10-90 %
    w = width / (2 * LN9)
    t0 = rng.uniform(x[0] + LN9 * w, x[-1] - LN9 * w)  # 10 % and 90 % points inside
    y = lo + h * expit((x - t0) / w) + rng.normal(0, 1, n) * sd
    return x, y, (np.sign(h), t0, width, None)  # None: near an edge either flag is right


def jump_step(rng):
    n, x, dx = _axis(rng)
    lo, h, sd = _level(rng)
    k = int(rng.integers(2, n - 1))  # at least two samples on each side
    y = lo + h * (np.arange(n) >= k) + rng.normal(0, 1, n) * sd
    return x, y, (np.sign(h), (x[k - 1] + x[k]) / 2, dx, None)


def _first(rng, sign):
    n, x, dx = _axis(rng)
    lo, h, sd = _level(rng)
    h = sign * abs(h)
    span = x[-1] - x[0]
    if rng.random() < 0.5:  # a logistic 10-40 % done at the first point, 90 % done by 0.25 span
        done = rng.uniform(0.1, 0.4)
        z0 = np.log(done / (1 - done))            # (x0 - t0) / w
        w = rng.uniform(dx, 0.25 * span / (LN9 - z0)) if 0.25 * span / (LN9 - z0) > dx else dx
        t0 = x[0] - z0 * w
        # the truth is the 50 % point of the part that was seen, from the level at x[0]
        y, mid = lo + h * expit((x - t0) / w), t0 + w * np.log((1 + done) / (1 - done))
    else:  # an exponential approach from the first point, 10 % done before the second
        tau = rng.uniform(0.3 * dx, min(0.95 * dx / 0.1054, 0.2 * span / np.log(10)))
        y, mid = lo + h * (1 - np.exp(-(x - x[0]) / tau)), x[0] + np.log(2) * tau
    y = y + rng.normal(0, 1, n) * sd
    return x, y, (np.sign(h), mid, max(mid - x[0], dx), "left")


def rise_first(rng):
    return _first(rng, 1.0)


def drop_first(rng):
    return _first(rng, -1.0)


def rise_last(rng):
    x, y, (s, mid, width, _) = _first(rng, float(rng.choice([-1.0, 1.0])))
    # the same shapes, mirrored in time (steps are evenly spaced): still going at the end
    return x, y[::-1], (-s, x[0] + x[-1] - mid, width, "right")


def quiet_exp(rng):
    n, x, dx = _axis(rng)
    lo, h, sd = _level(rng)
    span = x[-1] - x[0]
    tau = rng.uniform(0.5, 3.0) * span / np.log(10)  # 90 % of the fall takes > half the span
    return x, lo + h * np.exp(-(x - x[0]) / tau) + rng.normal(0, 1, n) * sd, None


def quiet_power(rng):
    n, x, dx = _axis(rng)
    lo, h, sd = _level(rng)
    u = (x - x[0]) / (x[-1] - x[0])
    a = rng.uniform(0.2, 2.0)
    # the largest onset scale c whose curve does 90 % of its fall after half the span
    cs = np.geomspace(1e-3, 10, 200)
    f = lambda c: ((1 + 0.5 / c) ** -a - 1) / ((1 + 1 / c) ** -a - 1)  # fall done by u = 0.5
    c = float(rng.choice(cs[f(cs) <= 0.9]))
    return x, lo + h * (1 + u / c) ** -a + rng.normal(0, 1, n) * sd, None


def quiet_linear(rng):
    n, x, dx = _axis(rng)
    lo, h, sd = _level(rng)
    return x, lo + h * (x - x[0]) / (x[-1] - x[0]) + rng.normal(0, 1, n) * sd, None


def quiet_ar1(rng):
    n, x, _ = _axis(rng)
    phi, e = rng.uniform(0.0, 0.95), rng.normal(0, 1, n)
    y = np.empty(n)
    y[0] = e[0] / np.sqrt(1 - phi**2)
    for i in range(1, n):  # a recursion: no vectorised form without scipy.signal
        y[i] = phi * y[i - 1] + e[i]
    lo, h, _ = _level(rng)
    return x, lo + abs(h) * y, None


def quiet_walk(rng):
    n, x, _ = _axis(rng)
    lo, h, _ = _level(rng)
    return x, lo + abs(h) * np.cumsum(rng.normal(0, 1, n)), None


def quiet_chance(rng):
    n, x, _ = _axis(rng)
    p, m = rng.choice([0.001, 0.01, 0.1, 0.5]), int(rng.choice([10, 100, 1000, 10_000]))
    return x, rng.binomial(m, p, n) / m, None


def quiet_flat(rng):
    n, x, _ = _axis(rng)
    lo, _, _ = _level(rng)
    return x, np.full(n, lo), None


FAMILIES = {
    "jump-logistic": jump_logistic, "jump-step": jump_step, "rise-first": rise_first,
    "drop-first": drop_first, "rise-last": rise_last, "quiet-exp-decay": quiet_exp,
    "quiet-power-decay": quiet_power, "quiet-linear": quiet_linear, "quiet-ar1": quiet_ar1,
    "quiet-random-walk": quiet_walk, "quiet-chance-acc": quiet_chance, "quiet-flat": quiet_flat,
}


def world_curves():
    """The quick-run curves: (name, steps, values, truth) with the hand-checked labels."""
    out = []
    if not (DATA / "LABELS.csv").exists():
        return out
    with open(DATA / "LABELS.csv") as fh:
        for row in csv.DictReader(fh):
            steps, values = np.loadtxt(DATA / row["file"], delimiter=",", skiprows=1, unpack=True)
            truth = None if row["sign"] == "0" else (float(row["sign"]), float(row["midpoint"]),
                                                      float(row["tolerance"]), row["censored"])
            out.append((row["file"], steps, values, truth))
    return out


def _with_censored(steps, values):
    return detect_transitions(steps, values, censored=True)


def score(steps, values, truth, detect=_with_censored):
    """(reported anything, correct) for one curve."""
    found = detect(steps, values)
    if truth is None:
        return bool(found), not found
    sign, mid, width, cens = truth
    tol = max(width, 2 * float(np.median(np.diff(steps))))
    ok = any(np.sign(t.height) == sign and abs(t.midpoint - mid) <= tol
             and (cens is None or getattr(t, "censored", "") == cens) for t in found)
    return bool(found), ok


def kind(family: str) -> str:
    return family.split("-")[0] if family != "world" else "world"


def evaluate(per_family: int, seed: int, families=None, detect=_with_censored) -> list[dict]:
    """One row per family: curves, recall (or share quiet), precision, ms per curve."""
    rows = []
    for fi, name in enumerate(families or FAMILIES):
        rng = np.random.default_rng([seed, fi])  # each family its own stream: add one, keep the rest
        cases = [FAMILIES[name](rng) for _ in range(per_family)]
        rows.append(_row(name, [(x, y, t) for x, y, t in cases], detect))
    wc = world_curves()
    if families is None and wc:
        rows.append(_row("world", [(x, y, t) for _, x, y, t in wc], detect))
    return rows


def _row(name, cases, detect):
    t = time.perf_counter()
    res = np.array([score(x, y, tr, detect) for x, y, tr in cases], bool)
    ms = 1e3 * (time.perf_counter() - t) / len(cases)
    labelled = np.array([tr is not None for _, _, tr in cases])
    hits = res[:, 1] & labelled
    return {"family": name, "curves": len(cases), "with_change": int(labelled.sum()),
            "recall": hits.sum() / labelled.sum() if labelled.any() else float("nan"),
            "quiet": res[~labelled, 1].mean() if (~labelled).any() else float("nan"),
            "precision": hits.sum() / res[:, 0].sum() if res[:, 0].any() else float("nan"),
            "ms": ms}


def table(rows) -> str:
    head = f"{'family':<20}{'curves':>7}{'recall':>8}{'quiet':>8}{'precision':>10}{'ms/curve':>9}"
    f = lambda v: "    -" if v != v else f"{v:5.2f}"
    return "\n".join([head] + [f"{r['family']:<20}{r['curves']:>7}{f(r['recall']):>8}{f(r['quiet']):>8}"
                               f"{f(r['precision']):>10}{r['ms']:>9.1f}" for r in rows])


def _plain_fit_ms(n_curves=50, seed=0) -> float:
    # the baseline of the RESULT line: one logistic least-squares fit over the whole curve
    rng = np.random.default_rng(seed)
    cases = [jump_logistic(rng) for _ in range(n_curves)]
    t = time.perf_counter()
    for x, y, _ in cases:
        u = (x - x[0]) / (x[-1] - x[0])
        try:
            curve_fit(lambda u, lo, hi, t0, w: lo + (hi - lo) * expit((u - t0) / w), u, y,
                      p0=[y.min(), y.max(), 0.5, 0.1], maxfev=2000)
        except RuntimeError:
            pass
    return 1e3 * (time.perf_counter() - t) / n_curves


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-family", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="30 curves per family")
    ap.add_argument("--detector", metavar="FILE", help="score the detect_transitions of another "
                    "transitions.py, e.g. an older one from `git show REV:src/emergelab/measures/"
                    "transitions.py > FILE` (one without the censored flag scores no censored hit)")
    a = ap.parse_args()
    detect = _with_censored
    if a.detector:
        import importlib.util

        spec = importlib.util.spec_from_file_location("transitions_under_test", a.detector)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # its dataclasses look their module up there
        spec.loader.exec_module(mod)
        # an older detector has no censored option: it never reports such a change
        detect = (functools.partial(mod.detect_transitions, censored=True)
                  if "censored" in inspect.signature(mod.detect_transitions).parameters
                  else mod.detect_transitions)
    rows = evaluate(30 if a.quick else a.per_family, a.seed, detect=detect)
    print(table(rows), flush=True)
    short = [r["family"] for r in rows if kind(r["family"]) in TARGETS
             and (r["recall"] if kind(r["family"]) != "quiet" else r["quiet"]) < TARGETS[kind(r["family"])]]
    print("below target:", ", ".join(short) or "none")
    from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads

    lab = float(np.mean([r["ms"] for r in rows]))
    print_result("transition_recall", "detect_transitions vs one plain logistic fit, per curve",
                 lab, _plain_fit_ms(), "ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
