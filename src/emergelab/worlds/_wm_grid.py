"""The stochastic grid world of world_model.py: terrain, its true transition function, and
the ways of collecting transitions from it (one unguided life; random held-out scenarios).

A state is one integer vector per agent over six observables (OBS): column x, row y, energy,
health, inventory (food carried) and rain (0/1). The terrain is static: floor, wall, bush
(food to collect) and thorn (hurts who stands on it); the border is wall. Actions: rest,
up, down, left, right, collect, eat. `step` is written directly from the rules below and is
vectorised over a batch of states; the true laws in _wm_laws.py restate the same rules as
precondition/effect pairs, and tests check the two agree (so neither is derived from the other).

Rules (probabilities in P, shared so both descriptions use the same numbers):
  move     the target cell is not a wall: moved with p=move, else slipped in place;
           into a wall: position unchanged
  energy   eat with food carried: +2 (p=eat2) else +1; rest while dry: +1 with p=rest;
           rest in the rain: unchanged; any other step (incl. eating with nothing): -1 with
           p=decay_dry or p=decay_rain
  health   standing on a thorn: -1 with p=thorn; else energy 0: -1 with p=starve; else
           energy >= heal_at: +1 with p=heal; else unchanged (energy read before the step)
  inventory  collect on a bush with room: +1 with p=collect; eat with food: -1
  rain     dry -> rain with p=rain_start; rain -> dry with p=rain_stop
All values are clipped to their ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OBS = ("x", "y", "energy", "health", "inventory", "rain")
X, Y, E, H, I, R = range(6)
ACTIONS = ("rest", "up", "down", "left", "right", "collect", "eat")
REST, UP, DOWN, LEFT, RIGHT, COLLECT, EAT = range(7)
DX = np.array([0, 0, 0, -1, 1, 0, 0])
DY = np.array([0, -1, 1, 0, 0, 0, 0])
FLOOR, WALL, BUSH, THORN = range(4)
# the most likely outcome of a rule depends on its context (rest: +1, rest in rain: 0, a step in
# the rain: -1, when dry: 0), so a model must get the preconditions right to rank well
P = {"move": 0.9, "eat2": 0.8, "rest": 0.9, "decay_dry": 0.05, "decay_rain": 0.6, "thorn": 0.8,
     "starve": 0.8, "heal": 0.6, "collect": 0.9, "rain_start": 0.04, "rain_stop": 0.2}
HEAL_AT = 4


@dataclass(frozen=True)
class Grid:
    """The static world: terrain (height, width) and the observables' upper bounds."""

    terrain: np.ndarray
    max_energy: int
    max_health: int
    max_inventory: int

    @property
    def dims(self) -> tuple[int, ...]:
        """Number of values of each observable (its domain is 0..dim-1)."""
        h, w = self.terrain.shape
        return (w, h, self.max_energy + 1, self.max_health + 1, self.max_inventory + 1, 2)


def make_grid(rng: np.random.Generator, width: int, height: int, walls: float, bushes: float,
              thorns: float, max_energy: int, max_health: int, max_inventory: int) -> Grid:  # fmt: skip
    """Border walls, then each interior cell independently wall / bush / thorn / floor."""
    u = rng.random((height, width))
    t = np.select([u < walls, u < walls + bushes, u < walls + bushes + thorns], [WALL, BUSH, THORN], FLOOR)
    t[0, :] = t[-1, :] = t[:, 0] = t[:, -1] = WALL
    if not (t != WALL).any():  # a world needs somewhere to stand
        t[1, 1] = FLOOR
    return Grid(t, max_energy, max_health, max_inventory)


def step(S: np.ndarray, A: np.ndarray, g: Grid, u: np.ndarray) -> np.ndarray:
    """Next states of a batch: S (N, 6) ints, A (N,) actions, u (N, 6) uniforms in [0, 1)
    (one per observable, so a batch is reproducible whatever its order) -> (N, 6)."""
    x, y, e, h, i, r = S.T
    tx, ty = x + DX[A], y + DY[A]
    moving = (DX[A] != 0) | (DY[A] != 0)
    ok = moving & (g.terrain[ty, tx] != WALL) & (u[:, X] < P["move"])
    here = g.terrain[y, x]

    eating = (A == EAT) & (i > 0)
    gain = np.where(u[:, E] < P["eat2"], 2, 1)
    decay = u[:, E] < np.where(r == 1, P["decay_rain"], P["decay_dry"])
    de = np.where(eating, gain, np.where(A == REST, (r == 0) & (u[:, E] < P["rest"]), -decay.astype(int)))

    thorn = here == THORN
    hurt = lambda p: -(u[:, H] < p).astype(np.int64)  # noqa: E731
    dh = np.where(thorn, hurt(P["thorn"]), np.where(e == 0, hurt(P["starve"]), (e >= HEAL_AT) & (u[:, H] < P["heal"])))
    di = np.where(eating, -1, (A == COLLECT) & (here == BUSH) & (i < g.max_inventory) & (u[:, I] < P["collect"]))
    r2 = np.where(r == 0, u[:, R] < P["rain_start"], u[:, R] >= P["rain_stop"])

    out = np.column_stack([np.where(ok, tx, x), np.where(ok, ty, y), np.clip(e + de, 0, g.max_energy),
                           np.clip(h + dh, 0, g.max_health), np.clip(i + di, 0, g.max_inventory), r2])
    return out.astype(np.int64)


def explore(g: Grid, n_steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One life of unguided exploration: uniformly random actions from a random free cell with
    half energy, full health, nothing carried, dry weather. Returns S (T, 6), A (T,), S' (T, 6)."""
    free = np.argwhere(g.terrain != WALL)
    y0, x0 = free[rng.integers(len(free))]
    s = np.array([[x0, y0, g.max_energy // 2, g.max_health, 0, 0]], dtype=np.int64)
    A = rng.integers(0, len(ACTIONS), n_steps)
    U = rng.random((n_steps, len(OBS)))
    S = np.empty((n_steps + 1, len(OBS)), np.int64)
    S[0] = s[0]
    for t in range(n_steps):  # a life is sequential; each step is the batch step with N = 1
        S[t + 1] = step(S[t:t + 1], A[t:t + 1], g, U[t:t + 1])[0]
    return S[:-1], A, S[1:]


def scenarios(g: Grid, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n held-out transitions from states drawn uniformly (any free cell, any value of the other
    observables) and random actions: every rule gets tested, also where one life rarely goes."""
    free = np.argwhere(g.terrain != WALL)
    cell = free[rng.integers(len(free), size=n)]
    hi = np.array(g.dims[2:])
    S = np.column_stack([cell[:, 1], cell[:, 0], rng.integers(0, hi, size=(n, len(hi)))]).astype(np.int64)
    A = rng.integers(0, len(ACTIONS), n)
    return S, A, step(S, A, g, rng.random((n, len(OBS))))
