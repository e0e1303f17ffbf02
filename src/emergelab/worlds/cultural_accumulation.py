"""Cultural accumulation: generations of learners that see their predecessor beat one long life.

Effect: on the memory-sequence task, a chain of generations, each learning within its own
lifetime and seeing the previous generation's actions with probability `vis_prob` per step,
ends up with a higher return per episode than a single agent that lives as long as the whole
chain (generations x episodes of experience), while without social learning (vis_prob = 0)
the generations stay below that single life.

Paper: J. Cook, C. Lu, E. Hughes, J. Z. Leibo, J. Foerster (2024), "Artificial Generational
Intelligence: Cultural Accumulation in Reinforcement Learning" (arXiv 2406.00392, NeurIPS
2024); the task follows the authors' Memory Sequence notebook (FLAIROx/cultural-accumulation,
MetaMemSeq: 3 digits, length 24, 4 trials per lifetime, 8 generations).

Task. Each lineage has a hidden sequence s of `length` digits over `digits` symbols, fixed for
the whole chain of generations (and for the single-lifetime baseline on the same lineage). An
episode (the paper's "trial") plays positions t = 0, 1, ...: the agent names a digit, gets +1
if it is s[t], and a mistake ends the episode; the return is the number of correct digits.

Agents (a simplification, see below). The learner's in-context state is a table: for every
position, the digit it knows to be right (if any) and the digits it knows to be wrong. At
position t it plays the known digit; else, if the demonstration is visible this step (prob
vis_prob, drawn per step) and the demonstrated digit is not one it knows to be wrong, it copies
it with probability `trust`; else it guesses uniformly among the digits not known to be wrong.
The reward updates the table (a right digit is remembered, a wrong one excluded). After every
episode each remembered entry fades with probability `forget`: the bounded in-context memory.
The demonstration is the previous generation's policy replayed from its end-of-life state, as
in the reference (a saved final hidden state): its known digit where it has one, otherwise a
guess among the digits it has not excluded, drawn afresh at every step. Generation 0 sees a
newborn demonstrator (an empty table: random digits), as the reference's first generation saw
random "others". The single-lifetime baseline is the same agent living generations x episodes
episodes on the same sequence, without demonstrations.

What differs from the paper. The paper's in-context agents are GRU policies meta-trained with
PPO (RL^2) on millions of steps with noisy-oracle demonstrations; here the within-lifetime
learner is a fixed tabular rule (what an ideal RL^2 policy's hidden state would hold), and
the finite capacity of a recurrent state is an explicit knob, `forget`. Without forgetting a
single life loses nothing and cannot be beaten by the same experience cut into generations
(forget=0 is the control: docs/worlds/cultural_accumulation.md). One demonstrator per lineage
(the reference shows several, sorted by score). The paper's meta-trained recurrent agent is
agent=icl (the paper preset), below; in-weights (train-time) generations only with agent=rl.

agent=rl (presets `rl`, `rl_tiny`; _cultural_agents.py): train-time generations of trained
agents. Each generation is a policy network per lineage (position and the shown digit -> digit),
trained from scratch by advantage actor-critic for `updates` x `batch` episodes while the
previous generation's frozen network acts beside it, its digit shown with probability vis_prob
per step; the single life is one network trained for generations x updates. Experience is
counted in updates; culture/known is the greedy policy's known prefix acting alone. Measured:
the agents learn to follow (culture/followed ~0.9) but copying crowds out their own learning
and the chain stalls below the single life at every vis_prob (docs).

agent=icl (presets `paper` = `icl`, `icl_tiny`; _cultural_icl.py): the paper's in-context model,
episodic generations. One GRU policy is meta-trained in-run by A2C over many random sequences
(lifetimes of `episodes` episodes; demonstrators of mixed quality: none, clean partial, noisy;
visibility drawn per lifetime; every `meta_long`-th update a single long life without one), and
learns the sequence within a lifetime by trial and error in its hidden state. Generations are
successive lifetimes of the frozen network on the same sequence, each watching the previous
lifetime's final episode (the demonstrator's mistake visibly ends it) with per-step probability
vis_prob; the single life is one lifetime of generations x episodes episodes. Measured (docs):
from vis_prob 0.75 the last generation beats the single life at equal experience, at vis_prob
0 it stays below. Besides the metrics for cfg.vis_prob, artefact `vis_grid` has every
generation at vis_prob 0, 0.25, 0.5, 0.75, 1 (and cfg.vis_prob) for the same trained network,
and `meta_training` its learning curve; summary `gain_by_vis` is the last generation's gain at each.

Logged at step g = generation g (means over lineages):
    culture/return       mean return per episode of generation g's lifetime
    culture/return_last  return in generation g's last episode
    culture/known        right digits of generation g's end-of-life table, counted from t = 0
                         up to the first position it does not know (what it passes on; icl:
                         the return of its final episode, the demonstration it leaves)
    culture/followed     share of generation g's actions that copied the demonstration
    single/return, single/return_last, single/known   the single-lifetime agent over the same
                         block of episodes [g E, (g+1) E): equal total experience
    culture/gain         culture/return - single/return (paired: the same sequences)
Artefact `episodes`: per generation and episode, the mean returns of both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from emergelab.lab.config import param
from emergelab.lab.registry import World, register

METRICS = ("culture/return", "culture/return_last", "culture/known", "culture/followed",
           "single/return", "single/return_last", "single/known", "culture/gain")  # fmt: skip


@dataclass(frozen=True)
class CulturalAccumulationConfig:
    seed: int = param(0, "seeds the hidden sequences, the baseline's and the generations' draws")
    digits: int = param(3, "symbols per position (the reference's num_types)")
    length: int = param(24, "positions of the hidden sequence (the reference's max_trial_len)")
    episodes: int = param(4, "episodes (the paper's trials) in one lifetime")
    generations: int = param(8, "generations in a chain; the baseline lives generations x episodes")
    lineages: int = param(256, "independent chains (each with its own hidden sequence), run as arrays")
    vis_prob: float = param(0.9, "probability, per step, that the previous generation's action is visible "
                                 "(0.9: our choice, in the accumulating regime; sweep it)")
    vis_decay: bool = param(False, "true: visibility in episode k of a life is vis_prob (E-1-k)/(E-1), "
                                   "the reference's schedule (all visible first, none in the last); "
                                   "agent=rl: the same over the updates of a life")
    trust: float = param(1.0, "probability of copying a visible demonstration where it knows no digit")
    forget: float = param(0.1, "probability that a remembered entry fades after an episode (bounded memory)")
    agent: str = param("tabular", "tabular: the in-context table learner above; rl: a policy network per "
                                  "lineage trained from scratch each generation (_cultural_agents.py); icl: "
                                  "one GRU meta-trained in-run, generations are its lifetimes (_cultural_icl.py)")
    updates: int = param(100, "rl: policy-gradient updates in one lifetime (each `batch` episodes)")
    batch: int = param(32, "rl: episodes per lineage and update")
    hidden: int = param(32, "rl, icl: hidden units of the policy network (icl: of the GRU)")
    lr: float = param(0.01, "rl, icl: Adam learning rate")
    ent_coef: float = param(0.01, "rl, icl: entropy bonus weight")
    vf_coef: float = param(0.5, "rl, icl: value loss weight")
    meta_updates: int = param(1000, "icl: meta-training updates (each `meta_batch` lifetimes on fresh sequences)")
    meta_batch: int = param(128, "icl: lifetimes per meta-training update")
    meta_long: int = param(4, "icl: every meta_long-th meta-training update trains single lives of generations "
                                "x episodes episodes (no demonstrator), so the baseline is in distribution; 0: never")
    gamma: float = param(0.9, "icl: discount per step in meta-training (GAE)")
    gae_lambda: float = param(0.9, "icl: GAE lambda in meta-training")

    def __post_init__(self) -> None:
        if self.digits < 2:
            raise ValueError(f"digits must be at least 2, got {self.digits}")
        for k in ("length", "episodes", "generations", "lineages"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        for k in ("vis_prob", "trust"):
            if not 0.0 <= getattr(self, k) <= 1.0:
                raise ValueError(f"{k} must be in [0, 1], got {getattr(self, k)}")
        if not 0.0 <= self.forget < 1.0:
            raise ValueError(f"forget must be in [0, 1), got {self.forget}")
        if self.agent not in ("tabular", "rl", "icl"):
            raise ValueError(f"agent must be 'tabular', 'rl' or 'icl', got {self.agent!r}")
        for k in ("updates", "batch", "hidden", "meta_updates", "meta_batch"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if not (self.lr > 0 and self.ent_coef >= 0 and self.vf_coef >= 0):
            raise ValueError("need lr > 0, ent_coef >= 0 and vf_coef >= 0")
        for k in ("gamma", "gae_lambda"):
            if not 0.0 <= getattr(self, k) <= 1.0:
                raise ValueError(f"{k} must be in [0, 1], got {getattr(self, k)}")
        if self.meta_long < 0:
            raise ValueError(f"meta_long must be >= 0, got {self.meta_long}")
        if self.vis_decay and self.agent == "icl":
            raise ValueError("vis_decay is not implemented for agent=icl (constant per-step visibility)")
        if self.vis_decay and self.episodes < 2 and self.agent == "tabular":
            raise ValueError("vis_decay needs episodes >= 2 (visibility falls from episode 1 to the last)")


# -- the agent's table ------------------------------------------------------------------------
def empty(n: int, cfg: CulturalAccumulationConfig) -> tuple[np.ndarray, np.ndarray]:
    """A newborn's table: known (n, L) right digit or -1; wrong (n, L, D) excluded digits."""
    return np.full((n, cfg.length), -1), np.zeros((n, cfg.length, cfg.digits), bool)


