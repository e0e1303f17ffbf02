"""The crafting world of skill_evolution: a recipe tree, its per-episode variations, and one
episode of every agent at once.

Items: n_primitives primitives (level 0, one `gather` action each) and per_level crafted items
at each of levels 1..n_levels. A crafted item has n_recipes alternative recipes of recipe_size
distinct ingredients (one from the level just below, the rest from any lower level); recipe 0
is the nominal one, the recipe book a top-down workflow is written from. In each episode every
agent's environment picks, per item, the nominal recipe or (with probability vary) one of the
alternatives: the world varies, and a plan fixed in advance breaks.

An episode: the agent must craft its goal (an item of the top level) within `horizon` steps.
Copies needed of each item follow from the goal through the episode's true recipes; gathering a
primitive copy and crafting a copy take one step each. Per needed crafted item, bottom-up:
  - skills for it in the agent's library (one per recipe it has learned) are tried most-used
    first; each one that fails (wrong recipe this episode) costs try_cost steps
  - if none fits, the agent explores: it tries untried candidate recipes (n_candidates plausible
    combinations, the true one at a uniform position among those not yet known to fail), try_cost
    steps each, until one works; reflecting on the success it abstracts the item's recipe into a
    new named skill (make_<item>, a macro over its ingredients' skills and gathers)
An item is made when the steps spent so far stay within the horizon; a skill is learned only
from an item actually made. The workflow agent knows the nominal recipes, never explores and
fails at the first item whose recipe changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRIMITIVES = ("wood", "stone", "iron", "fiber", "clay", "sand", "coal", "leather", "wool", "resin", "copper", "flint")
CRAFTED = ("plank", "stick", "rope", "brick", "glass", "ingot", "nail", "cloth", "glue", "handle", "blade", "wheel",
           "hammer", "axe", "pickaxe", "saw", "cart", "lamp", "bow", "shield", "chest", "ladder", "bridge", "forge",
           "loom", "mill", "boat", "house", "tower", "wagon", "anvil", "kiln")  # fmt: skip


@dataclass
class Recipes:
    names: tuple[str, ...]  # (X,) items: primitives first, then crafted by level
    level: np.ndarray  # (X,)
    recipe: np.ndarray  # (X, R, S) ingredient items of each recipe (-1 for primitives)

    @property
    def n_items(self) -> int:
        return len(self.names)

    @property
    def crafted(self) -> np.ndarray:
        return np.flatnonzero(self.level > 0)


def draw_recipes(cfg, rng: np.random.Generator) -> Recipes:
    P, L, W, R, S = cfg.n_primitives, cfg.n_levels, cfg.per_level, cfg.n_recipes, cfg.recipe_size
    level = np.concatenate([np.zeros(P, int), np.repeat(np.arange(1, L + 1), W)])
    X = len(level)
    recipe = np.full((X, R, S), -1)
    for x in range(P, X):
        below = np.flatnonzero(level == level[x] - 1)
        lower = np.flatnonzero(level < level[x])
        seen: set[frozenset] = set()
        for r in range(R):
            while True:  # recipes of an item are distinct ingredient sets (cfg checks that enough exist)
                first = rng.choice(below)
                rest = rng.choice(lower[lower != first], S - 1, replace=False)
                ing = frozenset([int(first), *map(int, rest)])
                if ing not in seen:
                    break
            seen.add(ing)
            recipe[x, r] = sorted(ing)
    return Recipes(PRIMITIVES[:P] + CRAFTED[: X - P], level, recipe)


def skill_name(rec: Recipes, x: int, r: int) -> str:
    return f"make_{rec.names[x]}" + (f"_v{r + 1}" if r else "")


def skill_body(rec: Recipes, x: int, r: int) -> str:
    """The macro a skill names: its ingredients' skills (or gathers), then the craft."""
    parts = [f"gather_{rec.names[i]}" if rec.level[i] == 0 else f"make_{rec.names[i]}" for i in rec.recipe[x, r]]
    return " ; ".join([*parts, f"craft {rec.names[x]}"])


@dataclass
class Episode:
    success: np.ndarray  # (A,) goal made within the horizon
    steps: np.ndarray  # (A,) steps spent (capped at the horizon)
    learned: np.ndarray  # (A, X) bool: a new skill (for the episode's recipe of x) was abstracted
    reused: np.ndarray  # (A,) needed crafted items made by a library skill
    needed: np.ndarray  # (A,) needed crafted items
    made: np.ndarray  # (A, X) bool: items made this episode


def play(rec: Recipes, known: np.ndarray, use: np.ndarray, goal: np.ndarray, var: np.ndarray, u: np.ndarray,
         cfg, workflow: bool = False) -> Episode:  # fmt: skip
    """One episode of A agents. known/use: (A, X, R) each agent's view of its library (bool) and
    its skills' use counts; goal (A,); var (A, X) the episode's recipe of each item; u (A, X)
    uniforms for exploration. workflow: the top-down agent (nominal recipes only, no exploring)."""
    A, X = var.shape
    rows = np.arange(A)
    m = np.zeros((A, X))  # copies needed
    m[rows, goal] = 1
    for x in rec.crafted[::-1]:  # top level first: a product before its ingredients
        ing = rec.recipe[x][var[:, x]]  # (A, S)
        for s in range(ing.shape[1]):
            m[rows, ing[:, s]] += m[:, x]
    needed = m > 0
    steps = m[:, rec.level == 0].sum(1)  # every gather
    made = np.zeros((A, X), bool)
    made[:, rec.level == 0] = needed[:, rec.level == 0] & (steps <= cfg.horizon)[:, None]
    learned = np.zeros((A, X), bool)
    reused = np.zeros(A)
    broken = np.zeros(A, bool)
    order = 1e-3 * np.arange(rec.recipe.shape[1])  # equal use counts: the lower recipe index first
    for x in rec.crafted:  # bottom up: ingredients before products
        v = var[:, x]
        need = needed[:, x]
        if workflow:  # a broken plan stops: its last step is the craft that failed
            cost = np.where(broken, 0, m[:, x])
            broken |= need & (v != 0)  # the plan's recipe fails and it has no other
        else:
            kn = known[:, x]  # (A, R)
            key = -use[:, x] + order  # most-used skill first
            fits = kn[rows, v]
            wasted = np.where(fits, (kn & (key < key[rows, v][:, None])).sum(1), kn.sum(1))
            search = 1 + np.floor(u[:, x] * (cfg.n_candidates - kn.sum(1))).astype(int)  # tries until the true one
            cost = cfg.try_cost * (wasted + np.where(fits, 0, search)) + m[:, x]
            reused += need & fits
        steps = steps + np.where(need, cost, 0)
        made[:, x] = need & (steps <= cfg.horizon) & (~broken if workflow else True)
        if not workflow:
            learned[:, x] = made[:, x] & ~fits
    n_crafted = needed[:, rec.crafted].sum(1)
    return Episode(made[rows, goal], np.minimum(steps, cfg.horizon), learned, reused, n_crafted, made)
