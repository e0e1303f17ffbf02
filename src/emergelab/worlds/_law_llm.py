"""The language-model agent of law_discovery: a tool-call loop through emergelab.llm.

Each turn the agent sees the system (its name, the output, the inputs and their ranges), every
experiment it has run with its measured output, what went wrong last time, and how many
experiments are left, and answers one JSON object (schema: action in {experiment, submit};
inputs: {name: number}; expression: a string):
    {"action": "experiment", "inputs": {"m1": 1.0, "m2": 2.0, "r": 0.5}}   run one experiment
    {"action": "submit", "expression": "6.7*m1*m2/r**1.5"}                 end with a law
As in NewtonBench, the system is named (gravitation, ...) but the law is shifted, so the
textbook law is wrong. All tasks' agents take their turns in lockstep, one batch per turn
(batched on the local model). Faults are counted per task, never hidden: replies that are not
such JSON (parse_failures, also in llm/parse_failures), experiments with missing or non-numeric
inputs or asked with none left (bad_actions; inputs out of range are clipped and the agent is
told), and submitted expressions that do not parse (failed_submissions: the agent is told why
and may try again). An agent that has not submitted a law that parses after max_turns has
failed the task (RMSLE inf, no match).
"""

from __future__ import annotations

import contextlib
import json
import re

import numpy as np

from emergelab.llm import Request, check_configs, open_llm
from emergelab.measures.laws import LawParseError, parse_law

SCHEMA = {"type": "object", "required": ["action"], "properties": {
    "action": {"type": "string", "enum": ["experiment", "submit"]},
    "inputs": {"type": "object"}, "expression": {"type": "string"}}}  # fmt: skip


@contextlib.contextmanager
def session(cfg, rec):
    with open_llm(cfg, rec, policy=scripted_policy) as llm:
        yield llm


def check_llm(configs) -> None:
    check_configs(configs, policy=scripted_policy)


def system_prompt(task) -> str:
    names = task.inputs
    ranges = "; ".join(f"{k} from {lo:g} to {hi:g}" for k, (lo, hi) in task.ranges.items())
    example = json.dumps({"action": "experiment", "inputs": {k: round(float(np.sqrt(lo * hi)), 3)
                                                             for k, (lo, hi) in task.ranges.items()}})  # fmt: skip
    return (f"You are a scientist in a laboratory where physical laws differ from the textbook. System: "
            f"{task.system}. Find the law that gives {task.output} from {', '.join(names)} ({ranges}). "
            f"Reply with one JSON object and nothing else. To run one experiment: {example}. To finish, submit "
            f"your law as a formula in {', '.join(names)}, for example: "
            f'{{"action": "submit", "expression": "2.5*{names[0]}**2/{names[-1]}**0.5"}}.')  # fmt: skip


def turn_prompt(task, history, note: str, left: int, turn: int, turns: int) -> str:
    lines = [", ".join(f"{k}={v:.4g}" for k, v in x.items()) + f" -> {task.output}={y:.4g}" for x, y in history]
    table = "\n".join(lines) if lines else "(none yet)"
    ask = ("No more turns: submit your law now." if turn == turns - 1 else
           "No experiments left: submit your law now." if left == 0 else
           f"Experiments left: {left}. Run an experiment or submit your law.")  # fmt: skip
    return f"Turn {turn + 1} of {turns}. Experiments so far:\n{table}\n{note}{ask} Answer only with JSON."


