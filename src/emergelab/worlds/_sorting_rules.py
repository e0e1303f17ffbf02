"""The rules of the sorting_cells world: the row of cells, the activation schedules, the cell
view (every cell runs its policy) and the top-down algorithms. See sorting_cells.py for what
they model; the rules follow the reference (github.com/Zhangtaining/cell_research) move for
move, which tests/unit/test_sorting_reference.py checks against a transcription of it."""

from __future__ import annotations

import heapq

import numpy as np

ALGOTYPES = ("bubble", "insertion", "selection")
BUBBLE, INSERTION, SELECTION = 0, 1, 2   # codes, the index in ALGOTYPES
ACTIVE, MOVABLE, IMMOVABLE = 0, 1, 2     # damage codes


class Row:
    """The row of cells. Positions 1..n hold the cells; 0 and n+1 hold sentinels (a value below
    and one above all others, immovable) so that no policy needs a bounds check. Lists indexed
    by position: v (value), fz (damage), cell_at (cell id = initial position 0..n-1); pos[cell].
    swap(p, q, by) keeps the adjacent-inversion count up to date in O(1), appends it to `errors`
    (the per-swap trajectory of delayed gratification), records the move for the replay and the
    cell that made it in `movers` (-1: the top-down algorithm) and returns the new count."""

    def __init__(self, values: list, damage: list, track_bad: bool = False) -> None:
        self.n = n = len(values)
        self.v = v = [min(values) - 1, *values, max(values) + 1]
        self.fz = fz = [IMMOVABLE, *damage, IMMOVABLE]
        self.cell_at, self.pos = cell_at, pos = [-1, *range(n), -1], list(range(1, n + 1))
        self.errors = errors = [sum(values[j] > values[j + 1] for j in range(n - 1))]
        self.moves = moves = []
        self.movers = movers = []
        # insertion's "cells to my left in order" needs the first inversion between two
        # non-frozen neighbours: a heap of candidate pair indices j (pair j, j+1); stale
        # entries are dropped when they reach the top
        self.track_bad = track_bad
        self.bad = bad = [j for j in range(1, n) if self.is_bad(j)] if track_bad else []
        is_bad, push = self.is_bad, heapq.heappush
        stride = n + 2
        moves_frozen = MOVABLE in damage          # only movable frozen cells change place

        def swap(p: int, q: int, by: int = -1) -> int:  # closures: locals are cheaper than attributes here
            if p > q:
                p, q = q, p
            x, y, a, b = v[p], v[q], v[p - 1], v[q + 1]
            # only the pairs touching p or q change: new minus old inversions (bools add as ints)
            if q == p + 1:
                d = (a > y) - (a > x) + (y > x) - (x > y) + (x > b) - (y > b)
            else:
                c, e = v[p + 1], v[q - 1]
                d = (a > y) - (a > x) + (y > c) - (x > c) + (e > x) - (e > y) + (x > b) - (y > b)
            v[p], v[q] = y, x
            if moves_frozen:
                fz[p], fz[q] = fz[q], fz[p]
            i, j = cell_at[p], cell_at[q]
            cell_at[p], cell_at[q], pos[i], pos[j] = j, i, q, p
            err = errors[-1] + d
            errors.append(err)
            moves.append(p * stride + q)
            movers.append(by)
            if track_bad:
                for k in (p - 1, p, q - 1, q):
                    if is_bad(k):
                        push(bad, k)
            return err

        self.swap = swap

    def is_bad(self, j: int) -> bool:
        v, fz = self.v, self.fz
        return v[j] > v[j + 1] and fz[j] == ACTIVE and fz[j + 1] == ACTIVE

    def first_bad(self) -> int:
        """Position j of the first inversion v[j] > v[j+1] between two non-frozen cells (n+1: none)."""
        bad = self.bad
        while bad and not self.is_bad(bad[0]):
            heapq.heappop(bad)
        return bad[0] if bad else self.n + 1

    def replay(self, at: list[int]) -> np.ndarray:
        """(T, n): the cell id at each position after at[t] swaps (at non-decreasing)."""
        out = np.empty((len(at), self.n), dtype=np.int64)
        cur, done = np.arange(-1, self.n + 1), 0       # cur[1..n] = 0..n-1: the initial row
        for t, upto in enumerate(at):
            for m in self.moves[done:upto]:
                p, q = divmod(m, self.n + 2)
                cur[p], cur[q] = cur[q], cur[p]
            done, out[t] = upto, cur[1:-1]
        return out


