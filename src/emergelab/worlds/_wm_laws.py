"""Laws of the grid world (_wm_grid.py) as precondition/effect programs, and the candidate library.

A law speaks about one observable: `pre(ctx)` says in which (state, action) pairs it is active
(a boolean per transition), `effect(ctx)` lists (delta, p) outcomes: the observable moves by
delta with probability p (delta an int or a per-transition array), else it stays; results are
clipped to the observable's range. `distribution` turns a law into a probability vector over
the observable's next value for every transition at once, smoothed by eps so that a product
of experts never multiplies by an exact zero.

The library (OneLife's candidate laws, which there an LLM proposes): the TRUE laws (exclusive
and exhaustive per observable: in every (state, action) exactly one true law per observable
is active, persistence laws included, so the product of experts can represent the true
dynamics exactly), plausible WRONG ones (a wrong precondition: moves that ignore walls,
eating with nothing carried; or a wrong effect: eating +1 with p=0.8, rain that never stops)
and NOISE laws (random action/threshold preconditions with random +-1 effects).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from emergelab.worlds._wm_grid import (ACTIONS, BUSH, COLLECT, DX, DY, E, EAT, H, HEAL_AT, I, OBS, P, R,
                                       REST, THORN, WALL, X, Y, Grid)  # fmt: skip


@dataclass(frozen=True)
class Ctx:
    """What a precondition or effect may read, for N transitions at once."""

    S: np.ndarray  # (N, 6) states
    A: np.ndarray  # (N,) actions
    here: np.ndarray  # terrain under the agent
    target: np.ndarray  # terrain of the cell the action points at (here for non-moves)
    dx: np.ndarray
    dy: np.ndarray
    g: Grid

    def __getattr__(self, name: str) -> np.ndarray:  # ctx.energy, ctx.rain, ...: columns of S by name
        if name in OBS:
            return self.S[:, OBS.index(name)]
        raise AttributeError(name)

    @property
    def fed(self) -> np.ndarray:
        """Eating with food carried: the only eating that does anything."""
        return (self.A == EAT) & (self.inventory > 0)

    @property
    def can_collect(self) -> np.ndarray:
        return (self.A == COLLECT) & (self.here == BUSH) & (self.inventory < self.g.max_inventory)


def context(S: np.ndarray, A: np.ndarray, g: Grid) -> Ctx:
    x, y = S[:, X], S[:, Y]
    dx, dy = DX[A], DY[A]
    return Ctx(S, A, g.terrain[y, x], g.terrain[y + dy, x + dx], dx, dy, g)


@dataclass(frozen=True)
class Law:
    name: str
    obs: int
    kind: str  # "true", "wrong" or "noise"
    pre: Callable[[Ctx], np.ndarray]
    effect: Callable[[Ctx], list[tuple[Any, float]]]


def distribution(law: Law, c: Ctx, dim: int, eps: float) -> np.ndarray:
    """(N, dim) probabilities of the observable's next value under the law (for every row,
    active or not: the caller masks)."""
    cur = c.S[:, law.obs]
    rows = np.arange(len(cur))
    out, stay = np.zeros((len(cur), dim)), np.ones(len(cur))
    for delta, p in law.effect(c):
        out[rows, np.clip(cur + delta, 0, dim - 1)] += p  # rows are distinct, so += is safe
        stay -= p
    out[rows, cur] += stay
    return (1 - eps) * out + eps / dim


def _axis_laws(o: int, kind: str) -> list[Law]:
    name, d = ("x", "dx") if o == X else ("y", "dy")
    on = lambda c: getattr(c, d) != 0  # noqa: E731  a move along this axis
    step = lambda c: getattr(c, d)  # noqa: E731
    free = lambda c: on(c) & (c.target != WALL)  # noqa: E731
    if kind == "true":
        return [Law(f"{name}: a move onto a non-wall cell succeeds w.p. {P['move']}", o, "true",
                    free, lambda c: [(step(c), P["move"])]),
                Law(f"{name}: moving into a wall leaves {name} unchanged", o, "true",
                    lambda c: on(c) & (c.target == WALL), lambda c: []),
                Law(f"{name}: actions along the other axis or not moving leave {name} unchanged", o, "true",
                    lambda c: ~on(c), lambda c: [])]  # fmt: skip
    return [Law(f"{name}: moves ignore walls (wrong precondition)", o, "wrong", on, lambda c: [(step(c), P["move"])]),
            Law(f"{name}: moves always succeed (wrong effect)", o, "wrong", free, lambda c: [(step(c), 1.0)]),
            Law(f"{name}: bumping a wall throws back w.p. 0.5 (wrong effect)", o, "wrong",
                lambda c: on(c) & (c.target == WALL), lambda c: [(-step(c), 0.5)])]  # fmt: skip


def true_laws(g: Grid) -> list[Law]:
    """The world's rules (_wm_grid.step) as laws: per observable exclusive and exhaustive."""
    off_thorn = lambda c: c.here != THORN  # noqa: E731
    fasting = lambda c: ~c.fed & (c.A != REST)  # noqa: E731
    return _axis_laws(X, "true") + _axis_laws(Y, "true") + [
        Law(f"energy: eating carried food gives +2 w.p. {P['eat2']}, else +1", E, "true",
            lambda c: c.fed, lambda c: [(2, P["eat2"]), (1, 1 - P["eat2"])]),
        Law(f"energy: resting while dry gives +1 w.p. {P['rest']}", E, "true",
            lambda c: (c.A == REST) & (c.rain == 0), lambda c: [(1, P["rest"])]),
        Law("energy: resting in the rain changes nothing", E, "true",
            lambda c: (c.A == REST) & (c.rain == 1), lambda c: []),
        Law(f"energy: other steps while dry cost 1 w.p. {P['decay_dry']}", E, "true",
            lambda c: fasting(c) & (c.rain == 0), lambda c: [(-1, P["decay_dry"])]),
        Law(f"energy: other steps in the rain cost 1 w.p. {P['decay_rain']}", E, "true",
            lambda c: fasting(c) & (c.rain == 1), lambda c: [(-1, P["decay_rain"])]),
        Law(f"health: standing on a thorn costs 1 w.p. {P['thorn']}", H, "true",
            lambda c: c.here == THORN, lambda c: [(-1, P["thorn"])]),
        Law(f"health: starving (energy 0) costs 1 w.p. {P['starve']}", H, "true",
            lambda c: off_thorn(c) & (c.energy == 0), lambda c: [(-1, P["starve"])]),
        Law(f"health: energy >= {HEAL_AT} heals 1 w.p. {P['heal']}", H, "true",
            lambda c: off_thorn(c) & (c.energy >= HEAL_AT), lambda c: [(1, P["heal"])]),
        Law("health: otherwise unchanged", H, "true",
            lambda c: off_thorn(c) & (c.energy > 0) & (c.energy < HEAL_AT), lambda c: []),
        Law(f"inventory: collecting on a bush with room gains 1 w.p. {P['collect']}", I, "true",
            lambda c: c.can_collect, lambda c: [(1, P["collect"])]),
        Law("inventory: eating consumes 1 food", I, "true", lambda c: c.fed, lambda c: [(-1, 1.0)]),
        Law("inventory: otherwise unchanged", I, "true", lambda c: ~c.can_collect & ~c.fed, lambda c: []),
        Law(f"rain: starts w.p. {P['rain_start']}", R, "true", lambda c: c.rain == 0, lambda c: [(1, P["rain_start"])]),
        Law(f"rain: stops w.p. {P['rain_stop']}", R, "true", lambda c: c.rain == 1, lambda c: [(-1, P["rain_stop"])]),
    ]  # fmt: skip