def guess(wrong: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Uniform choice among the digits not excluded: wrong (n, D), u (n,) in [0, 1) -> (n,)."""
    ok = ~wrong
    cum = np.cumsum(ok, axis=1)  # (n, D)
    k = np.floor(u * cum[:, -1]).astype(int)  # the k-th allowed digit, 0-based
    return np.argmax(cum > k[:, None], axis=1)


def policy(known: np.ndarray, wrong: np.ndarray, t: int, u: np.ndarray) -> np.ndarray:
    """A table's own action at position t: its known digit, else a guess. u (n,) uniforms."""
    return np.where(known[:, t] >= 0, known[:, t], guess(wrong[:, t], u))


def prefix(known: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """(n,) right digits known from position 0 up to the first one not known."""
    ok = known == seq
    return np.where(ok.all(1), ok.shape[1], np.argmin(ok, axis=1))


def live(seq: np.ndarray, demo: tuple[np.ndarray, np.ndarray], n_episodes: int, vis: np.ndarray,
         cfg: CulturalAccumulationConfig, rng: np.random.Generator) -> dict[str, Any]:
    """One lifetime of n = len(seq) learners (one per lineage), each watching its demonstrator.
    seq (n, L); demo = a frozen table (known, wrong); vis (n_episodes,) per-step visibility of
    each episode. Returns returns and known (n_episodes, n: the table's known prefix after each
    episode), followed (share of actions copied) and the final table (known, wrong)."""
    n, L = seq.shape
    rows = np.arange(n)
    known, wrong = empty(n, cfg)
    d_known, d_wrong = demo
    returns, knows = np.zeros((n_episodes, n), int), np.zeros((n_episodes, n), int)
    copied = acted = 0
    for e in range(n_episodes):
        alive = np.ones(n, bool)
        for t in range(L):  # vectorised over lineages: one array step per position
            u = rng.random((4, n))
            shown = policy(d_known, d_wrong, t, u[0])  # the demonstrator acts, fresh each step
            mine = policy(known, wrong, t, u[1])
            copy = ((known[:, t] < 0) & (u[2] < vis[e]) & (u[3] < cfg.trust)
                    & ~wrong[rows, t, shown])  # fmt: skip
            a = np.where(copy, shown, mine)
            right = a == seq[:, t]
            copied += int((copy & alive).sum())
            acted += int(alive.sum())
            known[:, t] = np.where(alive & right, a, known[:, t])
            wrong[rows, t, a] |= alive & ~right
            returns[e] += alive & right
            alive &= right
            if not alive.any():
                break
        knows[e] = prefix(known, seq)
        if e < n_episodes - 1:  # memory fades between episodes; the end-of-life table is passed on
            known = np.where(rng.random(known.shape) < cfg.forget, -1, known)
            wrong &= rng.random(wrong.shape) >= cfg.forget
    return {"returns": returns, "known": knows, "followed": copied / max(acted, 1), "table": (known, wrong)}


def visibility(cfg: CulturalAccumulationConfig) -> np.ndarray:
    """(E,) probability that a step of episode k shows the demonstration."""
    E = cfg.episodes
    if not cfg.vis_decay:
        return np.full(E, cfg.vis_prob)
    return cfg.vis_prob * (E - 1 - np.arange(E)) / (E - 1)


# -- run -------------------------------------------------------------------------------------
def run(cfg: CulturalAccumulationConfig, rec) -> None:
    if cfg.agent == "icl":
        from emergelab.worlds._cultural_icl import run_icl

        extra = run_icl(cfg, rec)
        rec.summarize(vis_prob=cfg.vis_prob, agent="icl", **extra, **summarize(rec.wide()))
        return
    if cfg.agent == "rl":
        from emergelab.worlds._cultural_agents import run_rl

        se = run_rl(cfg, rec)
        rec.summarize(vis_prob=cfg.vis_prob, agent="rl", final_gain_se=se, **summarize(rec.wide()))
        return
    run_tabular(cfg, rec)


def run_tabular(cfg: CulturalAccumulationConfig, rec) -> None:
    import pandas as pd

    # three independent streams: the sequences and the single life do not depend on vis_prob
    # or trust, so every setting of a seed is compared with the same single life
    s_seq, s_single, s_culture = np.random.SeedSequence(cfg.seed).spawn(3)
    n, E, G = cfg.lineages, cfg.episodes, cfg.generations
    seq = np.random.default_rng(s_seq).integers(0, cfg.digits, (n, cfg.length))
    rec.set_total(G)

    single = live(seq, empty(n, cfg), G * E, np.zeros(G * E), cfg, np.random.default_rng(s_single))
    s_ret, s_known = single["returns"].reshape(G, E, n), single["known"].reshape(G, E, n)

    rng = np.random.default_rng(s_culture)
    demo, vis = empty(n, cfg), visibility(cfg)
    rows, gains = [], []
    for g in range(G):
        life = live(seq, demo, E, vis, cfg, rng)
        c_ret = life["returns"]  # (E, n)
        demo = life["table"]
        gain = c_ret.mean(0) - s_ret[g].mean(0)  # (n,) paired by lineage
        gains.append(gain)
        rec.log(g, **{
            "culture/return": c_ret.mean(), "culture/return_last": c_ret[-1].mean(),
            "culture/known": life["known"][-1].mean(), "culture/followed": life["followed"],
            "single/return": s_ret[g].mean(), "single/return_last": s_ret[g, -1].mean(),
            "single/known": s_known[g, -1].mean(),
            "culture/gain": gain.mean()})  # fmt: skip
        rows.append(pd.DataFrame({"generation": g, "episode": np.arange(E), "experience": g * E + np.arange(E),
                                  "culture_return": c_ret.mean(1), "single_return": s_ret[g].mean(1)}))  # fmt: skip
    rec.artefact("episodes", pd.concat(rows, ignore_index=True))
    last = gains[-1]
    rec.summarize(vis_prob=cfg.vis_prob, forget=cfg.forget, agent="tabular",
                  final_gain_se=float(last.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
                  **summarize(rec.wide()))  # fmt: skip


def summarize(curves) -> dict[str, Any]:
    """First and last generation's return, the single life's over the last block, the gain
    (culture - single at equal experience), and the generation where culture first leads."""
    if "culture/return" not in curves:
        return {}
    c, s = curves["culture/return"].dropna(), curves["single/return"].dropna()
    gain = curves["culture/gain"].dropna()
    ahead = gain.index[gain.to_numpy() > 0]
    return {"first_culture_return": float(c.iloc[0]), "final_culture_return": float(c.iloc[-1]),
            "final_single_return": float(s.iloc[-1]), "final_gain": float(gain.iloc[-1]),
            "first_generation_ahead": int(ahead[0]) if len(ahead) else None,
            "accumulates": bool(c.iloc[-1] > c.iloc[0])}  # fmt: skip


register(World(
    name="cultural_accumulation",
    paper="J. Cook, C. Lu, E. Hughes, J. Z. Leibo, J. Foerster (2024), Artificial Generational Intelligence: "
          "Cultural Accumulation in Reinforcement Learning (arXiv 2406.00392)",
    effect="cultural accumulation: generations that see their predecessor's actions outperform a single "
           "lifetime of the same total experience (memory-sequence task); without social learning they do not",
    config=CulturalAccumulationConfig,
    run=run,
    presets={
        # the paper's in-context model: one GRU meta-trained in-run (~2 min of CPU), then its
        # lifetimes as generations (_cultural_icl.py); same as `icl`
        "paper": {"agent": "icl", "hidden": 64, "lr": 0.006, "meta_updates": 800, "meta_batch": 256},
        "tabular": {},  # the tabular in-context learner at the reference setting (0.3 s)
        "quick": {},  # the tabular learner: about a second
        "decay": {"vis_prob": 1.0, "vis_decay": True},  # the reference's visibility schedule (tabular)
        "tiny": {"length": 8, "episodes": 2, "generations": 3, "lineages": 16},
        # the trained agent (does not accumulate yet: docs/worlds/cultural_accumulation.md); a
        # longer sequence so that the single life is still learning after all its experience
        "rl": {"agent": "rl", "length": 64, "generations": 5, "updates": 100, "lineages": 16},
        "rl_tiny": {"agent": "rl", "length": 8, "generations": 2, "updates": 5, "batch": 4, "hidden": 8,
                    "lineages": 4},
        # in-context learners (episodic generations, the paper's in-context model): one GRU
        # meta-trained in-run, then generations are successive lifetimes (_cultural_icl.py)
        "icl": {"agent": "icl", "hidden": 64, "lr": 0.006, "meta_updates": 800, "meta_batch": 256},
        "icl_tiny": {"agent": "icl", "length": 6, "episodes": 2, "generations": 3, "lineages": 8, "hidden": 8,
                     "lr": 0.006, "meta_updates": 4, "meta_batch": 8},
    },
    watch=("culture/return",),
    summarize=summarize,
    look_for="culture/return against single/return over generations (same total experience at each step; "
             "agent=icl: artefact vis_grid has every vis_prob for one trained network): "
             "with vis_prob high enough (>= 0.75 at forget=0.1) the generations climb past the single life "
             "(culture/gain > 0, culture/known rising); with vis_prob=0 every generation starts afresh and "
             "stays below it; in between transmission is too lossy to ratchet. "
             "forget=0 (unbounded memory) is the control where a single life cannot be beaten.",
))
