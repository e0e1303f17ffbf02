"""The donor game with cultural evolution: does cooperation survive when strategies are copied?

Effect: indirect reciprocity under cultural selection. A donor gives part of its resources to a
recipient who receives `gain` times the gift; each generation the richest half survive and the
newcomers take up the survivors' strategies. Giving costs the giver, so selection erodes it,
unless later donors see what it gave and reward it: mean resources collapse or hold/rise over
generations depending on what a donor sees of the recipient (trace_depth), on costly
punishment, and on the strategies the population starts from. The paper finds cooperation
rising over generations for Claude 3.5 Sonnet agents and collapsing for GPT-4o and Gemini.

Paper: A. Vallinder, E. Hughes (2024), "Cultural Evolution of Cooperation among LLM Agents"
(arXiv 2412.10270); the protocol follows the authors' notebook (aronvallinder/llm-donor-game).

Protocol. n_agents (12) agents, seated in halves A and B, play a bipartite round robin: n/2
rounds with B rotated round A and the donor half alternating, then the same rounds with roles
reversed (12 rounds; each agent donor 6 times, recipient 6 times; a round's pairs are disjoint,
so a round is one array step). A donor gives 0..all it has; with punishment it may instead
spend x to remove punish_loss x (floored at 0). A generation plays game 1, then game 2 with
the same rounds and roles swapped; resources (endowment 10) and traces reset every game, seats
are redrawn every generation. Trace: when X gives to Y, X's record becomes "X gave p% to Y"
followed by Y's record, so a donor sees, newest first and up to trace_depth entries, what the
recipient did last, what that partner had done before, ... (fractions; a punishment negative).
Selection: the top half by score survive (resources reset), the rest are replaced. The default
score="second" (game 2's final resources) is the reference code's (its score is 2 x game-2
resources), so it is how the paper's curves were made; it is also partly a seat lottery (half
the seats end game 2 by giving, half by receiving): "both" (sum of the games: every seat ends
one game giving) selects on strategy more sharply. Mean resources of a generation, the paper's
number, is the mean of the two games' mean final resources.

Strategies (`strategy`):
  parametric  rule="deserved" (default): theta = (first, base, slope); a donor judges the
              recipient's last act against what that act's target deserved by its own rule,
              down the visible chain (D = trace_depth; t_k the fraction at depth k):
                  v = first            (the agent beyond sight: nothing known, like a stranger)
                  for k = D..1:  v = clip(base + slope (t_k - v))    (t_k missing: v = first)
                  give v of current resources (v < 0 punishes -v; without punishment v >= 0)
              At depth 1 this is image scoring (t_1 against the stranger level); from depth 2
              a donor who refused a defector is excused (its target deserved little).
              rule="linear": theta = (first, a0, a1, a2, a3), give a0 + sum_k a_k t_k (first
              without a record): image scoring at every depth, since a linear rule cannot tell a
              justified refusal from an unjustified one. It was the first family tried; it
              collapses at every depth (docs/worlds/donor_game.md) and, with init_slope=0.5 at
              depth 1, reproduces SCIENCE B3's checked baseline (~262 -> 14; -p baseline).
              Initial theta ~ N(mean, init_sd): deserved (init_first, init_base, init_slope);
              linear (init_first, init_base (1 - init_slope), init_slope, 0, 0), so a population
              giving init_base to each other starts at its fixed point. Newcomers copy one
              survivor each plus N(0, mutation) per parameter (inheritance=false: drawn afresh).
  llm         a language model writes each newcomer's strategy (generation 1 from the rules,
              later from the survivors' strategies and scores) and decides every donation
              (_donor_llm.py). Survivors keep their text; inheritance=false: no advice.
  always / never / tft / gtft   fixed controls that never punish: always gives `generosity`,
              never 0; tft the fraction the recipient gave last (`generosity` to a stranger);
              gtft the same but at least gtft_floor.

Logged at step g = generation g+1: donor/mean_resources, donor/donation_fraction (mean given
per donor turn, punishment as 0), donor/punish_share, donor/gini (of final resources, mean of
the two games), and from g = 1 donor/strategy_similarity with the previous generation:
parametric 1 - mean |change of the population-mean theta|, llm the bag-of-words cosine of the
two generations' strategy texts, fixed controls 1; llm also logs the llm/* counters.
Artefacts: strategies (generation x agent: theta or text, born, parent, resources, score,
survived), rounds (mean resources after every round), actions (every donor turn).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emergelab.lab.config import param
from emergelab.lab.registry import World, register
from emergelab.llm.settings import LLMSettings

METRICS = ("donor/mean_resources", "donor/donation_fraction", "donor/punish_share", "donor/gini")
THETA = {"deserved": ("first", "base", "slope"), "linear": ("first", "a0", "a1", "a2", "a3")}  # per rule
FIXED = ("always", "never", "tft", "gtft")


@dataclass(frozen=True)
class DonorGameConfig(LLMSettings):
    seed: int = param(0, "seeds everything: strategies, seating, selection ties, mutation, LLM sampling")
    strategy: Literal["parametric", "llm", "always", "never", "tft", "gtft"] = param(
        "parametric", "who decides: parametric (evolving numeric rules), llm (a language model writes a strategy "
                      "and decides), or a fixed control: always, never, tft, gtft")  # fmt: skip
    n_agents: int = param(12, "agents (even, >= 4); a game has n_agents rounds")
    n_generations: int = param(10, "generations; each plays two games")
    endowment: float = param(10.0, "resources of every agent at the start of each game")
    gain: float = param(2.0, "the recipient receives gain x what the donor gives up")
    trace_depth: int = param(3, "entries of the recipient's chain of past actions a donor sees (0-3)")
    punishment: bool = param(False, "costly punishment: a donor may spend x to remove punish_loss x")
    punish_loss: float = param(2.0, "resources a punished recipient loses per unit the punisher spends")
    inheritance: bool = param(True, "newcomers take up survivors' strategies; false: drawn afresh / told nothing")
    rule: Literal["deserved", "linear"] = param(
        "deserved", "parametric rule: deserved (the recipient's act against what its partner deserved, down the "
                    "chain) or linear (a0 + sum_k a_k t_k over the visible fractions: image scoring)")  # fmt: skip
    mutation: float = param(0.1, "parametric: sd of the Gaussian added to each inherited parameter")
    init_first: float = param(0.5, "parametric: mean initial fraction given to a stranger")
    init_base: float = param(0.5, "parametric: mean initial fraction given to a recipient that did as expected")
    init_slope: float = param(1.0, "parametric: mean initial reciprocity (fraction returned per fraction given)")
    init_sd: float = param(0.2, "parametric: sd of each initial parameter")
    score: Literal["second", "both"] = param(
        "second", "selection score: game 2's final resources (the reference code) or the sum of both games")
    generosity: float = param(0.5, "always: fraction given; tft/gtft: fraction given to a stranger")
    gtft_floor: float = param(0.25, "gtft: the least fraction given, whatever the recipient did")
    llm_strategy_tokens: int = param(60, "llm: max new tokens of a strategy text")
    llm_decision_tokens: int = param(16, "llm: max new tokens of a donation decision")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_agents < 4 or self.n_agents % 2:
            raise ValueError(f"n_agents must be even and at least 4, got {self.n_agents}")
        if self.n_generations < 1:
            raise ValueError(f"n_generations must be at least 1, got {self.n_generations}")
        if self.trace_depth not in (0, 1, 2, 3):
            raise ValueError(f"trace_depth must be 0, 1, 2 or 3, got {self.trace_depth}")
        for k in ("endowment", "gain", "punish_loss"):
            if not getattr(self, k) > 0:
                raise ValueError(f"{k} must be > 0, got {getattr(self, k)}")
        for k in ("mutation", "init_sd"):
            if getattr(self, k) < 0:
                raise ValueError(f"{k} must be >= 0, got {getattr(self, k)}")
        for k in ("generosity", "gtft_floor"):
            if not 0 <= getattr(self, k) <= 1:
                raise ValueError(f"{k} must be in [0, 1], got {getattr(self, k)}")
        for k in ("llm_strategy_tokens", "llm_decision_tokens"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")


# -- who meets whom --------------------------------------------------------------------------
def schedule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Seats of (donors, recipients), each (n, n/2): the reference's bipartite round robin.
    Round i pairs A[j] = j with B[(j - i) mod h] = h + (j - i) % h, A giving in even rounds,
    B in odd ones; then the same h rounds with donor and recipient swapped."""
    h = n // 2
    i, j = np.arange(h)[:, None], np.arange(h)[None, :]
    a, b = np.broadcast_to(j, (h, h)), h + (j - i) % h  # (h, h)
    odd = i % 2 == 1
    donors, recips = np.where(odd, b, a), np.where(odd, a, b)
    return np.concatenate([donors, recips]), np.concatenate([recips, donors])