# -- activation schedules ----------------------------------------------------------------
def _burst_turns(rng: np.random.Generator, m: int, burst_mean: float):
    """An endless stream of indices into the m active cells, handed out `need` at a time: a cell
    drawn at random (with replacement) keeps its turn for a geometric number of activations
    with mean burst_mean, as a reference thread keeps the lock for a stretch."""
    buf = np.zeros(0, dtype=np.int64)
    need = yield
    while True:
        while buf.size < need:
            k = int(need / burst_mean) + 16
            cells, lengths = rng.integers(0, m, k), rng.geometric(1.0 / burst_mean, k)
            buf = np.concatenate([buf, np.repeat(cells, lengths)])
        out, buf = buf[:need], buf[need:]
        need = yield out


def sweep_draws(rng: np.random.Generator, active: list, n: int, coins: bool, by_cell: bool,
                replace: bool = False, burst_mean: float = 1.0):
    """Per sweep: (order, rights): the active cells in activation order and, per turn, 1 if a
    bubble cell looks right. by_cell=True gives (turn of each cell id, rights) instead, from the
    same draws (permutations only). replace=True: m activations drawn with replacement, in
    bursts of mean burst_mean when it is above 1 (a burst may run on into the next sweep).
    Drawn for batches of sweeps (16, 32, ... 256): numpy is cheap per batch only."""
    b, m, act = 16, len(active), np.asarray(active)
    bursts = None
    if replace and burst_mean > 1:
        bursts = _burst_turns(rng, m, burst_mean)
        next(bursts)
    while True:
        if bursts is not None:
            order = act[bursts.send(b * m)].reshape(b, m)
        elif replace:  # asynchronous: m draws with replacement (a cell may act twice, or not at all)
            order = act[rng.integers(0, m, (b, m))]                                  # (b, m) cell ids
        else:
            order = rng.permuted(np.broadcast_to(act, (b, m)), axis=1)                # (b, m) cell ids
        rights = [[0] * m] * b
        if coins:                                                # (b, m) fair bits: look right?
            bits = rng.integers(0, 256, (b, (m + 7) // 8), dtype=np.uint8)
            rights = np.unpackbits(bits, axis=1)[:, :m].tolist()
        if by_cell:
            turns = np.full((b, n), -1)
            np.put_along_axis(turns, order, np.broadcast_to(np.arange(m), (b, m)), axis=1)
            yield from zip(turns.tolist(), rights)
        else:
            yield from zip(order.tolist(), rights)
        b = min(2 * b, 256)


# -- cell view: every cell runs its policy -----------------------------------------------
def cell_sort(row: Row, kinds: list, rng: np.random.Generator, max_steps: int, on_step,
              fast: bool = True, replace: bool = False, burst_mean: float = 1.0) -> tuple[int, bool]:
    """Sweep until sorted, stuck or out of budget; on_step(step) after every sweep.
    kinds[cell] is the algotype code of each cell. Returns (steps, stalled: stopped unsorted
    at a fixed point). Arrays of one policy take a faster sweep (_bubble_sweep, and for
    permutations _insertion_sweep) that makes the same moves as the loop below (fast=False:
    always the loop). replace, burst_mean: the schedule, see sweep_draws."""
    v, fz, pos, n, first_bad, track_bad = row.v, row.fz, row.pos, row.n, row.first_bad, row.track_bad
    swap = row.swap
    active = [c for c in range(n) if fz[c + 1] == ACTIVE]            # frozen cells never act
    policies = {kinds[c] for c in active} if fast else set()
    if replace and policies == {INSERTION}:     # the event-driven insertion sweep needs one turn per cell
        policies = set()
    draws = sweep_draws(rng, active, n, BUBBLE in {kinds[c] for c in active}, policies == {INSERTION},
                        replace, burst_mean)
    movable = [c for c in range(n) if fz[c + 1] == MOVABLE]
    ideal = [1] * n                                      # selection: ideal position, from the left
    fb = first_bad() if track_bad else n + 1             # insertion: first out-of-order working pair
    cells = np.asarray(active, dtype=np.int64)           # for the fixed-point check
    cell_kinds = np.asarray(kinds, dtype=np.int64)[cells]
    step = 0
    while step < max_steps and row.errors[-1] > 0:
        step += 1
        order, rights = next(draws)
        if policies == {BUBBLE}:
            changed = _bubble_sweep(row, order, rights)
        elif policies == {INSERTION}:
            changed = _insertion_sweep(row, order, movable)      # `order` holds each cell's turn here
        else:
            changed = False
            for c, right in zip(order, rights):
                p = pos[c]
                k = kinds[c]
                if k == SELECTION:
                    q = ideal[c]
                    if q == p or q > n:
                        continue
                    changed = True
                    if fz[q] != ACTIVE:
                        # a frozen cell there: the reference moves the ideal position on whether or
                        # not it also swaps (it does when the frozen cell is larger and movable)
                        ideal[c] = q + 1
                        if fz[q] == IMMOVABLE or v[p] >= v[q]:
                            continue
                    elif v[p] >= v[q]:
                        ideal[c] = q + 1                 # nothing larger there: look further right
                        continue
                    err = swap(p, q, c)
                elif k == BUBBLE:                        # out of order with the chosen neighbour?
                    if right:
                        if v[p] <= v[p + 1] or fz[p + 1] == IMMOVABLE:
                            continue
                        err = swap(p, p + 1, c)
                    else:
                        if v[p] >= v[p - 1] or fz[p - 1] == IMMOVABLE:
                            continue
                        err = swap(p - 1, p, c)
                else:                                    # insertion: left part in order, left one larger?
                    if fb <= p - 2 or v[p - 1] <= v[p] or fz[p - 1] == IMMOVABLE:
                        continue
                    err = swap(p - 1, p, c)
                changed = True
                if err == 0:                             # sorted: stop mid-sweep
                    break
                if track_bad:
                    fb = first_bad()
        on_step(step)
        if not changed and not _can_act(row, cells, cell_kinds, ideal):
            return step, row.errors[-1] > 0
    return step, False


def _bubble_sweep(row: Row, order: list, rights: list) -> bool:
    """One sweep of an all-bubble array: the loop's bubble branch with Row.swap written out in
    place for an adjacent inversion (the call would cost a third of the time). Returns whether
    anything moved."""
    v, fz, pos, cell_at, errors, moves = row.v, row.fz, row.pos, row.cell_at, row.errors, row.moves
    movers = row.movers
    stride = row.n + 2
    err, moved = errors[-1], False
    for c, right in zip(order, rights):
        p = pos[c]
        if right:
            q = p + 1
            if v[p] <= v[q] or fz[q] == IMMOVABLE:
                continue
        else:
            p, q = p - 1, p
            if v[p] <= v[q] or fz[p] == IMMOVABLE:
                continue
        x, y, a, b = v[p], v[q], v[p - 1], v[q + 1]     # x > y: the pair is fixed, a and b may change
        v[p], v[q] = y, x
        fz[p], fz[q] = fz[q], fz[p]
        i, j = cell_at[p], cell_at[q]
        cell_at[p], cell_at[q], pos[i], pos[j] = j, i, q, p
        err += (y < a <= x) + (y <= b < x) - 1
        errors.append(err)
        moves.append(p * stride + q)
        movers.append(c)
        moved = True
        if err == 0:
            break
    return moved


def _insertion_sweep(row: Row, turn: list, movable: list) -> bool:
    """One sweep of an array whose working cells all run insertion, event by event: between two
    swaps the set of cells that can act is fixed, so the next swap is made by the one among them
    whose turn comes first after the last mover's. Only the cell right of the first working
    inversion, or right of a larger movable frozen cell, can act: no need to visit the rest.
    Returns whether anything moved."""
    v, fz, pos, cell_at, n = row.v, row.fz, row.pos, row.cell_at, row.n
    now, moved = -1, False
    while True:
        fb = row.first_bad()
        best, best_turn = 0, n
        for p in (fb + 1, *[pos[f] + 1 for f in movable]) if movable else (fb + 1,):
            if p > fb + 1 or p > n or fz[p] != ACTIVE or v[p - 1] <= v[p] or fz[p - 1] == IMMOVABLE:
                continue
            t = turn[cell_at[p]]
            if now < t < best_turn:
                best, best_turn = p, t
        if not best:
            return moved
        now, moved = best_turn, True
        if row.swap(best - 1, best, cell_at[best]) == 0:
            return True


def _can_act(row: Row, cells: np.ndarray, kinds: np.ndarray, ideal: list) -> bool:
    """Is this a true fixed point, i.e. could any working cell still change something on its
    turn? Checked for every cell at once, as array operations: a sweep without change is not
    enough, since with activation=random or burst (draws with replacement) many cells get no
    turn. Bubble: an out-of-order neighbour that is not immovable; insertion: the same on its
    left, with the working cells to its left in order; selection: an ideal position that is not
    its own and still inside the row (it would swap there or move the ideal position on).
    cells: the working cells' ids; kinds: their algotype codes."""
    v, fz = np.asarray(row.v), np.asarray(row.fz)
    p = np.asarray(row.pos)[cells]
    down = v[:-1] > v[1:]                                # down[j]: positions j, j+1 out of order
    left = down[p - 1] & (fz[p - 1] != IMMOVABLE)
    right = down[p] & (fz[p + 1] != IMMOVABLE)
    bubble, insertion, selection = kinds == BUBBLE, kinds == INSERTION, kinds == SELECTION
    can = (bubble & (left | right)) | (insertion & left & (row.first_bad() > p - 2))
    if selection.any():
        q = np.asarray(ideal)[cells]
        can |= selection & (q != p) & (q <= row.n)
    return bool(can.any())


# -- top-down: the traditional algorithm with the same damage ----------------------------
def topdown_sort(row: Row, kind: int, max_steps: int, on_step) -> int:
    """The textbook algorithm on positions 1..n; returns the steps (outer iterations) done."""
    v, fz, n, swap = row.v, row.fz, row.n, row.swap

    def can_move(carried: int, other: int) -> bool:   # the carried element works; the other may be displaced
        return fz[carried] == ACTIVE and fz[other] != IMMOVABLE

    step = 0
    for i in range(1, n):
        if step >= max_steps or row.errors[-1] == 0:
            break
        step += 1
        if kind == BUBBLE:                      # pass i carries the largest of v[1..n-i+1] to its end
            for j in range(1, n - i + 1):
                if v[j] > v[j + 1] and can_move(j, j + 1):
                    swap(j, j + 1)
        elif kind == INSERTION:                 # insert v[i+1] into the sorted v[1..i]
            j = i + 1
            while v[j - 1] > v[j] and can_move(j, j - 1):   # the sentinel v[0] stops it at 1
                swap(j - 1, j)
                j -= 1
        else:                                   # put the minimum of v[i..n] at i
            m = min(range(i, n + 1), key=v.__getitem__)
            if v[m] < v[i] and can_move(m, i):
                swap(i, m)
        on_step(step)
    return step
