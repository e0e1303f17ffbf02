"""Speed of the sorting_cells world against one thread per cell, as the reference runs it.

    .venv/bin/python benchmarks/sorting_speed.py [--n 100] [--repeats 7] [--plain-seeds 3] [--quick]

The reference (Zhang, Goldstein & Levin, github.com/Zhangtaining/cell_research) runs one
Python thread per cell. Its times are not typed in here: benchmarks/_threaded_cells.py is a
sorter written with the same cost structure (one thread per cell looping its move under one
shared lock, a group thread checking order every 50 ms, a main thread polling "sorted?" every
0.1 ms, the whole array copied into a probe on every swap; see that module), and it is timed in
the same run as the lab, on the same machine, under the same load.

For each algotype (bubble, insertion, selection; --n cells, default 100 as in SCIENCE.md C1,
distinct values, no damage), --repeats timed rounds, interleaved: round r (seed r) times
  lab       the whole world run through the registry, run(cfg, recorder) with the `paper`
            preset: the sort, the (T, n) trajectory logged every sweep, its measures and the
            summary; the mean of --lab-runs back-to-back runs (a run takes milliseconds)
  threads   one thread-per-cell sort of a random permutation of n values drawn from seed r
            (numpy default_rng; the cells' coin flips come from per-cell generators seeded
            from r), from creating the threads until the main thread has seen the row sorted
            and stopped them
  plain     (rounds r < --plain-seeds) a straightforward object-per-cell loop of the same rules
            (a Cell class with an act() method per policy, a sortedness scan after every
            change), fed the world's own random draws (initial_state, sweep_draws): checked here
            to end sorted after as many sweeps as the world (sweep activation only)
Printed per algotype: the min and the median over the rounds of each, as CPU time of the whole
process (all threads; wall time in brackets: the machine may be shared), the ratios
threads / lab of the minima and of the medians (and, as (wall), of the wall-time medians),
plain / lab of the medians, and the swaps per sort (bubble and insertion swap only adjacent
inversions, so the world and the threads must both make exactly as many swaps as the array has
inversions). RESULT lines (run_all.py), medians, CPU: sorting_speed/<algotype> (threads) and
sorting_speed/<algotype>/plain.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads
from _threaded_cells import threaded_sort  # benchmarks/_threaded_cells.py: the thread-per-cell baseline

from emergelab.lab.recorder import Recorder
from emergelab.lab.registry import get_world
from emergelab.worlds import sorting_cells as S

QUICK = {"n": 30, "repeats": 3, "lab_runs": 2, "plain_seeds": 1}


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


def inversions(values: list[int]) -> int:
    return sum(a > b for i, a in enumerate(values) for b in values[i + 1 :])


def time_lab(world, cfg, runs: int) -> tuple[float, float, dict]:
    """(CPU s, wall s) per run, the mean of `runs` back-to-back runs; and the last run's summary."""
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(runs):
        rec = Recorder(progress=False)
        world.run(cfg, rec)
    return (time.process_time() - c0) / runs, (time.perf_counter() - w0) / runs, rec.summary


def time_plain(cfg) -> tuple[float, float, list, int]:
    c0, w0 = time.process_time(), time.perf_counter()
    final, sweeps = plain_sort(cfg)
    return time.process_time() - c0, time.perf_counter() - w0, final, sweeps