def wrong_laws(g: Grid) -> list[Law]:
    """Plausible mistakes: each a true law with its precondition or its effect changed."""
    fed = lambda c: c.fed  # noqa: E731
    return _axis_laws(X, "wrong") + _axis_laws(Y, "wrong") + [
        Law("energy: eating feeds even with nothing carried (wrong precondition)", E, "wrong",
            lambda c: c.A == EAT, lambda c: [(2, P["eat2"]), (1, 1 - P["eat2"])]),
        Law("energy: eating gives +1 w.p. 0.8 (wrong effect)", E, "wrong", fed, lambda c: [(1, 0.8)]),
        Law("energy: decay ignores the weather (wrong precondition)", E, "wrong",
            lambda c: ~c.fed & (c.A != REST), lambda c: [(-1, 0.4)]),
        Law("energy: drains by 1 w.p. 0.9 unless eating (wrong effect)", E, "wrong",
            lambda c: ~c.fed, lambda c: [(-1, 0.9)]),
        Law("energy: resting works in the rain too (wrong precondition)", E, "wrong",
            lambda c: c.A == REST, lambda c: [(1, P["rest"])]),
        Law("health: thorns hurt when stepped onto (wrong precondition)", H, "wrong",
            lambda c: ((c.dx != 0) | (c.dy != 0)) & (c.target == THORN), lambda c: [(-1, P["thorn"])]),
        Law("health: starving at energy 2 or less (wrong precondition)", H, "wrong",
            lambda c: c.energy <= 2, lambda c: [(-1, P["starve"])]),
        Law("health: heals whenever off thorns (wrong precondition)", H, "wrong",
            lambda c: c.here != THORN, lambda c: [(1, P["heal"])]),
        Law("health: rain hurts (wrong precondition and effect)", H, "wrong",
            lambda c: c.rain == 1, lambda c: [(-1, 0.3)]),
        Law("inventory: collecting works anywhere (wrong precondition)", I, "wrong",
            lambda c: (c.A == COLLECT) & (c.inventory < g.max_inventory), lambda c: [(1, P["collect"])]),
        Law("inventory: collecting gains 2 (wrong effect)", I, "wrong", lambda c: c.can_collect,
            lambda c: [(2, P["collect"])]),
        Law("inventory: eating does not consume (wrong effect)", I, "wrong", fed, lambda c: []),
        Law("rain: the weather is a coin flip every step (wrong effect)", R, "wrong",
            lambda c: np.ones(len(c.A), bool), lambda c: [(1 - 2 * c.rain, 0.5)]),
        Law("rain: once started it never stops (wrong effect)", R, "wrong", lambda c: c.rain == 1, lambda c: []),
    ]  # fmt: skip