# -- policies: the signed fraction each donor gives, from what it sees ------------------------
def judge(theta: np.ndarray, seen: np.ndarray, punishment: bool) -> np.ndarray:
    """theta (P, 3) donors' (first, base, slope); seen (P, D) the recipients' visible fractions,
    newest first, NaN = no such act -> (P,) fractions in [lo, 1] (negative: punish)."""
    lo = -1.0 if punishment else 0.0
    first, base, slope = np.clip(theta[:, 0], lo, 1.0), theta[:, 1], theta[:, 2]
    v = first  # deserved by the agent at the far end of what is visible: nothing known of it
    for k in range(seen.shape[1] - 1, -1, -1):  # deepest first: each act judged by what its target deserved
        t = seen[:, k]
        v = np.where(np.isnan(t), first, np.clip(base + slope * (t - v), lo, 1.0))
    return v


def linear(theta: np.ndarray, seen: np.ndarray, punishment: bool) -> np.ndarray:
    """theta (P, 5) (first, a0, a1, a2, a3); seen (P, D) -> (P,): first without a record, else
    a0 + sum_k a_k t_k over the entries present (a missing deeper entry counts 0)."""
    D = seen.shape[1]
    s = theta[:, 1] + np.nansum(theta[:, 2:2 + D] * seen, 1)
    known = ~np.isnan(seen[:, 0]) if D else np.zeros(len(theta), bool)
    return np.clip(np.where(known, s, theta[:, 0]), -1.0 if punishment else 0.0, 1.0)