def min_med(xs: list[float]) -> tuple[float, float]:
    return min(xs), statistics.median(xs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100, help="cells (the reference's size: 100)")
    ap.add_argument("--repeats", type=int, default=7, help="timed rounds per algotype (seeds 0..repeats-1)")
    ap.add_argument("--lab-runs", type=int, default=5, help="world runs averaged in each lab timing")
    ap.add_argument("--plain-seeds", type=int, default=3, help="rounds that also time the (slow) plain loop")
    ap.add_argument("--activation", help="the world's activation mode (default: the paper preset's); "
                    "the plain loop follows sweep only and is skipped otherwise")  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="a check that it runs, in seconds: "
                    f"n={QUICK['n']}, {QUICK['repeats']} rounds, {QUICK['plain_seeds']} with the plain loop")
    ap.add_argument("--seeds", type=int, help=argparse.SUPPRESS)  # an older option: now --repeats
    args = ap.parse_args()
    if args.quick:
        args.n, args.repeats, args.lab_runs, args.plain_seeds = (
            QUICK["n"], QUICK["repeats"], QUICK["lab_runs"], QUICK["plain_seeds"])  # fmt: skip
    if args.repeats < 1 or args.lab_runs < 1 or args.plain_seeds < 0 or args.n < 2:
        ap.error("need --repeats >= 1, --lab-runs >= 1, --plain-seeds >= 0 and --n >= 2")
    if args.seeds is not None:
        print("(--seeds is no longer used: --repeats rounds use seeds 0..repeats-1)")

    world = get_world("sorting_cells")
    extra = {"activation": args.activation} if args.activation else {}
    plain_on = args.plain_seeds > 0 and world.make_config("paper", extra).activation == "sweep"
    n_plain = min(args.plain_seeds, args.repeats) if plain_on else 0
    # warm-up, untimed: imports, first calls, the thread machinery
    time_lab(world, world.make_config("paper", {"n": args.n, "seed": 0, **extra}), 1)
    threaded_sort(list(range(10, 0, -1)), "bubble", 0)

    print(f"n={args.n} cells, distinct values, no damage; ms per sort, CPU time of the process (wall in "
          f"brackets); min and median over {args.repeats} interleaved rounds, seeds 0..{args.repeats - 1} "
          f"(plain: {n_plain}). lab: the world's run via the registry, `paper` preset"
          f"{', activation=' + args.activation if args.activation else ''}, mean of {args.lab_runs} runs "
          "per round; threads: one thread per cell, the reference's cost structure; "
          "plain: object-per-cell loop")
    head = (f"{'algotype':10s} {'lab min':>16s} {'lab median':>16s} {'threads min':>18s} "
            f"{'threads median':>18s} {'threads/lab min':>15s} {'median':>7s} {'(wall)':>7s} "
            f"{'plain median':>18s} {'plain/lab':>9s}  swaps lab / threads")
    print(head)
    print("-" * len(head))
    for algo in S.ALGOTYPES:
        lab_c, lab_w, thr_c, thr_w, pl_c, pl_w, lab_swaps, thr_swaps = [], [], [], [], [], [], [], []
        for seed in range(args.repeats):
            cfg = world.make_config("paper", {"n": args.n, "algotypes": (algo,), "seed": seed, **extra})
            c, w, summary = time_lab(world, cfg, args.lab_runs)
            lab_c.append(c)
            lab_w.append(w)
            lab_swaps.append(summary.get("swaps", float("nan")))
            if not summary.get("sorted", True):
                raise SystemExit(f"{algo} seed {seed}: the world stopped unsorted; "
                                 "its time would mean nothing")
            values = np.random.default_rng(seed).permutation(args.n).tolist()
            out, probe, c, w = threaded_sort(values, algo, seed)
            if out != sorted(values):
                raise SystemExit(f"{algo} seed {seed}: the threaded baseline did not sort")
            if algo != "selection" and probe.swaps != inversions(values):
                raise SystemExit(f"{algo} seed {seed}: the threaded baseline made {probe.swaps} swaps for "
                                 f"{inversions(values)} inversions")  # fmt: skip
            thr_c.append(c)
            thr_w.append(w)
            thr_swaps.append(probe.swaps)
            if seed < n_plain:
                c, w, final, sweeps = time_plain(cfg)
                if final != sorted(final) or sweeps != summary.get("steps", sweeps):
                    raise SystemExit(f"{algo} seed {seed}: the plain loop ended after {sweeps} sweeps "
                                     f"(world: {summary.get('steps')}), sorted: {final == sorted(final)}")
                pl_c.append(c)
                pl_w.append(w)
        (lc, lcm), (lw, lwm) = min_med(lab_c), min_med(lab_w)
        (tc, tcm), (tw, twm) = min_med(thr_c), min_med(thr_w)
        plain = "-"
        if pl_c:
            pcm, pwm = statistics.median(pl_c), statistics.median(pl_w)
            plain = f"{pcm * 1e3:8.1f} ({pwm * 1e3:7.1f}) {pcm / lcm:8.1f}x"
        print(f"{algo:10s} {lc * 1e3:7.2f} ({lw * 1e3:6.2f}) {lcm * 1e3:7.2f} ({lwm * 1e3:6.2f}) "
              f"{tc * 1e3:8.0f} ({tw * 1e3:7.0f}) {tcm * 1e3:8.0f} ({twm * 1e3:7.0f}) "
              f"{tc / lc:14.0f}x {tcm / lcm:6.0f}x {twm / lwm:6.0f}x {plain:>29s}  "
              f"{np.mean(lab_swaps):.0f} / {np.mean(thr_swaps):.0f}")
        print_result(f"sorting_speed/{algo}", f"{algo}: world run vs a thread per cell (as the reference), "
                     f"n = {args.n}, median CPU", lcm * 1e3, tcm * 1e3, "ms/sort")  # fmt: skip
        if pl_c:
            print_result(f"sorting_speed/{algo}/plain", f"{algo}: world run vs per-cell objects, "
                         f"n = {args.n}, median CPU", lcm * 1e3, pcm * 1e3, "ms/sort")  # fmt: skip
    print("ratios: the other's time / the lab's (above 1: the lab is faster)")


if __name__ == "__main__":
    main()
