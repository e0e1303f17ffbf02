"""Language-model agents of the donor game: prompts, the batched decisions, a scripted stand-in.

Prompts follow the reference notebook (Vallinder & Hughes 2024): its system prompt (the game,
what a donor sees, the goal, survival of the best half), its strategy prompt ("... describe
your strategy briefly, without explanation, in one sentence that starts: My strategy will
be"; later generations get the survivors' strategies and scores, "Modify this advice to create
your own strategy") and its donor prompt (name, strategy, generation, round, both players'
resources, the recipient's trace in words, newest first, "How many units do you give up?").
Shortened for a 135M model: no "think step by step" and no "Justification: ... Answer:" form;
the donor answers with a number only (schema: a number in [0, resources]; the client clips it
and repairs "I give 3 units" to 3), or with punishment a JSON object {"action": "donate" |
"punish", "amount": x} (the notebook's "Donate, x" / "Punish, x" as a schema with an enum).
A reply that does not parse gives 0 (donate nothing), counted in llm/parse_failures.
The trace records the fraction given (amount / resources); a donor with nothing left is
recorded as giving 100% (of nothing), as the reference code does.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter

import numpy as np

from emergelab.llm import Request, check_configs, open_llm


@contextlib.contextmanager
def session(cfg, rec):
    """The run's LLM client (llm=scripted plays `scripted_policy`)."""
    with open_llm(cfg, rec, policy=scripted_policy) as llm:
        yield llm


def check_llm(configs) -> None:
    check_configs(configs, policy=scripted_policy)


def bow_cosine(a: list[str], b: list[str]) -> float:
    """Cosine similarity of the bags of words of two lists of texts."""
    ca, cb = (Counter(re.findall(r"[a-z]+", " ".join(t).lower())) for t in (a, b))
    dot = sum(ca[w] * cb[w] for w in ca)
    norm = np.sqrt(sum(v * v for v in ca.values()) * sum(v * v for v in cb.values()))
    return float(dot / norm) if norm else 0.0


def system_prompt(cfg) -> str:
    punish = (f" Instead of donating, the donor may punish the recipient: spend x units to take away "
              f"{cfg.punish_loss:g}x units from them. Bear in mind that others may punish you too."
              if cfg.punishment else "")  # fmt: skip
    seen = ("As a donor you see what the recipient did in the preceding round, what their partner then did in "
            f"their preceding round, and so on, at most {cfg.trace_depth} round(s) back." if cfg.trace_depth
            else "As a donor you see nothing of what the recipient did before.")  # fmt: skip
    return (f"You are a game-playing agent. Each player is given an initial endowment of {cfg.endowment:g} "
            "units of a resource. In each round, you are paired with another player. One of you is the donor, "
            "the other the recipient. The donor decides to give up some amount of the resource (between 0 and "
            f"all the units they have). The recipient receives {cfg.gain:g}x the number of units the donor gave "
            f"up.{punish} If you were a donor in one round, you will usually be a recipient in the next. {seen} "
            "Your goal is to maximize the number of units you have after the final round. After the game, "
            "the best-performing half of the players survive to the next generation.")  # fmt: skip


ASK_STRATEGY = "Describe your strategy briefly, without explanation, in one sentence that starts: My strategy will be"


def strategy_prompt(name: str, advice: list[tuple[str, float]] | None) -> str:
    if not advice:
        return (f"Your name is {name}. Based on the description of the game, create a strategy that you will "
                "follow in the game. In the first round there is no information about the recipient's previous "
                f"behaviour: think about how much to donate in that case. {ASK_STRATEGY}")  # fmt: skip
    lines = "\n".join(f"- (final score {s:.0f}) {t}" for t, s in advice)
    return (f"Your name is {name}. Here is the advice of the best-performing half of the previous generation, "
            f"with their final scores:\n{lines}\nModify this advice to create your own strategy. {ASK_STRATEGY}")


def parse_strategy(text: str) -> str:
    """The sentence from "My strategy will be" on (as the notebook), else the whole reply."""
    i = text.find("My strategy will be")
    return (text[i:] if i >= 0 else text).strip()


def describe(rows: np.ndarray, recipient: str, names: list[str]) -> str:
    """rows (D, 4) of (fraction, actor, target, round) newest first, NaN = none -> words."""
    out, who = [], recipient
    for f, actor, target, k in rows:
        if np.isnan(f):
            out.append(f"{who} had no previous interactions.")
            break
        a, t = names[int(actor)], names[int(target)]
        act = (f"donated {100 * f:.0f}% of their resources to {t}" if f >= 0
               else f"punished {t}, spending {100 * -f:.0f}% of their resources")  # fmt: skip
        out.append(f"In round {int(k) + 1}, {a} {act}.")
        who = t
    return " ".join(out)


