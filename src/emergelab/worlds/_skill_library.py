"""Skill libraries over rounds: agents play episodes in parallel and share what they abstract.

Agents are split into groups that share one library (a group of 1 is an isolated agent). In each
round every agent plays one episode (_skill_env.play) with its group's library as it stood at the
start of the round; then every skill abstracted in the round joins the group's library, and the
use count of every skill that made an item grows by one (agents try the most-used skill first).
The goals, recipe variations and exploration luck of agent i in round t are the same in every
arm and team size (common random numbers): differences between arms are paired.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emergelab.worlds import _skill_env as E


@dataclass
class Draws:
    goal: np.ndarray  # (T, A) goal item of agent a in round t
    var: np.ndarray  # (T, A, X) recipe of each item in that episode
    u: np.ndarray  # (T, A, X) exploration uniforms


def draw(cfg, rec: E.Recipes, n_agents: int, rng: np.random.Generator) -> Draws:
    T, X, R = cfg.n_rounds, rec.n_items, cfg.n_recipes
    top = np.flatnonzero(rec.level == rec.level.max())
    goal = rng.choice(top, size=(T, n_agents))
    alt = rng.integers(1, R, size=(T, n_agents, X)) if R > 1 else np.zeros((T, n_agents, X), int)
    var = np.where(rng.random((T, n_agents, X)) < cfg.vary, alt, 0)
    var[..., rec.level == 0] = 0
    return Draws(goal, var, rng.random((T, n_agents, X)))


@dataclass
class Curves:
    success: np.ndarray  # (T,) share of agents that made their goal
    steps: np.ndarray  # (T,) mean steps spent
    reuse: np.ndarray  # (T,) needed crafted items made by an existing skill / needed crafted items
    library: np.ndarray  # (T,) skills per library at the end of the round (mean over groups)
    reflect: np.ndarray | None = None  # (T,) reflect=llm: share of abstracted skills written right (nan: none)
    discoveries: list = field(default_factory=list)  # group 0: (round, agent, item, recipe) per new skill
    uses: np.ndarray | None = None  # (X, R) group 0's final use counts


def evolve(cfg, rec: E.Recipes, d: Draws, n_agents: int, group_size: int, workflow: bool = False,
           reflect=None, arm: str = "") -> Curves:  # fmt: skip
    """Play cfg.n_rounds rounds with the first n_agents agents of the draws, in groups of group_size.
    reflect(t, learned, var, arm) -> learned: who abstracts a made item into a skill (None: exact)."""
    T, X, R = cfg.n_rounds, rec.n_items, cfg.n_recipes
    grp = np.arange(n_agents) // group_size
    G = grp[-1] + 1
    lib, use = np.zeros((G, X, R), bool), np.zeros((G, X, R))
    if workflow:  # the top-down agent: the nominal recipe book, nothing else
        lib[:, rec.crafted, 0] = True
    c = Curves(np.zeros(T), np.zeros(T), np.zeros(T), np.zeros(T), np.full(T, np.nan))
    for t in range(T):
        var = d.var[t, :n_agents]
        ep = E.play(rec, lib[grp], use[grp], d.goal[t, :n_agents], var, d.u[t, :n_agents], cfg, workflow)
        if not workflow:
            learned = ep.learned
            if reflect is not None and learned.any():
                learned = reflect(t + 1, learned, var, arm)
                c.reflect[t] = learned.sum() / ep.learned.sum()
            a, x = np.nonzero(learned)
            v = var[a, x]
            for i in np.flatnonzero((grp[a] == 0) & ~lib[0, x, v]):  # first discovery of a skill in group 0
                if not any(dd[2:] == (int(x[i]), int(v[i])) for dd in c.discoveries):
                    c.discoveries.append((t + 1, int(a[i]), int(x[i]), int(v[i])))
            lib[grp[a], x, v] = True
            a, x = np.nonzero(ep.made[:, rec.crafted])
            x = rec.crafted[x]
            np.add.at(use, (grp[a], x, var[a, x]), 1)
        c.success[t], c.steps[t] = ep.success.mean(), ep.steps.mean()
        c.reuse[t] = ep.reused.sum() / max(ep.needed.sum(), 1)
        c.library[t] = lib.sum((1, 2)).mean()
    c.uses = use[0]
    return c


def rounds_to(curve: np.ndarray, level: float, smooth: int) -> int | None:
    """First round (1-based) at which the trailing mean of `smooth` rounds reaches `level`; None: never."""
    k = min(smooth, len(curve))
    means = np.convolve(curve, np.ones(k) / k, mode="valid")  # means[i]: rounds i+1 .. i+k
    hit = np.flatnonzero(means >= level)
    return int(hit[0] + k) if len(hit) else None
