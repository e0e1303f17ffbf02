"""Generations per second of the GARD world against a plain Gillespie loop, same process.

    .venv/bin/python benchmarks/gard_speed.py [--generations 2000] [--plain-generations 300] [--seed 0]

Same chemistry (beta ~ lognormal(-4, 4), 100 types, kf=0.01, kb=1e-4, split at 100), the
same model event by event:
  world      gard.lineage: rates kept up to date with one (2, T) vector addition per event
             (P = N + beta n, Q = kf rho N + kb n; rate of type i = P_i Q_i / N), one
             running sum and one binary search to pick the event
  world+rec  the whole run(cfg, Recorder) of the lineage: logging, similarity, non-drift
             generations and compotypes under both rules included (no Price population)
  plain      the textbook loop: per event recompute c = 1 + beta @ n / N, the 2T join and
             leave rates, their cumsum, and pick the event by searchsorted
  choice     the same with rng.choice(2T, p=rates / R) picking the event
SCIENCE C2 checked: 2,000 generations in about 1.6 s. Last, the wall time of whole runs of the
paper preset (the authors' 500 generations, both compotype rules, the Price population) and
of the quick preset, as `emergelab run gard [-p quick]` does them. Ratios above 1 mean the world is
faster. Events per generation are printed for each: the loops sample the same process, so
these agree to within noise (they use different random streams).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads

from emergelab.lab.recorder import Recorder
from emergelab.lab.registry import get_world
from emergelab.worlds import gard


def plain(beta, kf, kb, n0, generations, n_max, rng, choice=False) -> float:
    """The plain loop; returns the mean number of events per generation."""
    T = len(beta)
    rho = np.full(T, 1.0 / T)
    n, events = n0.copy(), 0
    for _ in range(generations):
        t = 0.0
        while n.sum() < n_max:
            N = n.sum()
            c = 1.0 + beta @ n / N  # (T,)
            rates = np.concatenate([kf * rho * N * c, kb * n * c])  # (2T,) joins, then leaves
            R = rates.sum()
            t += rng.exponential(1.0 / R)
            if choice:
                e = rng.choice(2 * T, p=rates / R)
            else:
                e = int(np.searchsorted(np.cumsum(rates), rng.random() * R, side="right"))
            if e < T:
                n[e] += 1
            else:
                n[e - T] -= 1
            events += 1
        n = rng.multivariate_hypergeometric(n, n_max // 2)
    return events / generations


def timed(f):
    t0 = time.perf_counter()
    out = f()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generations", type=int, default=2000)
    ap.add_argument("--plain-generations", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    w = get_world("gard")
    cfg = w.make_config("paper", {"seed": a.seed, "generations": a.generations, "price_windows": 0})
    rng = np.random.default_rng(a.seed)
    chem = gard.draw_chemistry(cfg, rng)
    n0 = np.bincount(rng.integers(cfg.n_types, size=cfg.seed_molecules), minlength=cfg.n_types)

    def world():
        ev = [e for _, e, _ in gard.lineage(chem, n0, a.generations, cfg.n_max, np.random.default_rng(1))]
        return float(np.mean(ev))

    rows = [("world", a.generations, *timed(world)),
            ("world+rec", a.generations, *timed(lambda: w.run(cfg, Recorder(progress=False)))),
            ("plain", a.plain_generations,
             *timed(lambda: plain(chem.beta, cfg.kf, cfg.kb, n0, a.plain_generations, cfg.n_max,
                                  np.random.default_rng(1)))),
            ("choice", a.plain_generations,
             *timed(lambda: plain(chem.beta, cfg.kf, cfg.kb, n0, a.plain_generations, cfg.n_max,
                                  np.random.default_rng(1), choice=True)))]
    rate = {name: g / s for name, g, s, _ in rows}
    print(f"GARD, {cfg.n_types} types, split at {cfg.n_max}, seed {a.seed}")
    print(f"{'loop':<10} {'generations':>11} {'seconds':>8} {'gen/s':>8} {'events/gen':>10} "
          f"{'world ratio':>11}")
    for name, g, s, ev in rows:
        ev_txt = f"{ev:10.1f}" if ev is not None else f"{'':>10}"
        print(f"{name:<10} {g:>11} {s:8.3f} {rate[name]:8.0f} {ev_txt} {rate['world'] / rate[name]:11.1f}")
    print(f"2,000 generations: world {2000 / rate['world']:.2f} s (SCIENCE checked: ~1.6 s), "
          f"world+rec {2000 / rate['world+rec']:.2f} s, plain {2000 / rate['plain']:.1f} s")
    for preset in ("paper", "quick"):
        cfg_p = w.make_config(preset, {"seed": a.seed})
        s, _ = timed(lambda: w.run(cfg_p, Recorder(progress=False)))
        print(f"{preset} preset, whole run ({cfg_p.generations} generations, "
              f"{cfg_p.price_burn_in + cfg_p.price_windows} Price windows): {s:.2f} s")
    for lab in ("world", "world+rec"):
        print_result(f"gard_speed/{lab}", f"GARD {lab} vs plain Gillespie loop", 1e3 / rate[lab],
                     1e3 / rate["plain"], "ms/generation")  # fmt: skip


if __name__ == "__main__":
    main()