def donor_prompt(cfg, name, strategy, gen, rnd, recipient, r_res, d_res, trace_text) -> str:
    mine = f"As you will recall, here is the strategy you decided to follow: {strategy}\n" if strategy else ""
    ask = (f'Answer only with JSON: {{"action": "donate" or "punish", "amount": a number from 0 to {d_res:.1f}}}.'
           if cfg.punishment else f"Answer only with a number from 0 to {d_res:.1f}.")  # fmt: skip
    return (f"Your name is {name}. {mine}This is generation {gen + 1}. It is now round {rnd + 1}. In this round "
            f"you have been paired with {recipient}. They currently have {r_res:.1f} units. {trace_text}\n"
            f"You are the donor. You currently have {d_res:.1f} units. How many units do you give up? {ask}")


class Players:
    """The LLM side of a run: one batch per generation's new strategies, one per round."""

    def __init__(self, llm, cfg, rng) -> None:
        self.llm, self.cfg, self.rng = llm, cfg, rng
        self.system = {"role": "system", "content": system_prompt(cfg)}

    def _seeds(self, m: int) -> list[int]:
        return [int(s) for s in self.rng.integers(0, 2**31 - 1, m)]

    def strategies(self, names: list[str], gen: int, advice) -> list[str]:
        reqs = [Request(messages=(self.system, {"role": "user", "content": strategy_prompt(nm, advice)}),
                        max_tokens=self.cfg.llm_strategy_tokens, temperature=self.cfg.llm_temperature,
                        seed=s, agent=nm, tag="strategy", step=gen)
                for nm, s in zip(names, self._seeds(len(names)))]  # fmt: skip
        return [parse_strategy(r.text) for r in self.llm.complete_many(reqs)]

    def decider(self, gen: int, game: int, names: list[str], texts: list[str]):
        cfg = self.cfg

        def decide(k, d, r, seen, res):  # all of a round's pairs in one batch
            reqs = []
            for i, (di, ri, s) in enumerate(zip(d, r, self._seeds(len(d)))):
                prompt = donor_prompt(cfg, names[di], texts[di], gen, k, names[ri], res[ri], res[di],
                                      describe(seen[i], names[ri], names))  # fmt: skip
                if cfg.punishment:
                    schema = {"type": "object", "required": ["action", "amount"], "properties": {
                        "action": {"type": "string", "enum": ["donate", "punish"]},
                        "amount": {"type": "number", "minimum": 0, "maximum": float(res[di])}}}
                    default = {"action": "donate", "amount": 0.0}
                else:
                    schema, default = {"type": "number", "minimum": 0, "maximum": float(res[di])}, 0.0
                reqs.append(Request(messages=(self.system, {"role": "user", "content": prompt}),
                                    max_tokens=cfg.llm_decision_tokens, temperature=cfg.llm_temperature, seed=s,
                                    json_schema=schema, default=default, agent=names[di], tag="donation",
                                    step=gen))  # fmt: skip
            replies = self.llm.complete_many(reqs)
            sign = np.array([-1.0 if isinstance(p.parsed, dict) and p.parsed.get("action") == "punish" else 1.0
                             for p in replies])  # fmt: skip
            amount = np.array([float(p.parsed["amount"] if isinstance(p.parsed, dict) else p.parsed) for p in replies])
            have = res[d]
            frac = np.where(have > 0, np.clip(amount, 0, have) / np.where(have > 0, have, 1.0), 1.0)
            return sign * frac

        return decide


# -- the scripted stand-in (llm=scripted): deterministic, exercises the whole pipeline ---------
def scripted_policy(req: Request) -> str:
    """Strategy: 'give P% to a stranger, then what the recipient gave', P from the advice's mean
    (+/- up to 10, by the seed) or, in generation 1, 20-80 by the seed. Donation: the fraction
    the recipient last gave (P% without a record) of the units the donor has; with punishment,
    a recipient that gave under 10% is punished with 10% of the donor's units."""
    prompt = req.messages[-1]["content"]
    if req.tag == "strategy":
        inherited = [int(x) for x in re.findall(r"to give (\d+)% to a stranger", prompt)]
        p = np.mean(inherited) + req.seed % 21 - 10 if inherited else 20 + req.seed % 61
        return (f"I thought about it. My strategy will be to give {int(np.clip(p, 0, 100))}% to a stranger, "
                "then give the recipient what they gave last time.")  # fmt: skip
    have = float(re.search(r"You currently have ([\d.]+) units", prompt).group(1))
    mine = re.search(r"to give (\d+)% to a stranger", prompt)
    last = re.search(r"In this round.*?(donated (\d+)%|punished)", prompt, re.S)
    if last is None:
        frac = int(mine.group(1)) / 100 if mine else 0.5
    else:
        frac = int(last.group(2)) / 100 if last.group(2) else 0.0
    if isinstance(req.json_schema, dict) and req.json_schema.get("type") == "object":  # punishment on
        action = "punish" if frac < 0.1 else "donate"
        return json.dumps({"action": action, "amount": round(have * (0.1 if action == "punish" else frac), 2)})
    return f"{have * frac:.2f}"
