"""Finite groups as Cayley tables, parsed from short string specs.

The grokking world learns a group's multiplication table: every pair (a, b) of elements
maps to a∘b. Li_2 (Tian 2025) studies group arithmetic in general, not only addition mod M,
so besides cyclic groups we offer direct products of cyclic groups (abelian, not cyclic
unless the orders are coprime) and symmetric groups (non-abelian).

Accepted specs (case-insensitive, spaces ignored):
    "Z127"        cyclic group Z_M, a∘b = (a + b) mod M
    "Z6xZ4xZ2"    direct product of cyclic groups, componentwise addition
    "S4"          symmetric group S_n on n ≤ 6 points, a∘b = a after b (composition)

Elements are indexed 0..N-1 with the identity at index 0. numpy only: no torch here.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

SPEC_HELP = "'Z<M>' (cyclic, e.g. Z127), 'Z<m1>xZ<m2>[x...]' (product, e.g. Z6xZ4) or 'S<n>' (symmetric, n = 2..6)"
MAX_ORDER = 1024  # N^2 training pairs: beyond ~1M pairs the world stops being a laptop toy
MAX_SYM = 6  # S6 has 720 elements (518,400 pairs); S7 would have 5040


@dataclass(frozen=True)
class Group:
    spec: str
    """The normalised spec, e.g. 'Z127', 'Z6xZ4', 'S4'."""
    table: np.ndarray
    """(N, N) int64: table[a, b] = index of a∘b."""
    kind: str
    """'cyclic', 'product' or 'symmetric'."""
    factors: tuple[int, ...]
    """Cyclic orders (m1, m2, ...) for Z / products; (n,) for S_n."""

    @property
    def order(self) -> int:
        return int(self.table.shape[0])

    @property
    def is_cyclic(self) -> bool:
        """True for a plain 'Z<M>' spec (the Fourier progress measures need one)."""
        return self.kind == "cyclic"

    @property
    def is_abelian(self) -> bool:
        return bool(np.array_equal(self.table, self.table.T))


def _cyclic_product(ms: tuple[int, ...]) -> np.ndarray:
    # Element index = mixed-radix number over the components (first factor most significant).
    comps = np.stack(np.unravel_index(np.arange(int(np.prod(ms))), ms), axis=1)  # (N, k)
    summed = (comps[:, None, :] + comps[None, :, :]) % np.asarray(ms)  # (N, N, k)
    return np.ravel_multi_index(tuple(np.moveaxis(summed, -1, 0)), ms).astype(np.int64)


def _symmetric(n: int) -> np.ndarray:
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int64)  # (N, n), lexicographic
    N = len(perms)
    # (a∘b)(i) = a(b(i)): gather a's images at b's positions, all pairs at once.
    a = np.broadcast_to(perms[:, None, :], (N, N, n))
    b = np.broadcast_to(perms[None, :, :], (N, N, n))
    comp = np.take_along_axis(a, b, axis=2)  # (N, N, n)
    # Rank each composed permutation by its base-n code; codes are sorted because the list
    # is lexicographic, so searchsorted finds the index (identity = 0..n-1 comes first).
    radix = n ** np.arange(n - 1, -1, -1)
    codes = perms @ radix  # (N,)
    return np.searchsorted(codes, comp @ radix).astype(np.int64)


def _frozen(table: np.ndarray) -> np.ndarray:
    table.setflags(write=False)  # groups are cached and shared: nobody may edit a table
    return table


def parse_group(spec: str) -> Group:
    """Parse a spec into a Group, or raise ValueError listing the accepted forms."""
    if not isinstance(spec, str):
        raise ValueError(f"group spec must be a string, got {spec!r}; use {SPEC_HELP}")
    s = spec.replace(" ", "").upper()
    if m := re.fullmatch(r"S(\d+)", s):
        n = int(m.group(1))
        if not 2 <= n <= MAX_SYM:
            raise ValueError(f"symmetric group S{n}: n must be between 2 and {MAX_SYM}")
        return Group(spec=f"S{n}", table=_frozen(_symmetric(n)), kind="symmetric", factors=(n,))
    if re.fullmatch(r"Z\d+(XZ\d+)*", s):
        ms = tuple(int(p[1:]) for p in s.split("X"))
        if any(m < 2 for m in ms):
            raise ValueError(f"group {spec!r}: every cyclic order must be at least 2")
        order = int(np.prod(ms))
        if order > MAX_ORDER:
            raise ValueError(f"group {spec!r} has {order} elements; at most {MAX_ORDER} are supported")
        norm = "x".join(f"Z{m}" for m in ms)
        kind = "cyclic" if len(ms) == 1 else "product"
        return Group(spec=norm, table=_frozen(_cyclic_product(ms)), kind=kind, factors=ms)
    raise ValueError(f"unknown group spec {spec!r}; use {SPEC_HELP}")
