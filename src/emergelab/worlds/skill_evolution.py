"""Bottom-up skill evolution: agents that abstract and share skills outgrow a top-down workflow.

Paper: J. Du, J. Jiang, Y. Liu et al. (2025), "Rethinking Agent Design: From Top-Down Workflows
to Bottom-Up Skill Evolution" (arXiv 2505.17673). Instead of a workflow designed in advance, the
agents explore an environment, reflect on what worked, abstract successful action sequences
into named skills and share a skill library; the paper shows agents that start from nothing
and reach a task's success through the skills they evolve, and that more agents sharing a
library accelerate the collective.

Effect: a crafting world (_skill_env.py): primitives to gather, crafted items whose recipes
need lower items, and per-episode variation (each recipe is, with probability vary, one of its
alternatives). Each agent plays one episode per round: make its goal (an item of the top level)
within `horizon` steps, using the skills of its library (make_<item>: a macro over ingredient
skills and gathers) or, where none fits, exploring candidate recipes (try_cost steps a try);
every item it makes by exploring becomes a new skill. Three arms on the same draws
(_skill_library.py):
  shared     n_teams teams of n_agents agents; a team's agents share one library
  isolated   the same agents, each with its own library
  workflow   a fixed top-down plan from the nominal recipe book: perfect until a recipe varies
and the team-size sweep: teams of n for n in team_sizes, the same number of teams.
reflect=llm: a language model writes each new skill from the trace of tries (_skill_llm.py); a
skill it gets wrong is discarded, so the item must be explored again.

Logged per round (step = round): success/{shared,isolated,workflow}, steps/... (mean steps
spent), reuse/{shared,isolated} (needed crafted items made by an existing skill), library/
{shared,isolated} (skills per library), team/success_n{n}; reflect=llm also reflect/{shared,isolated}
(share of abstractions written right) and llm/*. Summary: each arm's success in the
first and last quarter of the rounds, final library and reuse, rounds_to_level per team size
(first round at which the trailing mean success over `smooth` rounds reaches `level`) and the
speed-up rounds(1) / rounds(n). Artefacts: library (team 0's skills: name, macro, when and by
whom discovered, uses), recipes.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emergelab.lab.config import param
from emergelab.lab.registry import World, register
from emergelab.llm.settings import LLMSettings
from emergelab.worlds import _skill_env as E
from emergelab.worlds import _skill_library as S


@dataclass(frozen=True)
class SkillEvolutionConfig(LLMSettings):
    seed: int = param(0, "seeds the recipe tree (its own stream), the episodes' goals, variations and luck, and "
                         "LLM sampling")  # fmt: skip
    reflect: Literal["exact", "llm"] = param(
        "exact", "who abstracts an item made by exploring into a skill: exact (always right) or llm (a language "
                 "model reads the tries and writes the recipe; a wrong one is discarded)")  # fmt: skip
    n_agents: int = param(8, "agents sharing one library in the shared arm (and the isolated arm's agents per team)")
    n_teams: int = param(16, "independent teams (libraries) per arm and team size, averaged")
    n_rounds: int = param(60, "rounds; every agent plays one episode per round")
    n_primitives: int = param(6, f"primitive items (at most {len(E.PRIMITIVES)})")
    n_levels: int = param(4, "levels of crafted items above the primitives")
    per_level: int = param(4, "crafted items per level (goals are the top level's)")
    recipe_size: int = param(2, "ingredients per recipe")
    n_recipes: int = param(2, "alternative recipes per crafted item (0 is the nominal one)")
    vary: float = param(0.1, "chance an item's recipe in an episode is an alternative, not the nominal one")
    n_candidates: int = param(30, "candidate recipes an exploring agent considers for an item")
    try_cost: int = param(3, "steps one recipe experiment costs (a failed skill or an exploring try)")
    horizon: int = param(60, "steps an episode allows")
    team_sizes: tuple[int, ...] = param((1, 2, 4, 8, 16), "team sizes of the speed-up sweep")
    level: float = param(0.8, "success level for the time-to-level of the speed-up sweep")
    smooth: int = param(5, "rounds averaged when testing whether the success level is reached")
    llm_tokens: int = param(32, "reflect=llm: max new tokens of a written skill")

    def __post_init__(self) -> None:
        super().__post_init__()
        for k in ("n_agents", "n_teams", "n_rounds", "n_primitives", "n_levels", "per_level", "recipe_size",
                  "n_recipes", "n_candidates", "horizon", "smooth", "llm_tokens"):  # fmt: skip
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if self.try_cost < 0:
            raise ValueError(f"try_cost must be >= 0, got {self.try_cost}")
        if self.n_primitives > len(E.PRIMITIVES):
            raise ValueError(f"n_primitives must be at most {len(E.PRIMITIVES)}, got {self.n_primitives}")
        if self.n_levels * self.per_level > len(E.CRAFTED):
            raise ValueError(f"n_levels x per_level must be at most {len(E.CRAFTED)}, got "
                             f"{self.n_levels * self.per_level}")  # fmt: skip
        if self.recipe_size < 2 or self.recipe_size > self.n_primitives:
            raise ValueError(f"recipe_size must be in [2, n_primitives={self.n_primitives}], got {self.recipe_size}")
        if self.n_recipes > self.n_candidates:
            raise ValueError(f"n_recipes ({self.n_recipes}) must not exceed n_candidates ({self.n_candidates})")
        from math import comb

        if self.n_recipes > comb(self.n_primitives - 1, self.recipe_size - 1):
            raise ValueError(f"too few ingredient sets for {self.n_recipes} distinct recipes per item: lower "
                             "n_recipes or recipe_size, or add primitives")  # fmt: skip
        for k in ("vary", "level"):
            if not 0 <= getattr(self, k) <= 1:
                raise ValueError(f"{k} must be in [0, 1], got {getattr(self, k)}")
        if not self.team_sizes or min(self.team_sizes) < 1:
            raise ValueError(f"team_sizes must be positive integers, got {self.team_sizes}")


ARMS = ("shared", "isolated", "workflow")


def run(cfg: SkillEvolutionConfig, rec) -> None:
    import pandas as pd

    rng_env, rng_play, rng_llm = (np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(3))
    recipes = E.draw_recipes(cfg, rng_env)
    A = cfg.n_teams * max(cfg.n_agents, *cfg.team_sizes)
    d = S.draw(cfg, recipes, A, rng_play)
    N = cfg.n_agents * cfg.n_teams
    sizes = sorted(set(cfg.team_sizes))
    rec.set_total(len(ARMS) + len(sizes))
    L = None
    if cfg.reflect == "llm":
        from emergelab.worlds import _skill_llm as L
    with L.open_session(cfg, rec) if L else contextlib.nullcontext() as llm:
        reflect = L.Reflector(llm, cfg, recipes, rng_llm) if L else None

        def evolve(n, size, arm, **kw):
            return S.evolve(cfg, recipes, d, n, size, reflect=reflect, arm=arm, **kw)

        curves = {"shared": evolve(N, cfg.n_agents, "shared"), "isolated": evolve(N, 1, "isolated"),
                  "workflow": evolve(N, 1, "workflow", workflow=True)}  # fmt: skip
        teams = {n: curves["shared"] if n == cfg.n_agents else evolve(n * cfg.n_teams, n, f"team of {n}")
                 for n in sizes}  # fmt: skip
        if llm is not None:
            llm.log(cfg.n_rounds)
    steps = np.arange(1, cfg.n_rounds + 1)
    for arm, c in curves.items():
        rec.log_many(f"success/{arm}", steps, c.success)
        rec.log_many(f"steps/{arm}", steps, c.steps)
        if arm != "workflow":
            rec.log_many(f"reuse/{arm}", steps, c.reuse)
            rec.log_many(f"library/{arm}", steps, c.library)
            if reflect is not None:
                rec.log_many(f"reflect/{arm}", steps, c.reflect)
    to_level = {}
    for n, c in teams.items():
        rec.log_many(f"team/success_n{n}", steps, c.success)
        to_level[n] = S.rounds_to(c.success, cfg.level, cfg.smooth)
    q = max(cfg.n_rounds // 4, 1)
    summary: dict[str, Any] = {}
    for arm, c in curves.items():
        summary[f"success_first_{arm}"] = float(c.success[:q].mean())
        summary[f"success_last_{arm}"] = float(c.success[-q:].mean())
        if arm != "workflow":
            summary[f"library_final_{arm}"] = float(c.library[-1])
            summary[f"reuse_last_{arm}"] = float(c.reuse[-q:].mean())
    base = to_level.get(1)
    summary["rounds_to_level"] = {str(n): r for n, r in to_level.items()}
    summary["speedup"] = {str(n): (base / r if base and r else None) for n, r in to_level.items()}
    sh = curves["shared"]
    rec.artefact("library", pd.DataFrame(
        [{"skill": E.skill_name(recipes, x, v), "item": recipes.names[x], "level": int(recipes.level[x]),
          "recipe": v, "macro": E.skill_body(recipes, x, v), "round": t, "agent": a, "uses": int(sh.uses[x, v])}
         for t, a, x, v in sh.discoveries],
        columns=["skill", "item", "level", "recipe", "macro", "round", "agent", "uses"]))  # fmt: skip
    rec.artefact("recipes", pd.DataFrame(
        [{"item": recipes.names[x], "level": int(recipes.level[x]), "recipe": r,
          "ingredients": " + ".join(recipes.names[i] for i in recipes.recipe[x, r])}
         for x in recipes.crafted for r in range(cfg.n_recipes)]))  # fmt: skip
    if reflect is not None:
        summary["reflect_accuracy"] = reflect.right / reflect.asked if reflect.asked else None
    rec.summarize(**summary)


def summarize(curves) -> dict[str, Any]:
    """Each arm's success in the last logged round."""
    return {f"success_final_{c.split('/', 1)[1]}": float(curves[c].dropna().iloc[-1])
            for c in curves.columns if c.startswith("success/") and curves[c].notna().any()}  # fmt: skip


