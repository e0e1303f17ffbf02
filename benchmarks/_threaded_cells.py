"""A thread-per-cell sorter with the cost structure of the reference implementation.

The reference for self-sorting arrays (Zhang, Goldstein & Levin, github.com/Zhangtaining/
cell_research, modules/multithread/) runs every cell as its own Python thread. This module is
written for the benchmark (none of the reference's code is reused) and keeps what its run time
is made of:

  * one `threading.Thread` per cell, looping `move()` until it is told to stop;
  * one lock shared by all cells (and the group): a whole `move()` happens while holding it;
  * per move, the checks the reference makes before acting: whether the cell "wants" to move
    (counted as a compare, as its status probe does) and then the policy's own test; an
    insertion cell scans every cell to its left (twice when it can move);
  * on every swap the whole array is copied into the probe twice, as the reference's swap
    does: the values, and a per-cell record [group, algotype, value, frozen];
  * one group thread that wakes every 50 ms, takes the lock and checks whether its cells are
    in order (the reference's CellGroup, with one group spanning the row);
  * the main thread starts the threads while holding the lock, then polls "is the array
    sorted?" with a 0.1 ms sleep between polls, then takes the lock and stops every thread.

The rules are the paper's cell-view policies, without damage:
  bubble     picks its left or right neighbour with p = 0.5 and swaps if the two are out of order;
  insertion  if the cells to its left are in order, swaps with its left neighbour when larger;
  selection  keeps an ideal position from 0: swaps with the cell there if that one is larger,
             otherwise moves the ideal position one to the right; rests at its ideal position.
Every random draw comes from a per-cell `random.Random` seeded from the run's seed; the order
in which threads get the interpreter is the operating system's and is not reproducible.
"""

from __future__ import annotations

import random
import threading
import time

ACTIVE, STOPPED, FROZEN, RESTING = 1, 0, 7, 2  # cell and group states
KIND_CODE = {"bubble": 0, "selection": 1, "insertion": 2}
POLL_S = 0.0001  # the main thread's sleep between "sorted?" checks
GROUP_POLL_S = 0.05  # the group thread's sleep between its checks


class Probe:
    """What the run records: swaps, compares, and a copy of the array after every swap."""

    def __init__(self) -> None:
        self.swaps = 0
        self.compares = 0
        self.steps: list[list[int]] = []  # values after each swap
        self.cell_records: list[list[list[int]]] = []  # [group, algotype, value, frozen] per cell, per swap