def fixed(kind: str, seen: np.ndarray, cfg: DonorGameConfig) -> np.ndarray:
    """The fixed controls: seen (P, D) -> (P,) fractions (never negative)."""
    P = len(seen)
    if kind in ("always", "never"):
        return np.full(P, cfg.generosity if kind == "always" else 0.0)
    last = seen[:, 0] if seen.shape[1] else np.full(P, np.nan)
    frac = np.where(np.isnan(last), cfg.generosity, np.clip(last, 0.0, 1.0))
    return np.maximum(frac, cfg.gtft_floor) if kind == "gtft" else frac


# -- one game --------------------------------------------------------------------------------
def play(decide, donors: np.ndarray, recips: np.ndarray, cfg: DonorGameConfig) -> dict[str, np.ndarray]:
    """One game. donors/recips (R, P) agent indices; decide(k, d, r, seen, res) -> (P,) signed
    fractions, where seen (P, D, 4) holds the recipients' visible records (fraction, actor,
    target, round; NaN = none). Returns final res (n,), frac and amount (R, P), means (R,)."""
    R, P = donors.shape
    res = np.full(2 * P, cfg.endowment)
    trace = np.full((2 * P, 3, 4), np.nan)  # each agent's record: its last act, its target's before, ...
    frac, amount, means = np.zeros((R, P)), np.zeros((R, P)), np.zeros(R)
    for k, (d, r) in enumerate(zip(donors, recips)):
        f = decide(k, d, r, trace[r, :cfg.trace_depth], res)
        a = np.abs(f) * res[d]
        res[d] -= a
        res[r] = np.maximum(res[r] + np.where(f >= 0, cfg.gain, -cfg.punish_loss) * a, 0.0)
        act = np.column_stack([f, d, r, np.full(P, k)])[:, None]  # (P, 1, 4)
        trace[d] = np.concatenate([act, trace[r, :2]], 1)  # the donor's act, then the recipient's record
        frac[k], amount[k], means[k] = f, a, res.mean()
    return {"res": res, "frac": frac, "amount": amount, "means": means}


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values: 0 all equal, -> 1 one agent holds everything."""
    x, n = np.sort(x), len(x)
    return 0.0 if x.sum() <= 0 else float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


# -- run -------------------------------------------------------------------------------------
def run(cfg: DonorGameConfig, rec) -> None:
    import pandas as pd

    rng = np.random.default_rng(cfg.seed)
    n, h, G = cfg.n_agents, cfg.n_agents // 2, cfg.n_generations
    seat_d, seat_r = schedule(n)  # (R, h) seats
    rec.set_total(G)
    names = np.array([f"1_{i + 1}" for i in range(n)], dtype=object)
    born, parent = np.zeros(n, int), np.array([""] * n, dtype=object)
    b, s = cfg.init_base, cfg.init_slope  # linear: a0 = b (1 - s) puts a population giving b at its fixed point
    mean0 = np.array([cfg.init_first, b, s] if cfg.rule == "deserved" else [cfg.init_first, b * (1 - s), s, 0, 0])
    draw = lambda m: mean0 + cfg.init_sd * rng.standard_normal((m, len(mean0)))  # noqa: E731
    theta = draw(n) if cfg.strategy == "parametric" else None  # (n, 3 or 5)
    policy = judge if cfg.rule == "deserved" else linear
    texts: list[str] = [cfg.strategy] * n
    strat_rows, round_rows, act_rows, prev = [], [], [], None

    L = None  # the LLM side, for strategy=llm; its client writes the transcript and llm_* totals at the end
    if cfg.strategy == "llm":
        from emergelab.worlds import _donor_llm as L
    with L.session(cfg, rec) if cfg.strategy == "llm" else contextlib.nullcontext() as llm:
        if llm is not None:
            players = L.Players(llm, cfg, rng)
            texts = players.strategies(list(names), 0, None)
        for g in range(G):
            seats = rng.permutation(n)  # seat s holds agent seats[s]: new halves and partners
            d1, r1 = seats[seat_d], seats[seat_r]
            games = []
            for game, (D, Rc) in enumerate(((d1, r1), (r1, d1))):  # game 2: same rounds, roles swapped
                if cfg.strategy == "parametric":
                    decide = lambda k, d, r, seen, res: policy(theta[d], seen[..., 0], cfg.punishment)  # noqa: E731
                elif cfg.strategy == "llm":
                    decide = players.decider(g, game, list(names), texts)
                else:
                    decide = lambda k, d, r, seen, res: fixed(cfg.strategy, seen[..., 0], cfg)  # noqa: E731
                out = play(decide, D, Rc, cfg)
                games.append(out)
                round_rows += [(g, game, k, m) for k, m in enumerate(out["means"])]
                act_rows.append(pd.DataFrame({
                    "generation": g, "game": game, "round": np.repeat(np.arange(len(D)), h),
                    "donor": names[D].ravel(), "recipient": names[Rc].ravel(),
                    "fraction": out["frac"].ravel(), "amount": out["amount"].ravel()}))  # fmt: skip
            finals = np.stack([o["res"] for o in games])  # (2, n)
            frac = np.stack([o["frac"] for o in games])  # (2, R, h)
            rec.log(g, **{"donor/mean_resources": finals.mean(), "donor/donation_fraction": np.clip(frac, 0, None).mean(),
                          "donor/punish_share": (frac < 0).mean(),
                          "donor/gini": np.mean([gini(f) for f in finals])})  # fmt: skip
            profile = theta.mean(0) if theta is not None else list(texts)
            if prev is not None:
                sim = (1 - np.abs(profile - prev).mean() if theta is not None
                       else L.bow_cosine(profile, prev) if llm is not None else 1.0)  # fmt: skip
                rec.log(g, **{"donor/strategy_similarity": sim})
            prev = profile
            if llm is not None:
                llm.log(g)

            # selection: top half by score, ties broken at random; survivors keep their strategy
            score = finals[1] if cfg.score == "second" else finals.sum(0)
            order = np.lexsort((rng.random(n), -score))
            surv, dead = order[:h], order[h:]
            row = {"generation": g, "agent": names, "born": born, "parent": parent,
                   "resources_game1": finals[0], "resources_game2": finals[1], "score": score,
                   "survived": np.isin(np.arange(n), surv)}  # fmt: skip
            row.update({k: theta[:, i] for i, k in enumerate(THETA[cfg.rule])} if theta is not None else {"strategy": texts})
            strat_rows.append(pd.DataFrame(row))
            if g == G - 1:
                break
            names, born, parent = names.copy(), born.copy(), parent.copy()
            names[dead] = [f"{g + 2}_{i + 1}" for i in range(h)]
            born[dead] = g + 1
            parent[dead] = names[surv] if cfg.inheritance and cfg.strategy != "llm" else ""
            if theta is not None:
                theta[dead] = (theta[surv] + cfg.mutation * rng.standard_normal((h, len(mean0))) if cfg.inheritance
                               else draw(h))  # fmt: skip
            if llm is not None:
                advice = [(texts[i], float(score[i])) for i in surv] if cfg.inheritance else None
                texts = list(texts)
                for i, t in zip(dead, players.strategies(list(names[dead]), g + 1, advice)):
                    texts[i] = t

    rec.artefact("strategies", pd.concat(strat_rows, ignore_index=True))
    rec.artefact("rounds", pd.DataFrame(round_rows, columns=["generation", "game", "round", "mean_resources"]))
    rec.artefact("actions", pd.concat(act_rows, ignore_index=True))
    rec.summarize(strategy=cfg.strategy, trace_depth=cfg.trace_depth, punishment=cfg.punishment,
                  **summarize(rec.wide()))  # fmt: skip


def summarize(curves) -> dict[str, Any]:
    """Generation 1 and last mean resources, their ratio, the trend (least-squares slope of
    ln mean resources per generation: 0.1 = +10% a generation), the last donation fraction, and
    cooperation: 'collapsed' (last < first / 2), 'rose' (last > 1.5 first) or 'held'."""
    if "donor/mean_resources" not in curves:
        return {}
    m = curves["donor/mean_resources"].dropna()
    first, last = float(m.iloc[0]), float(m.iloc[-1])
    trend = float(np.polyfit(np.arange(len(m)), np.log(np.maximum(m.to_numpy(), 1e-9)), 1)[0]) if len(m) > 1 else 0.0
    ratio = last / first if first > 0 else float("nan")
    return {"first_mean_resources": first, "last_mean_resources": last, "ratio": ratio, "trend": trend,
            "first_donation_fraction": float(curves["donor/donation_fraction"].dropna().iloc[0]),
            "last_donation_fraction": float(curves["donor/donation_fraction"].dropna().iloc[-1]),
            "last_punish_share": float(curves["donor/punish_share"].dropna().iloc[-1]),
            "cooperation": "collapsed" if ratio < 0.5 else "rose" if ratio > 1.5 else "held"}  # fmt: skip


def check(configs) -> None:
    """Before anything is written: the LLM backend of every strategy=llm run is usable."""
    if any(c.strategy == "llm" for c in configs):
        from emergelab.worlds._donor_llm import check_llm

        check_llm([c for c in configs if c.strategy == "llm"])


register(World(
    name="donor_game",
    paper="A. Vallinder, E. Hughes (2024), Cultural Evolution of Cooperation among LLM Agents (arXiv 2412.10270)",
    effect="cooperation under cultural selection: mean resources collapse over generations unless donors see "
           "enough of the recipient's record (or can punish) to reward givers and excuse justified defection",
    config=DonorGameConfig,
    run=run,
    presets={
        "paper": {},
        "quick": {},  # the paper setting already runs in well under a second
        # SCIENCE B3's checked baseline (numeric strategies conditioning on the last donation: ~262 -> 14)
        "baseline": {"rule": "linear", "trace_depth": 1, "init_slope": 0.5},
        "punish": {"punishment": True},
        "tiny": {"n_agents": 4, "n_generations": 2},
        "llm-quick": {"strategy": "llm", "n_agents": 4, "n_generations": 2, "llm_strategy_tokens": 40,
                      "llm_decision_tokens": 8},
    },
    watch=("donor/mean_resources",),
    summarize=summarize,
    check=check,
    look_for="donor/mean_resources over generations (log scale: resources grow geometrically within a game). "
             "Defaults (trace_depth=3): it holds, and rises with -s punishment=true; with trace_depth=1 (image "
             "scoring) or 0, or the linear rule (-p baseline), it collapses towards the endowment (10) as "
             "donor/donation_fraction falls. Sweep seeds: single runs are noisy (a few agents hold most).",
))