def check(configs) -> None:
    """Before anything is written: the LLM backend of every reflect=llm run is usable."""
    if any(c.reflect == "llm" for c in configs):
        from emergelab.worlds._skill_llm import check_llm

        check_llm([c for c in configs if c.reflect == "llm"])


register(World(
    name="skill_evolution",
    paper="J. Du et al. (2025), Rethinking Agent Design: From Top-Down Workflows to Bottom-Up Skill Evolution "
          "(arXiv 2505.17673)",
    effect="agents that explore, abstract successful action sequences into named skills and share a library "
           "overtake a top-down workflow when the world varies; more sharing agents reach success sooner",
    config=SkillEvolutionConfig,
    run=run,
    presets={
        "paper": {},
        "quick": {},  # ~3 s on 2 busy cores
        "tiny": {"n_agents": 3, "n_teams": 2, "n_rounds": 8, "n_levels": 2, "per_level": 3, "team_sizes": (1, 3)},
        "llm-quick": {"reflect": "llm", "n_agents": 2, "n_teams": 1, "n_rounds": 6, "n_levels": 2, "per_level": 2,
                      "team_sizes": (1, 2)},
    },
    watch=("success/shared",),
    summarize=summarize,
    check=check,
    look_for="success/shared climbing past success/workflow (which stays at the share of episodes whose recipes "
             "did not vary) while success/isolated lags; library/shared and reuse/shared growing; team/success_n* "
             "reaching the level sooner for larger teams (summary: rounds_to_level, speedup). "
             "docs/worlds/skill_evolution.md"))