def noise_laws(g: Grid, n: int, rng: np.random.Generator) -> list[Law]:
    """n random laws: 'if action == a and obs2 >= t (or < t): obs moves by +-1 w.p. p', p in [0.5, 0.95]."""
    laws = []
    for k in range(n):
        o, o2 = rng.integers(len(OBS), size=2)
        a = int(rng.integers(-1, len(ACTIONS)))  # -1: any action
        t, ge = int(rng.integers(1, g.dims[o2])), bool(rng.integers(2))
        d, p = int(rng.choice([-1, 1])), round(float(rng.uniform(0.5, 0.95)), 2)  # confident: they move the mode

        def pre(c, a=a, o2=o2, t=t, ge=ge):
            hit = c.S[:, o2] >= t if ge else c.S[:, o2] < t
            return hit & (c.A == a) if a >= 0 else hit

        act = f"{ACTIONS[a]} and " if a >= 0 else ""
        laws.append(Law(f"{OBS[o]}: noise {k}: if {act}{OBS[o2]} {'>=' if ge else '<'} {t}: {d:+d} w.p. {p}",
                        int(o), "noise", pre, lambda c, d=d, p=p: [(d, p)]))  # fmt: skip
    return laws


def library(g: Grid, n_noise: int, rng: np.random.Generator) -> list[Law]:
    """The candidate laws: true, then wrong, then noise (the model is not told which is which)."""
    return true_laws(g) + wrong_laws(g) + noise_laws(g, n_noise, rng)
