"""Law discovery by experiment: can an agent find a law it cannot have memorised?

Effect: scientific law discovery as interactive model discovery. Each task hides a
"metaphysically shifted" variant of a canonical law (gravitation F = C m1 m2 / r^1.5 instead of
r^2, Coulomb, Hooke's elastic energy, the ideal gas, Kepler's third law: _law_systems.py) at a
difficulty: easy (one exponent shifted), medium (two or three, some to thirds) or hard (a
changed functional form: an exponential factor or a sum). An agent chooses experiments (input
values), receives noisy measurements (multiplicative log-normal noise, sd `noise` of log y) and
submits a law as an expression. The paper finds LLM agents' discovery fragile: it degrades
precipitously with system complexity and is extremely sensitive to observational noise.

Paper: T. Zheng et al. (2025), "NewtonBench: Benchmarking Generalizable Scientific Law
Discovery in LLM Agents" (arXiv 2510.07172); scores as there: RMSLE on test points drawn
log-uniformly over the inputs' ranges, and symbolic equivalence (measures/laws.py: sympy
simplification of candidate/truth, numeric identity on random points as fallback and check;
constants must agree within const_tol, the RMSLE scores them more finely).

Agents (`agents`): regression, the offline reference (log-log least squares, exponents rounded
to simple rationals when within round_tol: _law_agents.py); brute (every product of powers with
exponents from brute_exponents, times the best constant); llm (a tool-call loop, one JSON action
a turn: run an experiment or submit: _law_llm.py; llm=scripted plays a fitting script). The
offline agents spend the budget at once on a log-space Latin hypercube.

Logged at step t = task t (systems x difficulties x repeats, in that order): law/difficulty
(0 easy, 1 medium, 2 hard, 3 a custom `law`) and per agent A: law/A/rmsle (inf: no law that
parses was submitted), law/A/match (0/1), law/A/experiments; llm also law/llm/parse_failures,
law/llm/bad_actions, law/llm/failed_submissions, law/llm/turns and the llm/* counters (at the
last step). Summary: match_rate_A and median_rmsle_A overall and per difficulty
(match_rate_A_easy, ...); a median that is inf (most submissions failed) reads null in JSON.
Artefact `tasks`: one row per task and agent (the hidden law, the submitted one, scores, the
agent's notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from emergelab.lab.config import param
from emergelab.lab.registry import World, register
from emergelab.llm.settings import LLMSettings
from emergelab.measures.laws import LawParseError, equivalent, law_function, log_uniform, parse_law, rmsle
from emergelab.worlds import _law_agents as agents_mod
from emergelab.worlds._law_systems import DIFFICULTIES, SYSTEMS, Lab, custom_task, tasks

AGENTS = ("regression", "brute", "llm")  # fixed order: each agent's seeds do not depend on which others run
CODES = {"easy": 0, "medium": 1, "hard": 2, "custom": 3}


@dataclass(frozen=True)
class LawDiscoveryConfig(LLMSettings):
    seed: int = param(0, "seeds everything: noise, the agents' designs, test points, LLM sampling")
    systems: tuple[str, ...] = param(tuple(SYSTEMS), f"systems whose shifted laws are hidden ({', '.join(SYSTEMS)})")
    difficulties: tuple[str, ...] = param(DIFFICULTIES, "easy: one shifted exponent; medium: two or three; "
                                                        "hard: a changed functional form")  # fmt: skip
    agents: tuple[str, ...] = param(("regression", "brute"), "who discovers: regression (log-log fit), brute "
                                                             "(power-law search), llm (a language model)")  # fmt: skip
    noise: float = param(0.01, "measurement noise: sd of log y (y times exp(noise N(0,1)))")
    n_experiments: int = param(20, "experiments an agent may run per task")
    repeats: int = param(1, "independent repeats of every task (fresh noise, designs and test points)")
    n_test: int = param(500, "log-uniform test points of the RMSLE")
    const_tol: float = param(0.05, "symbolic match: the constant factor may be off by this relative amount")
    round_tol: float = param(0.03, "regression: round an exponent to a simple rational within this distance")
    brute_exponents: tuple[float, ...] = param(tuple(k / 2 for k in range(-6, 7)), "brute: the exponents it tries")
    law: str = param("", "your own hidden law instead of the systems, e.g. '2*x**1.5/y' (inputs: its names)")
    law_range: tuple[float, ...] = param((0.1, 10.0), "law: the (low, high) range of every input")
    llm_max_turns: int = param(24, "llm: turns per task (each runs one experiment or submits)")
    llm_tokens: int = param(64, "llm: max new tokens of a reply")

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, given, allowed in (("systems", self.systems, SYSTEMS), ("difficulties", self.difficulties,
                                     DIFFICULTIES), ("agents", self.agents, AGENTS)):  # fmt: skip
            bad = [g for g in given if g not in allowed]
            if bad or not given or len(set(given)) != len(given):
                raise ValueError(f"{name} must be distinct names from {', '.join(allowed)}, got {', '.join(given)}")
        if not self.noise >= 0:
            raise ValueError(f"noise must be >= 0, got {self.noise}")
        for k, lo in (("n_experiments", 4), ("repeats", 1), ("n_test", 10), ("llm_max_turns", 1), ("llm_tokens", 8)):
            if getattr(self, k) < lo:
                raise ValueError(f"{k} must be at least {lo}, got {getattr(self, k)}")
        if not (self.const_tol >= 0 and self.round_tol >= 0):
            raise ValueError(f"const_tol and round_tol must be >= 0, got {self.const_tol}, {self.round_tol}")
        if not self.brute_exponents:
            raise ValueError("brute_exponents is empty: give e.g. -2,-1,0,1,2")
        if len(self.law_range) != 2 or not 0 < self.law_range[0] < self.law_range[1]:
            raise ValueError(f"law_range must be two numbers 0 < low < high, got {self.law_range}")
        if self.law:
            try:
                custom_task(self.law, *self.law_range)
            except LawParseError as e:
                raise ValueError(str(e)) from None


def _tasks(cfg: LawDiscoveryConfig):
    one = [custom_task(cfg.law, *cfg.law_range)] if cfg.law else tasks(cfg.systems, cfg.difficulties)
    return [(k, task) for task in one for k in range(cfg.repeats)]


def _score(task, law, x_test, y_test, cfg, seed: int) -> dict[str, Any]:
    if law is None:
        return {"rmsle": float("inf"), "match": 0, "method": "", "factor": float("nan")}
    y = law_function(law, task.inputs)(*x_test.values())
    eq = equivalent(law, task.expr, task.ranges, rtol=cfg.const_tol, seed=seed)
    return {"rmsle": rmsle(y_test, y), "match": int(eq["match"]), "method": eq["method"], "factor": eq["factor"]}


def run(cfg: LawDiscoveryConfig, rec) -> None:
    import pandas as pd

    todo = _tasks(cfg)
    T = len(todo)
    rec.set_total(T)
    # per task: [test points, regression, brute, llm], each agent (noise of its lab, its own draws)
    kids = [ss.spawn(len(AGENTS) + 1) for ss in np.random.SeedSequence(cfg.seed).spawn(T)]
    streams = [[k.spawn(2) for k in ks[1:]] for ks in kids]  # spawned once: spawn() again gives new children
    rng = lambda t, a, j: np.random.default_rng(streams[t][AGENTS.index(a)][j])  # noqa: E731
    tests = []
    for t, (_, task) in enumerate(todo):
        x = log_uniform(task.ranges, cfg.n_test, np.random.default_rng(kids[t][0]))
        tests.append((x, task.f(*x.values())))
    subs: dict[str, list[tuple[Any, str, str, int, dict]]] = {}  # agent -> per task (law, text, notes, used, extra)
    for a in (a for a in cfg.agents if a != "llm"):
        out = []
        for t, (_, task) in enumerate(todo):
            lab = Lab(task, cfg.noise, cfg.n_experiments, rng(t, a, 0))
            text, notes = (agents_mod.regression(lab, rng(t, a, 1), cfg.round_tol) if a == "regression"
                           else agents_mod.brute(lab, rng(t, a, 1), cfg.brute_exponents))  # fmt: skip
            out.append((parse_law(text, task.inputs), text, notes, lab.used, {}))
        subs[a] = out
    if "llm" in cfg.agents:
        from emergelab.worlds import _law_llm as L

        with L.session(cfg, rec) as llm:
            labs = [Lab(task, cfg.noise, cfg.n_experiments, rng(t, "llm", 0)) for t, (_, task) in enumerate(todo)]
            seeds = [int(rng(t, "llm", 1).integers(0, 2**31 - 1 - cfg.llm_max_turns)) for t in range(T)]
            states = L.Agents(llm, cfg, [task for _, task in todo], labs, seeds).run()
            subs["llm"] = [(s["law"], s["text"], f"{len(s['history'])} experiments run", lab.used,
                            {k: s[k] for k in ("parse_failures", "bad_actions", "failed_submissions", "turns")})
                           for s, lab in zip(states, labs)]  # fmt: skip
            llm.log(T - 1)
    rows = []
    for t, (k, task) in enumerate(todo):
        scalars: dict[str, float] = {"law/difficulty": CODES[task.difficulty]}
        for a in cfg.agents:
            law, text, notes, used, extra = subs[a][t]
            sc = _score(task, law, *tests[t], cfg, seed=t)
            scalars.update({f"law/{a}/rmsle": sc["rmsle"], f"law/{a}/match": sc["match"],
                            f"law/{a}/experiments": used, **{f"law/{a}/{n}": v for n, v in extra.items()}})  # fmt: skip
            rows.append({"task": t, "system": task.system, "difficulty": task.difficulty, "repeat": k,
                         "law": task.law, "agent": a, "submitted": text, **sc, "experiments": used,
                         "notes": notes, **extra})  # fmt: skip
        rec.log(t, **scalars)
    rec.artefact("tasks", pd.DataFrame(rows))
    rec.summarize(n_tasks=T, noise=cfg.noise, **summarize(rec.wide()))


def summarize(curves) -> dict[str, Any]:
    """match_rate_A, median_rmsle_A (inf when most of A's submissions failed) overall and per
    difficulty, for every agent A with metrics."""
    if "law/difficulty" not in curves:
        return {}
    diff = curves["law/difficulty"].to_numpy()
    out: dict[str, Any] = {}
    for a in AGENTS:
        if f"law/{a}/match" not in curves:
            continue
        m, r = curves[f"law/{a}/match"].to_numpy(), curves[f"law/{a}/rmsle"].to_numpy()
        out[f"match_rate_{a}"], out[f"median_rmsle_{a}"] = float(m.mean()), float(np.median(r))
        for name, code in CODES.items():
            sel = diff == code
            if sel.any():
                out[f"match_rate_{a}_{name}"] = float(m[sel].mean())
                out[f"median_rmsle_{a}_{name}"] = float(np.median(r[sel]))
    return out


def check(configs) -> None:
    """Before anything is written: the LLM backend of every run with the llm agent is usable."""
    use = [c for c in configs if "llm" in c.agents]
    if use:
        from emergelab.worlds._law_llm import check_llm

        check_llm(use)


register(World(
    name="law_discovery",
    paper="T. Zheng et al. (2025), NewtonBench: Benchmarking Generalizable Scientific Law Discovery in LLM Agents "
          "(arXiv 2510.07172)",
    effect="law discovery by experiment: shifted physical laws are recovered from noisy measurements when they are "
           "power laws and the noise is low; matches fall with noise and vanish for changed functional forms",
    config=LawDiscoveryConfig,
    run=run,
    presets={
        "paper": {},
        "quick": {},  # 15 tasks x 2 offline agents: seconds
        "noisy": {"noise": 0.3},
        "tiny": {"systems": ("hooke", "kepler"), "difficulties": ("easy",), "n_experiments": 8, "n_test": 100},
        "llm-quick": {"agents": ("regression", "llm"), "systems": ("hooke", "kepler"), "difficulties": ("easy",),
                      "n_experiments": 6, "llm_max_turns": 8, "llm_tokens": 48},
    },
    summarize=summarize,
    check=check,
    look_for="match_rate_regression (summary) near 1 on easy and medium at the default noise, 0 on hard (not a "
             "power law); law/regression/rmsle per task. Sweep -g noise=0.001,0.01,0.1,0.3,1 to watch matches fall "
             "and RMSLE rise with noise; brute misses the thirds of medium laws; -p llm-quick: a small language "
             "model's score (parse failures counted in law/llm/*).",
))
