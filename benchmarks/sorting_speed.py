"""Speed of the sorting_cells world against a plain per-cell Python loop and the reference.

    .venv/bin/python benchmarks/sorting_speed.py [--n 100] [--seeds 20] [--repeats 5]

For each algotype, `--seeds` full cell-view sorts of n distinct values (seeds 0..seeds-1):
  engine    the world's simulation alone (initial_state + cell_sort: every cell activated
            once per sweep in seeded random order, the per-swap error trajectory kept)
  world     the whole run(cfg, recorder): the simulation, the replayed (T, n) trajectory
            logged every sweep, its measures, the summary
  plain     a straightforward object-per-cell implementation of the same rules (a Cell class
            with an act() method per policy, a sortedness scan after every change), fed the same random
            draws: it must end in the same array after the same number of sweeps
Printed: ms per run of each (CPU time; wall time in brackets: the machine may be shared), engine
runs/s, the ratio plain/engine, and the implied speed-up over
the public reference (one Python thread per cell; 100 cells took 0.8 s with bubble and 12.9 s
with insertion, SCIENCE.md C1; no time is given for selection, so its ratio uses 0.8 s and is
a lower bound). The target is >= 200x, i.e. <= 4 ms (bubble) and <= 65 ms (insertion) a sort.
Timings: each seed's best of --repeats, averaged over the seeds (other processes on a shared
machine only ever slow a run down); ratios use CPU time, which contention inflates less.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads

from emergelab.lab.recorder import Recorder
from emergelab.lab.registry import get_world
from emergelab.worlds import sorting_cells as S

REFERENCE_S = {"bubble": 0.8, "insertion": 12.9, "selection": 0.8}  # selection: lower bound


class Cell:
    """One cell as an object: value, policy, damage, and (selection) its ideal position."""

    def __init__(self, value: int, kind: str, frozen: int) -> None:
        self.value, self.kind, self.frozen, self.ideal = value, kind, frozen, 0

    def act(self, cells: list, i: int, right: bool) -> bool:
        """Apply the policy at position i; True if the array changed (swap or ideal move)."""
        def swappable(j: int) -> bool:
            return 0 <= j < len(cells) and cells[j].frozen != S.IMMOVABLE

        if self.kind == "bubble":
            j = i + 1 if right else i - 1
            if swappable(j) and (self.value > cells[j].value if right else self.value < cells[j].value):
                cells[i], cells[j] = cells[j], cells[i]
                return True
        elif self.kind == "insertion":
            prev = None
            for c in cells[:i]:                       # the non-frozen cells to my left in order?
                if c.frozen:
                    prev = None
                    continue
                if prev is not None and c.value < prev:
                    return False
                prev = c.value
            if swappable(i - 1) and cells[i - 1].value > self.value:
                cells[i], cells[i - 1] = cells[i - 1], cells[i]
                return True
        elif self.ideal != i and self.ideal < len(cells):
            other = cells[self.ideal]
            if other.frozen == S.IMMOVABLE or self.value >= other.value:
                self.ideal += 1
            else:
                cells[i], cells[self.ideal] = other, self
            return True
        return False


def plain_sort(cfg) -> tuple[list, int]:
    """The same rules, object per cell: (final values, sweeps)."""
    values, kinds, _, damage, rng = S.initial_state(cfg)
    cells = [Cell(v, S.ALGOTYPES[k], d) for v, k, d in zip(values, kinds, damage)]
    by_id = list(cells)                                # cell id = initial position
    active = [i for i, c in enumerate(cells) if not c.frozen]
    draws = S.sweep_draws(rng, active, len(cells), any(kinds[i] == S.BUBBLE for i in active), False)
    sweeps = 0
    while sweeps < cfg.n * cfg.n and any(a.value > b.value for a, b in zip(cells, cells[1:])):
        sweeps += 1
        order, rights = next(draws)
        for cell_id, right in zip(order, rights):
            cell = by_id[cell_id]
            if cell.act(cells, cells.index(cell), right) and all(
                    a.value <= b.value for a, b in zip(cells, cells[1:])):
                break                                  # sorted: stop, as the world does
    return [c.value for c in cells], sweeps


def engine(cfg) -> tuple[list, int]:
    values, kinds, _, damage, rng = S.initial_state(cfg)
    row = S.Row(values, damage, track_bad=S.INSERTION in kinds)
    steps, _ = S.cell_sort(row, kinds, rng, cfg.n * cfg.n, lambda step: None)
    return row.v[1:-1], steps


def world(cfg) -> None:
    S.run(cfg, Recorder(progress=False))


def best_of(f, cfgs, repeats: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) per run: each config's best of `repeats`, averaged over the
    configs. CPU time (time.process_time) is what a run costs; wall time adds whatever else the
    machine is doing. Taking each run's best keeps a busy moment from spoiling a whole pass."""
    cpu, wall = [], []
    for cfg in cfgs:
        c, w = float("inf"), float("inf")
        for _ in range(repeats):
            c0, w0 = time.process_time(), time.perf_counter()
            f(cfg)
            c, w = min(c, time.process_time() - c0), min(w, time.perf_counter() - w0)
        cpu.append(c)
        wall.append(w)
    return float(np.mean(cpu)), float(np.mean(wall))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--plain-seeds", type=int, default=3, help="seeds for the (slow) plain loop")
    args = ap.parse_args()
    w = get_world("sorting_cells")
    print(f"n={args.n} cells, distinct values, no damage; ms per full sort, CPU time (wall in brackets), "
          f"best of {args.repeats} per seed, mean over {args.seeds} seeds (plain: {args.plain_seeds})")
    print(f"{'algotype':10s} {'engine':>15s} {'runs/s':>7s} {'world':>15s} {'plain':>17s} "
          f"{'plain/engine':>12s} {'ref/engine':>11s} {'ref/world':>10s}  target >=200x")
    for algo in S.ALGOTYPES:
        cfgs = [w.make_config("paper", {"n": args.n, "algotypes": (algo,), "seed": s})
                for s in range(args.seeds)]
        for cfg in cfgs[: args.plain_seeds]:       # the same rules: the same end after the same sweeps
            (a, sa), (b, sb) = engine(cfg), plain_sort(cfg)
            assert a == b and sa == sb, f"{algo} seed {cfg.seed}: engine and plain loop disagree"
        eng, wor = best_of(engine, cfgs, args.repeats), best_of(world, cfgs, args.repeats)
        plain = best_of(plain_sort, cfgs[: args.plain_seeds], 2)
        ref = REFERENCE_S[algo]
        bound = ">=" if algo == "selection" else "  "    # no reference time for selection: 0.8 s is a floor
        print(f"{algo:10s} {eng[0] * 1e3:6.2f} ({eng[1] * 1e3:6.2f}) {1 / eng[0]:7.0f} "
              f"{wor[0] * 1e3:6.2f} ({wor[1] * 1e3:6.2f}) {plain[0] * 1e3:7.1f} ({plain[1] * 1e3:7.1f}) "
              f"{plain[0] / eng[0]:11.1f}x {bound}{ref / eng[0]:8.0f}x {bound}{ref / wor[0]:7.0f}x  "
              f"{'ok' if ref / eng[0] >= 200 else 'MISSED'}")
        print_result(f"sorting_speed/{algo}", f"{algo} engine vs per-cell objects, CPU", eng[0] * 1e3,
                     plain[0] * 1e3, "ms/sort")  # fmt: skip
    sweeps = {a: np.mean([engine(w.make_config("paper", {"n": args.n, "algotypes": (a,), "seed": s}))[1]
                          for s in range(args.seeds)]) for a in S.ALGOTYPES}
    print("mean sweeps to sorted: " + ", ".join(f"{a} {m:.0f}" for a, m in sweeps.items()))


if __name__ == "__main__":
    main()
