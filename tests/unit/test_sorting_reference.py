"""The sorting_cells world makes the reference's moves: its rules and an independent transcription
of the rules of Zhang et al.'s cell_research (modules/multithread/*SortCell.py, MultiThreadCell.swap)
are driven by the same activation draws and must make the same swaps, by the same cells, in the
same order, with frozen cells of both kinds. And the burst schedule gives the reference's
statistic: the same cell makes most consecutive swaps."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world
from emergelab.worlds import sorting_cells as S


class RefCell:
    """One cell as the reference keeps it: its value, sorting policy, frozen status and, for
    selection, its ideal position (from the left boundary)."""

    def __init__(self, ident: int, value: int, kind: str, frozen: str | None) -> None:
        self.ident, self.value, self.kind, self.frozen, self.ideal = ident, value, kind, frozen, 0


class RefArray:
    """The reference's rules, written from its source: one cell's move() per activation.
    Its frozen cells are movable (the swap refuses only a frozen initiator); the immovable
    variant is its commented-out condition in MultiThreadCell.swap (a frozen target refused too)."""

    def __init__(self, values, kinds, damage) -> None:
        status = {S.ACTIVE: None, S.MOVABLE: "movable", S.IMMOVABLE: "immovable"}
        self.cells = [RefCell(i, v, S.ALGOTYPES[k], status[d])
                      for i, (v, k, d) in enumerate(zip(values, kinds, damage))]
        self.by_id = list(self.cells)
        self.log: list[tuple[int, int, int]] = []

    def position(self, cell: RefCell) -> int:
        return self.cells.index(cell)

    def is_sorted(self) -> bool:
        return all(a.value <= b.value for a, b in zip(self.cells, self.cells[1:]))

    def swap(self, cell: RefCell, target: int) -> None:
        other, here = self.cells[target], self.position(cell)
        if cell.frozen or other.frozen == "immovable":
            return
        self.cells[here], self.cells[target] = other, cell
        self.log.append((min(here, target), max(here, target), cell.ident))

    def act(self, ident: int, check_right: int) -> None:
        cell = self.by_id[ident]
        getattr(self, cell.kind)(cell, self.position(cell), check_right)

    def bubble(self, cell: RefCell, here: int, check_right: int) -> None:
        target = here + 1 if check_right else here - 1
        if not 0 <= target < len(self.cells):
            return
        other = self.cells[target].value
        if (cell.value > other) if check_right else (cell.value < other):
            self.swap(cell, target)

    def enable_to_move(self, here: int) -> bool:
        prev = -1
        for c in self.cells[:here]:
            if c.frozen:
                prev = -1
                continue
            if c.value < prev:
                return False
            prev = c.value
        return True

    def insertion(self, cell: RefCell, here: int, _right: int) -> None:
        if self.enable_to_move(here) and here > 0 and cell.value < self.cells[here - 1].value:
            self.swap(cell, here - 1)

    def selection(self, cell: RefCell, here: int, _right: int) -> None:
        t = cell.ideal
        if not 0 <= t < len(self.cells):
            return
        target = self.cells[t]
        if target.frozen:                       # always look further right; swap too if smaller
            cell.ideal += 1
            if cell.value < target.value:
                self.swap(cell, t)
            return
        if here == t:
            return
        if cell.value >= target.value:
            cell.ideal += 1
            return
        self.swap(cell, t)


ACTIVATION = {"sweep": (False, 1.0), "random": (True, 1.0), "burst": (True, 4.0)}


def _both(cfg, ref_class=RefArray):
    """(the lab's swaps, the transcription's swaps) on one config's draws: (p, q, mover) each."""
    replace, burst = ACTIVATION[cfg.activation]
    values, kinds, _, damage, rng = S.initial_state(cfg)
    row = S.Row(values, damage, track_bad=S.INSERTION in kinds)
    steps, _ = S.cell_sort(row, kinds, rng, cfg.n * cfg.n, lambda step: None, replace=replace, burst_mean=burst)
    stride = cfg.n + 2
    lab = [(m // stride - 1, m % stride - 1, c) for m, c in zip(row.moves, row.movers)]

    values, kinds, _, damage, rng = S.initial_state(cfg)       # the same draws again
    active = [c for c in range(cfg.n) if damage[c] == S.ACTIVE]
    draws = S.sweep_draws(rng, active, cfg.n, any(kinds[c] == S.BUBBLE for c in active), False, replace, burst)
    ref = ref_class(values, kinds, damage)
    for _ in range(steps):
        order, rights = next(draws)
        for c, right in zip(order, rights):
            done = len(ref.log)
            ref.act(c, right)
            if len(ref.log) > done and ref.is_sorted():     # the reference stops once sorted
                return lab, ref.log
    return lab, ref.log


def _cfg(algos, frozen, kind, activation, seed, duplicates=False):
    return get_world("sorting_cells").make_config("tiny", {
        "n": 40, "algotypes": algos, "frozen": frozen, "frozen_kind": kind, "activation": activation,
        "seed": seed, "duplicates": duplicates, "levels": 6})


ALGOS = [("bubble",), ("insertion",), ("selection",), ("bubble", "selection"), ("bubble", "insertion"),
         S.ALGOTYPES]
DAMAGE = [(0, "movable"), (4, "movable"), (3, "immovable")]


@pytest.mark.parametrize("activation", list(ACTIVATION))
@pytest.mark.parametrize("frozen,kind", DAMAGE)
@pytest.mark.parametrize("algos", ALGOS)
def test_the_lab_makes_the_reference_moves_swap_for_swap(algos, frozen, kind, activation):
    for seed in range(2):
        lab, ref = _both(_cfg(algos, frozen, kind, activation, seed, duplicates=seed == 1))
        assert len(lab) > 0
        k = next((i for i, (a, b) in enumerate(zip(lab, ref)) if a != b), min(len(lab), len(ref)))
        assert lab == ref, (seed, k, lab[k:k + 3], ref[k:k + 3], len(lab), len(ref))


class OldSelection(RefArray):
    """The lab's former rule: a movable frozen cell at the ideal position treated like any other."""

    def selection(self, cell, here, _right):
        target = self.cells[cell.ideal] if cell.ideal < len(self.cells) else None
        if target is not None and target.frozen == "movable" and here != cell.ideal:
            if cell.value >= target.value:
                cell.ideal += 1
            else:
                self.swap(cell, cell.ideal)
            return
        super().selection(cell, here, _right)


class NoRestartAtFrozen(RefArray):
    """Insertion that compares across frozen cells instead of restarting the comparison."""

    def enable_to_move(self, here):
        working = [c.value for c in self.cells[:here] if not c.frozen]
        return all(a <= b for a, b in zip(working, working[1:]))


@pytest.mark.parametrize("variant,algos", [(OldSelection, ("selection",)), (OldSelection, ("bubble", "selection")),
                                           (NoRestartAtFrozen, ("insertion",))])
def test_the_comparison_catches_a_rule_that_differs(variant, algos):
    # the check has teeth: one changed rule, and the swaps part ways on some seed
    differs = [_both(_cfg(algos, 4, "movable", "sweep", seed), variant)
               for seed in range(4)]
    assert any(lab != ref for lab, ref in differs)


def test_burst_gives_the_reference_same_cell_fraction_of_consecutive_swaps():
    # the reference (one thread per cell, 100 bubble cells, measured on its code: 0.70 +- 0.04
    # over 8 runs; the issue reports ~0.6) vs the lab's one move per turn: 0.000 (sweep), 0.013 (random)
    def fraction(activation, **kw):
        return np.mean([run_world("sorting_cells", "paper", activation=activation, seed=s, **kw)
                        .summary["same_mover_fraction"] for s in range(5)])

    assert fraction("sweep") < 0.02 and fraction("random") < 0.05
    burst = fraction("burst")
    assert 0.55 < burst < 0.8, burst
    assert fraction("burst", burst_mean=2) < 0.35 < fraction("burst", burst_mean=4) < burst   # it rises with the mean
