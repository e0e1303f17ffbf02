"""The Moran population of GARD assemblies behind the multilevel Price equation (worlds/gard.py).

"Chemical Heredity as Group Selection at the Molecular Level" (2018): molecules are the
individuals, assemblies the groups, and the reactant -> product relation is parent ->
offspring. Kept apart from gard.py, which holds the chemistry, the lineage and run().

Reseeding: in the GARD authors' population code (population_gard_nmin_v10.m, Markovitch &
Lancet) an assembly that loses all its molecules is replaced at once by a fresh one drawn
from the environment, so the population never shrinks. With reseed_size > 0 price_window
does the same with reseed_size random molecules, and tags them -1: they descend from no
molecule of the census, so neither they nor what they catalyse count as anyone's offspring.
(The authors' fresh assembly has Nmax molecules and splits at once, so its other half also
replaces a random assembly; ours starts at reseed_size, the paper preset's 50 = Nmax/2,
which is the half the authors keep in the dead slot.)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # gard.py imports this module: the type only, at check time
    from emergelab.worlds.gard import Chemistry


class Uniforms:
    """Uniform [0, 1) floats from rng, drawn 4,096 at a time (one numpy call per chunk)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.buf, self.k = rng, [], 0

    def __call__(self) -> float:
        if self.k == len(self.buf):
            self.buf, self.k = self.rng.random(4096).tolist(), 0
        self.k += 1
        return self.buf[self.k - 1]


class Assembly:
    """One assembly that knows each molecule's type and tag (the molecule present at the
    start of the window that it descends from). Slots 0..N-1 of types/tags are in use."""

    __slots__ = ("N", "nl", "PQ", "w", "cs", "types", "tags", "t_next")

    def __init__(self, chem: Chemistry, types: np.ndarray, tags: np.ndarray, n_max: int) -> None:
        self.N = N = len(types)
        self.types = np.zeros(n_max, dtype=np.int64)
        self.tags = np.zeros(n_max, dtype=np.int64)
        self.types[:N], self.tags[:N] = types, tags
        n = np.bincount(types, minlength=chem.T)
        self.nl = n.tolist()
        self.PQ = chem.state(n)  # (2, T) [P; Q] as in Chemistry
        self.w, self.cs = np.empty(chem.T), np.empty(chem.T)
        self.t_next = math.inf

    def schedule(self, t: float, u: float) -> None:
        """Rates for the current state and the time of the next event after t."""
        np.multiply(self.PQ[0], self.PQ[1], out=self.w)
        np.add.accumulate(self.w, out=self.cs)
        R = self.cs.item(-1) / self.N if self.N else 0.0  # total rate; 0: an empty assembly is dead
        self.t_next = t - math.log(1.0 - u) / R if R > 0 else math.inf

    def event(self, chem: Chemistry, u: Uniforms) -> None:
        """One Gillespie event, with the molecule-level parentage of a join."""
        N, types, tags = self.N, self.types, self.tags
        j = int(self.cs.searchsorted(u() * self.cs.item(-1)))
        if u() * (chem.kr * N + chem.kb * self.nl[j]) < chem.kr * N:  # join of type j
            # its parent: a molecule m present, with weight 1 + beta[j, type_m]
            c = np.add.accumulate(chem.beta1[j][types[:N]])  # (N,)
            m = int(c.searchsorted(u() * c.item(-1)))
            types[N], tags[N] = j, tags[m]
            np.add(self.PQ, chem.rows[j], out=self.PQ)
            self.nl[j] += 1
            self.N = N + 1
        else:  # one molecule of type j, any of them, leaves
            idx = np.flatnonzero(types[:N] == j)
            m = int(idx[int(u() * len(idx))])
            types[m], tags[m] = types[N - 1], tags[N - 1]  # the last slot fills the gap
            np.subtract(self.PQ, chem.rows[j], out=self.PQ)
            self.nl[j] -= 1
            self.N = N - 1


def price_window(chem: Chemistry, pop: list[Assembly], t: float, n_max: int, u: Uniforms,
                 rng: np.random.Generator, reseed_size: int = 0) -> tuple[float, tuple, int]:
    """Run the Moran population until len(pop) splits; return (time, Price inputs, reseeds).

    Price inputs: (groups, traits, offspring, offspring_traits), one entry per molecule
    present at the start (the census), as measures.price.price_equation takes them.
    reseed_size > 0: an assembly that loses its last molecule is replaced at once by
    reseed_size molecules drawn from the environment (tag -1: no census ancestor); reseeds
    counts them. 0: it stays empty (dead) for good.
    """
    A, h = len(pop), n_max // 2
    groups = np.concatenate([np.full(a.N, k) for k, a in enumerate(pop)])  # (M,) assembly at census
    z = chem.power[np.concatenate([a.types[: a.N] for a in pop])]  # (M,) catalytic power
    start = 0
    for a in pop:  # every molecule at the census is its own tag
        a.tags[: a.N] = np.arange(start, start + a.N)
        start += a.N
    times = np.array([a.t_next for a in pop])  # (A,) each assembly's next event
    reseeds = 0
    for _ in range(A):
        while True:  # events, earliest first, until some assembly reaches n_max
            k = int(times.argmin())
            a = pop[k]
            t = a.t_next
            if t == math.inf:
                raise RuntimeError("every assembly lost all its molecules: lower kb, raise kf "
                                   "or set reseed=true")
            a.event(chem, u)
            if a.N == n_max:
                break
            if a.N == 0 and reseed_size:  # dead: a fresh assembly from the environment
                types = rng.integers(chem.T, size=reseed_size)
                pop[k] = a = Assembly(chem, types, np.full(reseed_size, -1), n_max)
                reseeds += 1
            a.schedule(t, u())
            times[k] = a.t_next
        # split: one half stays in slot k, the other replaces a random other assembly
        perm = rng.permutation(n_max)
        r = int(rng.integers(A - 1))
        r += r >= k
        for slot, half in ((k, perm[:h]), (r, perm[h:])):
            pop[slot] = Assembly(chem, a.types[half], a.tags[half], n_max)
            pop[slot].schedule(t, u())
            times[slot] = pop[slot].t_next
    # end census: whom each molecule now present descends from (-1: a reseed's line, nobody)
    tags = np.concatenate([a.tags[: a.N] for a in pop])
    zs = chem.power[np.concatenate([a.types[: a.N] for a in pop])]
    zs, tags = zs[tags >= 0], tags[tags >= 0]
    w = np.bincount(tags, minlength=len(z)).astype(float)  # (M,) offspring per census molecule
    z_off = np.bincount(tags, weights=zs, minlength=len(z)) / np.maximum(w, 1)
    z_off[w == 0] = np.nan  # no offspring: no offspring trait
    return t, (groups, z, w, z_off), reseeds
