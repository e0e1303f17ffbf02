"""A language model as the reflection step of skill_evolution: from an episode's trace of
crafting tries it writes the new skill (the ingredients make_<item> needs).

In Du et al. (2025, "Rethinking Agent Design: From Top-Down Workflows to Bottom-Up Skill
Evolution") the agent reflects on what it did and abstracts successful action sequences into
skills. Here exploration stays scripted; after an episode, for every item the agent made by
exploring, the model reads the trace of its tries (a few failed ingredient pairs, then the one
that worked, as the environment reported them) and answers a JSON list of item names. A skill
enters the library only when the answer names exactly the recipe that worked (a wrong skill is
discarded at its first use: the item is explored again later); accuracy is logged as reflect/*.
One batch per round and arm; a reply that does not parse writes no skill (llm/parse_failures).
llm=scripted plays `scripted_policy`, which copies the successful try (for tests: it learns
exactly what reflect=exact learns).
"""

from __future__ import annotations

import re

import numpy as np

from emergelab.llm import Request, check_configs, open_llm

SYSTEM = ("You are a crafting agent that turns what worked into reusable skills. A skill names the ingredients "
          "an item is crafted from.")  # fmt: skip
SCHEMA = {"type": "array", "items": {"type": "string"}}
MAX_FAILED = 3  # failed tries shown before the success


def open_session(cfg, rec):
    return open_llm(cfg, rec, policy=scripted_policy)


def check_llm(configs) -> None:
    check_configs(configs, policy=scripted_policy)


def prompt(item: str, tries: list[tuple[list[str], bool]]) -> str:
    lines = "\n".join(f"- tried {' + '.join(ing)}: " + (f"success, you got a {item}" if ok else "failed")
                      for ing, ok in tries)  # fmt: skip
    return (f"In your last episode you tried to craft a {item}:\n{lines}\n"
            f"Write the skill make_{item}: which ingredients does it need? Answer with a JSON list of item names.")


class Reflector:
    """reflect(t, learned, var, arm) -> learned, keeping only the skills the model wrote right."""

    def __init__(self, llm, cfg, recipes, rng: np.random.Generator) -> None:
        self.llm, self.cfg, self.rec, self.rng = llm, cfg, recipes, rng
        self.system = {"role": "system", "content": SYSTEM}
        self.right = self.asked = 0

    def __call__(self, t: int, learned: np.ndarray, var: np.ndarray, arm: str) -> np.ndarray:
        rec, out = self.rec, learned.copy()
        a_idx, x_idx = np.nonzero(learned)
        if not len(a_idx):
            return out
        reqs, truth = [], []
        for a, x in zip(a_idx, x_idx):
            true = sorted(rec.names[i] for i in rec.recipe[x, var[a, x]])
            lower = np.flatnonzero(rec.level < rec.level[x])
            tries = []
            for _ in range(self.rng.integers(0, MAX_FAILED + 1)):
                ing = sorted(rec.names[i] for i in self.rng.choice(lower, len(true), replace=False))
                if ing != true:
                    tries.append((ing, False))
            tries.append((true, True))
            reqs.append(Request(messages=(self.system, {"role": "user", "content": prompt(rec.names[x], tries)}),
                                max_tokens=self.cfg.llm_tokens, temperature=self.cfg.llm_temperature,
                                seed=int(self.rng.integers(0, 2**31 - 1)), json_schema=SCHEMA, default=None,
                                agent=f"{arm} agent {a + 1}", tag="reflect", step=t))  # fmt: skip
            truth.append(true)
        for i, (rep, true) in enumerate(zip(self.llm.complete_many(reqs), truth)):
            got = rep.parsed if isinstance(rep.parsed, list) else []
            ok = sorted(str(g).strip().lower() for g in got) == true
            out[a_idx[i], x_idx[i]] = ok
            self.right += ok
        self.asked += len(reqs)
        return out


_SUCCESS = re.compile(r"^- tried (.+): success", re.M)


def scripted_policy(req: Request) -> str:
    """The ingredients of the try that succeeded, as a JSON list."""
    m = _SUCCESS.search(req.messages[-1]["content"])
    return "[" + ", ".join(f'"{s}"' for s in m.group(1).split(" + ")) + "]" if m else "[]"
