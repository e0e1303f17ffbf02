"""Language-model customers of the marketplace: which proposal to pay for.

As in Magentic Marketplace (Bansal et al. 2025, arXiv 2510.25779) the assistant agent, acting
for a customer, sees the proposals that businesses sent in the order they arrived and pays for
at most one; the paper finds every model it tried favours the first proposal. Here only that
decision is the model's (search and contact are scripted), so the arrival rank of what it
accepts measures its first-proposal bias directly. One batch per contact round; the reply is
a number (0 = none), schema integer in [0, k]; one that does not parse accepts none (counted
in llm/parse_failures). llm=scripted plays `scripted_policy`: the largest surplus among the
proposals that cover the whole request, the same choice as accept=best, through the whole
pipeline (prompts, parsing, cache, transcript).
"""

from __future__ import annotations

import contextlib
import re

import numpy as np

from emergelab.llm import Request, check_configs, open_llm
from emergelab.worlds._market_agents import ITEMS

SYSTEM = ("You are a shopping assistant acting for a customer in a food-delivery marketplace. You asked "
          "restaurants for the customer's order and they sent proposals. You may pay for at most one proposal. "
          "The customer gains the value of the requested dishes the proposal includes, minus the price paid.")  # fmt: skip


@contextlib.contextmanager
def session(cfg, rec):
    with open_llm(cfg, rec, policy=scripted_policy) as llm:
        yield llm


def check_llm(configs) -> None:
    check_configs(configs, policy=scripted_policy)


def prompt(wants: list[tuple[str, float]], offers: list[tuple[str, list[str], float]]) -> str:
    """wants: (dish, value); offers: (business, dishes, price) in arrival order."""
    w = ", ".join(f"{d} (worth ${v:.2f} to them)" for d, v in wants)
    lines = "\n".join(f"{i}. {b} offers {', '.join(ds)} for ${p:.2f}." for i, (b, ds, p) in enumerate(offers, 1))
    return (f"The customer wants: {w}.\nProposals, in the order they arrived:\n{lines}\n"
            f"Which proposal do you pay for? Answer only with its number (1 to {len(offers)}), or 0 for none.")


class Customers:
    """The LLM side of a run: one batch of acceptance decisions per contact round."""

    def __init__(self, llm, cfg, rng: np.random.Generator) -> None:
        self.llm, self.cfg, self.rng = llm, cfg, rng
        self.system = {"role": "system", "content": SYSTEM}

    def choose(self, r, m, step: int) -> np.ndarray:
        """(C,) column of the accepted proposal in round r, -1 for none (as _market_agents.choose)."""
        out = np.full(len(r.biz), -1)
        asking = np.flatnonzero(r.k > 0)
        seeds = self.rng.integers(0, 2**31 - 1, len(asking))
        reqs, cols = [], []
        for c, s in zip(asking, seeds):
            j = np.flatnonzero(r.has[c])
            j = j[np.argsort(r.rank[c, j])]  # arrival order
            wants = [(ITEMS[v], float(m.worth[c, v])) for v in np.flatnonzero(m.needs[c])]
            offers = [(f"Restaurant {r.biz[c, i] + 1}", [ITEMS[v] for v in np.flatnonzero(m.needs[c] & m.menu[r.biz[c, i]])],
                       float(r.price[c, i])) for i in j]  # fmt: skip
            reqs.append(Request(messages=(self.system, {"role": "user", "content": prompt(wants, offers)}),
                                max_tokens=self.cfg.llm_choice_tokens, temperature=self.cfg.llm_temperature,
                                seed=int(s), json_schema={"type": "integer", "minimum": 0, "maximum": len(j)},
                                default=0, agent=f"customer {c + 1}", tag="accept", step=step))  # fmt: skip
            cols.append(j)
        for c, j, rep in zip(asking, cols, self.llm.complete_many(reqs)):
            pick = int(rep.parsed or 0)
            out[c] = j[pick - 1] if 1 <= pick <= len(j) else -1
        return out


_WANT = re.compile(r"(\w+) \(worth \$([\d.]+) to them\)")
_OFFER = re.compile(r"^(\d+)\. .+? offers (.+) for \$([\d.]+)\.$", re.M)


def scripted_policy(req: Request) -> str:
    """The proposal covering every wanted dish with the largest value - price >= 0, else 0."""
    text = req.messages[-1]["content"]
    wants = {d: float(v) for d, v in _WANT.findall(text)}
    best, pick = -1e-9, 0
    for i, dishes, price in _OFFER.findall(text):
        ds = set(dishes.split(", "))
        if set(wants) <= ds and sum(wants.values()) - float(price) > best:
            best, pick = sum(wants.values()) - float(price), int(i)
    return str(pick)
