"""Self-sorting arrays: classical sorting algorithms run bottom-up, by the elements themselves.

Effect: when every element ("cell") of an array runs its own sorting policy, the array sorts
itself without a controller and shows competencies no rule spells out: it sorts around frozen
(damaged) cells further than the top-down algorithm with the same damage; it gives up progress
for a while to get round a defect and regains more (delayed gratification); and in chimeric
arrays, whose cells run one of two or three policies ("algotypes"), cells of one algotype
cluster mid-sort (aggregation rises above its random-mixing level ~0.5) and disperse again as
the array sorts, although no rule mentions algotypes.

Paper: T. Zhang, A. Goldstein, M. Levin (2024), "Classical Sorting Algorithms as a Model of
Morphogenesis: self-sorting arrays reveal unexpected competencies in a minimal model of basal
intelligence". Reference code: github.com/Zhangtaining/cell_research (one thread per cell).

Cell view (mode="cell"). Cells take turns, one at a time, and apply their policy to the array
as it is at that moment (the reference's threads take turns on one lock; here the turns are
seeded). One step is as many turns as there are working cells, scheduled by `activation`:
  sweep   every working cell once, in an order drawn afresh each step;
  random  turns drawn with replacement (a cell may act twice in a step, or not at all);
  burst   as random, but a drawn cell keeps its turn for a geometric number of turns with mean
          burst_mean, as a reference thread keeps the lock (and the interpreter) for a stretch:
          there the same cell makes ~60-70% of consecutive swaps, here 0-5% under sweep and
          random (summary same_mover_fraction; burst_mean=1 is random).
The policies (as the reference's, checked move for move in tests/unit/test_sorting_reference.py):
  bubble     picks its left or right neighbour (p = 0.5) and swaps if the two are out of order.
  insertion  if the non-frozen cells to its left are in order (compared between frozen cells:
             a frozen cell restarts the comparison), swaps with its left neighbour if larger.
  selection  keeps an ideal position, from 0; swaps directly with the cell there if that one is
             larger, otherwise moves the ideal position one to the right. A frozen cell there
             moves the ideal position on in any case (and is swapped too if it is larger and
             movable). At its ideal position it rests.
Frozen cells are never activated. Movable ones can still be swapped by others' policies;
immovable ones never move (the reference's frozen cells are movable; its immovable variant is a
commented-out test in its swap). A run stops when the array is sorted (checked after every swap),
at a true fixed point (no working cell can act: checked after a step without change, over all
cells, since with draws with replacement some cells get no turn), or after max_steps steps.

Top-down (mode="topdown"): the textbook algorithm of algotypes[0], one step per outer iteration
(bubble: a pass with shrinking bound; insertion: inserting element i; selection: putting the
minimum of a[i:] at i), n - 1 steps at most, within the same budget. It meets the same damage as
swaps that fail unnoticed: a swap fails if it would move an immovable element, or if the element
being carried (bubble: the larger of the pair; insertion: the key; selection: the minimum found)
is frozen; a movable frozen element can still be displaced. Bubble and insertion, top-down or
not, can only sort each stretch between immovable cells; selection, which swaps at a distance,
works round them in the cell view; top-down it gets stuck when the minimum it finds is frozen.

Logged at step 0, every log_every steps and at the end (measures.sorting on the replayed rows):
sort/sortedness, sort/monotonicity_error, sort/spearman, sort/aggregation (same algotype, or
with control_labels the same arbitrary label, as the right neighbour), sort/swaps (so far).
Over sorting progress, as the reference's analysis: the aggregation divided by n (the reference's
metric) in the snapshots after 0%, 1%, ... 100% of the swaps (artefact progress_aggregation, 101
values; the sweep report shows the mean curve over runs and its peak, the reference's number).
Summary: delayed_gratification (over the error after every swap, as in the paper), swaps, steps,
sorted (no inversion left), finished (the non-frozen values in order, frozen cells skipped: all
the working cells can do), stalled (stopped unsorted at a fixed point), final_sortedness,
peak_aggregation (max over the logged steps, the lab's metric), end_aggregation,
progress_peak_aggregation and progress_peak_at (percent) of the run's own progress curve,
same_mover_fraction (cell view). Artefacts: errors (after every swap), progress_aggregation,
final_values, final_labels, frozen_positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from emergelab.lab.config import param
from emergelab.lab.registry import World, register
from emergelab.measures import sorting as M
from emergelab.worlds._sorting_rules import (  # noqa: F401  (Row, sweep_draws: for tests)
    ACTIVE, ALGOTYPES, BUBBLE, IMMOVABLE, INSERTION, MOVABLE, SELECTION, Row, cell_sort, sweep_draws,
    topdown_sort,
)


@dataclass(frozen=True)
class SortingCellsConfig:
    seed: int = param(0, "seeds the values, algotypes, damage and activation order (numpy default_rng)")
    n: int = param(100, "number of cells")
    algotypes: tuple[str, ...] = param(("bubble",), "policies in equal shares at random places: "
                                       "bubble, insertion, selection; two or three make a chimeric array")
    mode: Literal["cell", "topdown"] = param("cell", "cell: every cell runs its policy; topdown: the "
                                             "traditional algorithm of algotypes[0] with the same damage")
    control_labels: bool = param(False, "same-rule control: every cell runs algotypes[0] and carries an "
                                 "arbitrary label (equal shares of max(2, len(algotypes))) for aggregation")
    duplicates: bool = param(False, "values from range(levels), with repeats, instead of a permutation")
    levels: int = param(10, "duplicates: number of distinct values (the reference: 10)")
    value_layout: Literal["copies", "draws"] = param("copies", "duplicates: copies: equal shares of each "
                                                     "value, shuffled (the reference: 20 copies of 10 values "
                                                     "for 200 cells); draws: each value drawn independently")
    frozen: int = param(0, "number of frozen (damaged) cells, at random places")
    frozen_fraction: float = param(0.0, "frozen cells as a fraction of n (instead of frozen)")
    frozen_kind: Literal["movable", "immovable"] = param("movable", "movable: others can still swap a "
                                                         "frozen cell; immovable: it never moves")
    max_steps: int = param(0, "step (sweep) budget; 0 means n*n (insertion needs ~n*n/4 at one swap a "
                           "sweep), times burst_mean under activation=burst (a step then draws m/burst_mean cells)")
    log_every: int = param(1, "log the array every k steps")
    activation: Literal["sweep", "random", "burst"] = param("sweep", "sweep: each active cell acts once per "
                                                            "step, in a random order; random: as many turns "
                                                            "per step drawn with replacement; burst: as random, "
                                                            "each drawn cell keeping its turn for a stretch "
                                                            "(like the reference's threads)")
    burst_mean: float = param(12.0, "burst: mean number of turns a drawn cell keeps (geometric; 1 = random). "
                              "12: the same cell makes ~0.6 of consecutive swaps, as the reference's threads")

    def __post_init__(self) -> None:
        if not self.algotypes:
            raise ValueError("algotypes is empty: name one to three of bubble, insertion, selection")
        if not set(self.algotypes) <= set(ALGOTYPES) or len(set(self.algotypes)) != len(self.algotypes):
            raise ValueError(f"algotypes must be distinct names from {', '.join(ALGOTYPES)}, "
                             f"got {self.algotypes}")
        if self.mode == "topdown" and len(self.algotypes) > 1 and not self.control_labels:
            raise ValueError("topdown runs one traditional algorithm: give one algotype")
        if self.n < max(2, len(self.algotypes)):
            raise ValueError(f"n must be at least max(2, number of algotypes), got {self.n}")
        if self.frozen and self.frozen_fraction:
            raise ValueError("give frozen (a count) or frozen_fraction, not both")
        if not 0 <= self.frozen < self.n:
            raise ValueError(f"frozen must be in [0, n), got {self.frozen}")
        if not 0.0 <= self.frozen_fraction < 1.0 or self.n_frozen >= self.n:
            raise ValueError(f"frozen_fraction must leave a working cell, got {self.frozen_fraction}")
        if self.levels < 2:
            raise ValueError(f"levels must be at least 2 distinct values, got {self.levels}")
        if not self.burst_mean >= 1.0:
            raise ValueError(f"burst_mean must be at least 1 turn, got {self.burst_mean}")
        if self.max_steps < 0 or self.log_every < 1:
            raise ValueError(f"need max_steps >= 0 and log_every >= 1, got {self.max_steps}, "
                             f"{self.log_every}")

    @property
    def n_frozen(self) -> int:
        return self.frozen or int(round(self.frozen_fraction * self.n))


# -- the initial array -------------------------------------------------------------------
def initial_state(cfg: SortingCellsConfig):
    """(values, kinds, labels, damage, rng): one entry per cell, the same draws in both modes,
    so cell and topdown runs with one seed start from the same array and the same damage."""
    rng = np.random.default_rng(cfg.seed)
    n = cfg.n
    if not cfg.duplicates:
        values = rng.permutation(n)
    elif cfg.value_layout == "copies":
        values = rng.permutation(np.arange(n) % cfg.levels)
    else:
        values = rng.integers(0, cfg.levels, n)
    k = max(2, len(cfg.algotypes)) if cfg.control_labels else len(cfg.algotypes)
    labels = rng.permutation(np.arange(n) % k)            # equal shares (+-1), random places
    codes = np.array([ALGOTYPES.index(a) for a in cfg.algotypes])
    kinds = np.full(n, codes[0]) if cfg.control_labels else codes[labels]
    damage = np.zeros(n, dtype=np.int64)
    kind = IMMOVABLE if cfg.frozen_kind == "immovable" else MOVABLE
    damage[rng.choice(n, cfg.n_frozen, replace=False)] = kind
    return values.tolist(), kinds.tolist(), labels.tolist(), damage.tolist(), rng


# -- run ---------------------------------------------------------------------------------
def run(cfg: SortingCellsConfig, rec) -> None:
    values, kinds, labels, damage, rng = initial_state(cfg)
    n = cfg.n
    burst = cfg.burst_mean if cfg.activation == "burst" else 1.0
    max_steps = cfg.max_steps or int(n * n * burst)
    row = Row(values, damage, track_bad=cfg.mode == "cell" and INSERTION in kinds)

    # While sorting, a logged step costs one append: (step, swaps so far). The rows are
    # rebuilt afterwards by replaying the swaps, and the measures run on the whole (T, n)
    # trajectory at once.
    marks = [(0, 0)]

    def on_step(step: int) -> None:
        if step % cfg.log_every == 0:
            marks.append((step, len(row.moves)))

    stalled = False
    if cfg.mode == "cell":
        steps, stalled = cell_sort(row, kinds, rng, max_steps, on_step, replace=cfg.activation != "sweep",
                                   burst_mean=burst)
    else:
        steps = topdown_sort(row, kinds[0], max_steps, on_step)
    if marks[-1][0] != steps:
        marks.append((steps, len(row.moves)))

    at, swaps = np.array(marks).T
    # the reference's snapshots are taken after every swap: its progress points are the rows
    # after progress_indices + 1 swaps (the initial row if nothing moved); one replay serves both
    n_swaps = len(row.moves)
    progress = M.progress_indices(n_swaps) + 1 if n_swaps else np.zeros(101, dtype=np.int64)
    wanted = np.concatenate([swaps, progress])
    order = np.argsort(wanted, kind="stable")
    rows = np.empty((wanted.size, n), dtype=np.int64)
    rows[order] = row.replay(wanted[order].tolist())               # cell id per position
    cells = rows[:swaps.size]
    vals, labs = np.asarray(values)[cells], np.asarray(labels)[cells]
    progress_agg = M.aggregation(np.asarray(labels)[rows[swaps.size:]], over="cells")
    agg = M.aggregation(labs)
    rec.log_many("sort/sortedness", at, M.sortedness(vals))
    rec.log_many("sort/monotonicity_error", at, M.monotonicity_error(vals))
    rec.log_many("sort/spearman", at, M.spearman_distance(vals))
    rec.log_many("sort/aggregation", at, agg)
    rec.log_many("sort/swaps", at, swaps)

    final, frozen_at = vals[-1], np.flatnonzero(np.asarray(damage)[cells[-1]] != ACTIVE)
    working = np.delete(final, frozen_at)                          # the working cells' values, in order
    errors = np.array(row.errors, dtype=np.int64)
    rec.artefact("errors", errors)
    rec.artefact("progress_aggregation", progress_agg)
    rec.artefact("final_values", final)
    rec.artefact("final_labels", labs[-1])
    rec.artefact("frozen_positions", frozen_at)
    rec.summarize(
        mode=cfg.mode, algotypes=",".join(cfg.algotypes), n_frozen=cfg.n_frozen,
        steps=steps, swaps=len(row.moves), sorted=row.errors[-1] == 0,
        finished=bool(np.all(working[:-1] <= working[1:])), stalled=stalled,
        final_sortedness=M.sortedness(final), final_spearman=M.spearman_distance(final),
        delayed_gratification=M.delayed_gratification(errors),
        gratification_events=len(M.gratification_events(errors)),
        start_aggregation=float(agg[0]), peak_aggregation=float(agg.max()),
        peak_aggregation_step=int(at[np.argmax(agg)]), end_aggregation=float(agg[-1]),
        progress_peak_aggregation=float(progress_agg.max()), progress_peak_at=int(np.argmax(progress_agg)),
        **({"same_mover_fraction": M.same_mover_fraction(row.movers)} if cfg.mode == "cell" else {}),
    )


# -- across a sweep: the reference's aggregation analysis --------------------------------
def _key(v):
    return tuple(v) if isinstance(v, (list, tuple, np.ndarray)) else v


def sweep_section(store, runs, grid: dict):
    """Report section: per grid point (seeds pooled), the mean over runs of the aggregation
    curve over sorting progress (the reference's metric, divided by n) with its peak, beside
    the lab's (mean of each run's peak over logged steps) and the same-mover fraction of the
    schedule. None when no run kept a progress curve."""
    from matplotlib.figure import Figure

    from emergelab.errors import UserError
    from emergelab.report.html import _figure, _section, _table

    keys = [k for k in grid if k != "seed" and f"config.{k}" in runs.columns]
    groups: dict = {}
    for r in runs.to_dict("records"):
        try:
            curve = np.load(store.artefact_path(r["run_id"], "progress_aggregation"))
        except (UserError, OSError, ValueError):      # an older run without the curve
            continue
        g = groups.setdefault(tuple(_key(r.get(f"config.{k}")) for k in keys), [[], []])
        g[0].append(curve)
        g[1].append(r)
    if not groups:
        return None

    def mean_of(recs: list, name: str):
        x = np.array([r.get(f"summary.{name}", np.nan) for r in recs], dtype=float)
        return round(float(np.nanmean(x)), 3) if np.isfinite(x).any() else None

    fig = Figure(figsize=(7.0, 3.6), layout="constrained")
    ax = fig.subplots()
    rows = []
    for key, (curves, recs) in groups.items():
        peak, at = M.peak_of_mean(np.stack(curves))
        lab = np.array([r.get("summary.peak_aggregation", np.nan) for r in recs], dtype=float)
        rows.append([*[", ".join(map(str, v)) if isinstance(v, tuple) else v for v in key], len(curves),
                     round(peak, 3), f"{at}%", mean_of(recs, "progress_peak_aggregation"),
                     f"{np.nanmean(lab):.3f} ± {np.nanstd(lab):.3f}", mean_of(recs, "same_mover_fraction")])
        if len(ax.lines) < 8:
            ax.plot(np.arange(len(curves[0])), np.mean(curves, axis=0), lw=1.4,
                    label=", ".join(f"{k}={v}" for k, v in zip(keys, key)) or "all runs")
    ax.set_xlabel("sorting progress (% of the run's swaps)")
    ax.set_ylabel("aggregation (÷ n), mean over runs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    cols = [*keys, "runs", "peak of the mean curve", "at", "mean of run peaks", "lab: peak over steps",
            "same-mover fraction"]
    para = ("Aggregation as the reference measures it: the share of cells whose right neighbour has the "
            "same algotype (or control label), divided by n, in the snapshots after 0%, 1%, ... 100% of a "
            "run's swaps; averaged over runs point by point, and the peak of that mean curve reported "
            "(its max aggregation). The lab's metric divides by n - 1 and takes each run's peak over "
            "logged steps, so it reads higher. Random mixing gives ~0.5; compare a same-rule control.")
    return _section("sorting-aggregation", "Aggregation over sorting progress", paragraphs=[para],
                    figures=[_figure(fig, caption="Mean aggregation curve over sorting progress per grid point.")],
                    tables=[_table(cols, rows)])


register(World(
    name="sorting_cells",
    paper="T. Zhang, A. Goldstein, M. Levin (2024), Classical Sorting Algorithms as a Model of "
          "Morphogenesis: self-sorting arrays reveal unexpected competencies in a minimal model of basal "
          "intelligence",
    effect="self-sorting arrays: cells running their own sorting policy sort around damage better than the "
           "top-down algorithm, and in chimeric arrays cells of one algotype cluster mid-sort",
    config=SortingCellsConfig,
    run=run,
    presets={
        "paper": {},                                                   # 100 cells, bubble, distinct values
        "quick": {"n": 50},
        "tiny": {"n": 12},
        # chimeric: the lab's schedule, one move per turn (turns drawn with replacement);
        # chimeric-burst: the reference's, a cell keeping its turn for a stretch (see burst_mean)
        "chimeric": {"n": 200, "algotypes": ("bubble", "selection"), "activation": "random"},
        "chimeric-control": {"n": 200, "algotypes": ("bubble", "selection"), "control_labels": True,
                             "activation": "random"},
        "chimeric-burst": {"n": 200, "algotypes": ("bubble", "selection"), "activation": "burst"},
        "chimeric-burst-control": {"n": 200, "algotypes": ("bubble", "selection"), "control_labels": True,
                                   "activation": "burst"},
        # the reference's duplicates experiment: 20 copies of each of 10 values, its schedule
        "duplicates": {"n": 200, "algotypes": ("bubble", "selection"), "duplicates": True,
                       "value_layout": "copies", "levels": 10, "activation": "burst"},
        "duplicates-control": {"n": 200, "algotypes": ("bubble", "selection"), "duplicates": True,
                               "value_layout": "copies", "levels": 10, "activation": "burst",
                               "control_labels": True},
        # selection: the policy that swaps at a distance can work round immovable cells; bubble and
        # insertion (adjacent swaps) sort each stretch between them, and so do their top-down versions
        "frozen": {"algotypes": ("selection",), "frozen": 3, "frozen_kind": "immovable"},
        "frozen-topdown": {"algotypes": ("selection",), "frozen": 3, "frozen_kind": "immovable",
                           "mode": "topdown"},
    },
    watch=("sort/sortedness", "sort/aggregation"),
    sweep_section=sweep_section,
    look_for="sort/sortedness climbs to 1, or as close as frozen cells allow: compare final_sortedness of "
             "the frozen and frozen-topdown presets (bubble and insertion tie with their top-down versions "
             "under immovable damage: adjacent swaps cannot pass it). chimeric: sort/aggregation rises above "
             "~0.5 mid-sort (peak_aggregation) and falls back by the end; always compare chimeric-control "
             "(one rule, arbitrary labels); chimeric-burst schedules turns as the reference's threads do "
             "(same_mover_fraction ~0.6) and clusters more. With duplicates the clusters outlast the sort. "
             "delayed_gratification > 0: the array gave up progress and regained more.",
))