class ThreadCell(threading.Thread):
    def __init__(self, value: int, kind: str, pos: int, row: list, lock: threading.Lock,
                 probe: Probe, rng: random.Random) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.value, self.kind, self.code, self.pos = value, kind, KIND_CODE[kind], pos
        self.row, self.lock, self.probe, self.rng = row, lock, probe, rng
        self.status = ACTIVE
        self.group: GroupWatcher | None = None  # set before the threads start
        self.ideal = 0  # selection: the position it aims for
        self.move = {"bubble": self._bubble, "insertion": self._insertion, "selection": self._selection}[kind]

    def run(self) -> None:
        while self.status != STOPPED:
            self.move()

    # -- one move per policy, each under the shared lock ---------------------------------
    def _rest_if_group_rests(self) -> None:
        # the reference's groups alternate active and sleeping phases; one group spanning the
        # row never sleeps here, but every move looks, as there
        if self.group.status == RESTING:
            self.status = RESTING

    def _bubble(self) -> None:
        with self.lock:
            self._rest_if_group_rests()
            row, p, last = self.row, self.pos, len(self.row) - 1
            left_bad = p > 0 and self.value < row[p - 1].value and row[p - 1].status == ACTIVE
            right_bad = p < last and self.value > row[p + 1].value and row[p + 1].status == ACTIVE
            if left_bad or right_bad:
                self.probe.compares += 1
            if self.rng.random() < 0.5:
                if p < last and self.status == ACTIVE and self.value > row[p + 1].value:
                    self._swap(p + 1)
            elif p > 0 and self.status == ACTIVE and self.value < row[p - 1].value:
                self._swap(p - 1)

    def _left_in_order(self) -> bool:
        """Are the cells to my left in order? (A frozen cell would restart the comparison;
        there are none here, but the check is made, as in the reference.)"""
        row, prev = self.row, -1
        for i in range(self.pos):
            c = row[i]
            if c.status == FROZEN:
                prev = -1
                continue
            if c.value < prev:
                return False
            prev = c.value
        return True

    def _insertion(self) -> None:
        with self.lock:
            self._rest_if_group_rests()
            if not self._left_in_order():
                return
            row, p = self.row, self.pos
            wants = p > 0 and self._left_in_order() and self.value < row[p - 1].value
            if wants and row[p - 1].status == ACTIVE:
                self.probe.compares += 1
            if p > 0 and self.status == ACTIVE and self.value < row[p - 1].value:
                self._swap(p - 1)

    def _selection(self) -> None:
        with self.lock:
            self._rest_if_group_rests()
            row, q = self.row, self.ideal
            inside = q < len(row)
            if self.pos != q and inside:
                self.probe.compares += 1
            if inside and self.pos != q and self.status == ACTIVE and row[q].status == ACTIVE:
                if self.value >= row[q].value:
                    self.ideal = q + 1  # nothing larger there: look further right
                else:
                    self._swap(q)

    def _swap(self, q: int) -> None:
        row, p = self.row, self.pos
        other = row[q]
        row[p], row[q] = other, self
        self.pos, other.pos = q, p
        probe = self.probe
        probe.swaps += 1
        probe.steps.append([c.value for c in row])
        probe.cell_records.append([[c.group.group_id, c.code, c.value, int(c.status == FROZEN)] for c in row])


class GroupWatcher(threading.Thread):
    """The one cell group spanning the row: every 50 ms, under the lock, is the row in order?"""

    def __init__(self, row: list, lock: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.row, self.lock, self.status, self.sorted_seen, self.group_id = row, lock, ACTIVE, False, 0

    def run(self) -> None:
        while self.status != STOPPED:
            with self.lock:
                self.sorted_seen = is_sorted(self.row)
            time.sleep(GROUP_POLL_S)


def is_sorted(row: list) -> bool:
    prev = row[0].value
    for c in row:
        if c.value < prev:
            return False
        prev = c.value
    return True


def threaded_sort(values: list[int], kind: str, seed: int,
                  timeout_s: float = 300.0) -> tuple[list[int], Probe, float, float]:
    """Sort `values` with one thread per cell, all running `kind`. Returns (final values, probe,
    CPU seconds, wall seconds), timed from creating the threads until the main thread has seen
    the row sorted and stopped them (their exit is waited for outside the timing)."""
    seeds = random.Random(seed)
    c0, w0 = time.process_time(), time.perf_counter()
    lock, probe, row = threading.Lock(), Probe(), []
    for i, v in enumerate(values):
        row.append(ThreadCell(int(v), kind, i, row, lock, probe, random.Random(seeds.getrandbits(64))))
    group = GroupWatcher(row, lock)
    for c in row:
        c.group = group
    threads = [*row, group]
    with lock:  # every cell starts waiting on the lock, as in the reference
        for t in threads:
            t.start()
    lock_held = False
    try:
        while True:
            if is_sorted(row):  # read without the lock, as the reference does ...
                lock.acquire()
                lock_held = True
                if is_sorted(row):  # ... and confirmed under it (a swap may have been half done)
                    break
                lock.release()
                lock_held = False
            if time.perf_counter() - w0 > timeout_s:
                raise RuntimeError(f"threaded {kind} sort of {len(values)} cells: not sorted after "
                                   f"{timeout_s:.0f} s")
            time.sleep(POLL_S)
    finally:  # stop every thread, under the lock
        if not lock_held:
            lock.acquire()
        for t in threads:
            t.status = STOPPED
        lock.release()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        for t in threads:
            t.join()
    return [c.value for c in row], probe, cpu, wall