class Agents:
    """One LLM agent per task, all taking turns together."""

    def __init__(self, llm, cfg, tasks, labs, seeds: list[int]) -> None:
        self.llm, self.cfg, self.tasks, self.labs, self.seeds = llm, cfg, tasks, labs, seeds  # seed + turn per call

    def run(self) -> list[dict]:
        n = len(self.tasks)
        st = [{"history": [], "note": "", "law": None, "text": "", "parse_failures": 0, "bad_actions": 0,
               "failed_submissions": 0, "turns": 0} for _ in range(n)]  # fmt: skip
        for turn in range(self.cfg.llm_max_turns):
            active = [i for i in range(n) if st[i]["law"] is None]
            if not active:
                break
            reqs = [Request(messages=({"role": "system", "content": system_prompt(self.tasks[i])},
                                      {"role": "user", "content": turn_prompt(self.tasks[i], st[i]["history"],
                                                                              st[i]["note"], self.labs[i].left, turn,
                                                                              self.cfg.llm_max_turns)}),
                            max_tokens=self.cfg.llm_tokens, temperature=self.cfg.llm_temperature,
                            seed=self.seeds[i] + turn, json_schema=SCHEMA, default=None,
                            agent=f"{self.tasks[i].system}/{self.tasks[i].difficulty}", tag="turn", step=i)
                    for i in active]  # fmt: skip
            for i, rep in zip(active, self.llm.complete_many(reqs)):
                st[i]["turns"] += 1
                self._act(i, st[i], rep.parsed if rep.parse_ok else None)
        return st

    def _act(self, i: int, s: dict, reply) -> None:
        task, lab = self.tasks[i], self.labs[i]
        s["note"] = ""
        if not isinstance(reply, dict):
            s["parse_failures"] += 1
            s["note"] = 'Your last reply was not a JSON object with "action": "experiment" or "submit". '
            return
        if reply["action"] == "submit":
            text = reply.get("expression")
            try:
                s["law"], s["text"] = parse_law(text if isinstance(text, str) else "", task.inputs), text
            except LawParseError as e:
                s["failed_submissions"] += 1
                s["note"] = f"Your law could not be used: {e}. "
            return
        x = reply.get("inputs")
        if lab.left == 0:
            s["bad_actions"] += 1
            s["note"] = "You have no experiments left. "
            return
        try:
            vals = {k: float(x[k]) for k in task.inputs}
            if not all(np.isfinite(v) and v > 0 for v in vals.values()):
                raise ValueError
        except (TypeError, KeyError, ValueError):
            s["bad_actions"] += 1
            s["note"] = f"Your experiment needs a positive number for each of {', '.join(task.inputs)}. "
            return
        arr = {k: np.array([v]) for k, v in vals.items()}
        clipped = {k: float(v[0]) for k, v in lab.clip(arr).items()}
        if clipped != vals:
            s["note"] = "Inputs outside their ranges were moved to the nearest end. "
        s["history"].append((clipped, float(lab.run(arr)[0])))


# -- the scripted stand-in (llm=scripted): deterministic, exercises every path of the loop ----
def scripted_policy(req: Request) -> str:
    """A careful scientist: runs 2 (d + 1) experiments at points drawn log-uniformly from its
    seed, then submits the log-log least-squares law (exponents rounded to halves/thirds when
    within 0.05). To exercise the fault counters, by the agent's seed mod 5: 0 answers its
    first turn in prose (a parse failure), 1 first submits a law in words (a failed
    submission), 2 first asks an experiment without inputs (a bad action)."""
    from emergelab.worlds._law_agents import power_law, simple_rational

    system, user = req.messages[0]["content"], req.messages[-1]["content"]
    ranges = {k: (float(lo), float(hi)) for k, lo, hi in re.findall(r"(\w+) from ([-\d.e+]+) to ([-\d.e+]+)", system)}
    names = list(ranges)
    rows = re.findall(r"^(.*) -> \w+=([-\d.e+]+)$", user, re.M)
    left_m = re.search(r"Experiments left: (\d+)", user)
    left = int(left_m.group(1)) if left_m else 0
    turn = int(re.search(r"Turn (\d+) of", user).group(1)) - 1
    quirk = (req.seed - turn) % 5  # the agent's own seed: requests are seeded seed + turn
    first = turn == 0
    if first and quirk == 0:
        return "I will start by measuring the output at a few points."
    if first and quirk == 2:
        return json.dumps({"action": "experiment"})
    if left > 0 and len(rows) < 2 * (len(names) + 1):
        rng = np.random.default_rng(req.seed)
        x = {k: float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) for k, (lo, hi) in ranges.items()}
        return json.dumps({"action": "experiment", "inputs": {k: round(v, 4) for k, v in x.items()}})
    if quirk == 1 and "could not be used" not in user:
        return json.dumps({"action": "submit", "expression": f"{names[0]} times {names[-1]}"})
    if len(rows) < len(names) + 1:  # too few points to fit: a guess
        return json.dumps({"action": "submit", "expression": "*".join(names)})
    X = np.log([[float(v) for v in re.findall(r"=([-\d.e+]+)", r)] for r, _ in rows])
    y = np.log([float(v) for _, v in rows])
    coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(y)), X]), y, rcond=None)
    a = coef[1:]
    r = simple_rational(a)
    exps = np.where(np.abs(a - r) <= 0.05, r, np.round(a, 3))
    return json.dumps({"action": "submit", "expression": power_law(float(np.exp(np.mean(y - X @ exps))), names, exps)})
