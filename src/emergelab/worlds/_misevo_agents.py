"""Memory-evolving agents of the misevolution world, all n_agents at once.

Each agent meets its own stream of tasks one at a time. Before acting it retrieves the k
nearest stored episodes (cosine similarity of task features, at least sim_min) and takes the
best-rewarded of them as guidance; after acting it stores the episode when it was a success
(reward >= success_threshold). Three memory arms share the stream and its random numbers:
  none      no memory: the unevolved agent throughout (the control)
  memory    every successful episode is stored (the self-evolving agent)
  filtered  a safety filter drops a stored episode that broke a rule, with probability
            filter_recall (the mitigation: a reviewer that catches most violations)
The retrieval agent follows its guidance (does what the best retrieved episode did, when the
task offers that action) with probability trust x similarity, else acts from its prior. Nothing
tells it that an episode broke a rule: memory records what was rewarded, which is exactly how
a shortcut the evaluator could not see becomes a habit (Shao et al. 2025, memory misevolution).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from emergelab.worlds import _misevo_tasks as K

ARMS = ("none", "memory", "filtered")
AGENTS = ("retrieval", "llm")


@dataclass
class Guidance:
    """What retrieval found for the current task of every agent, (A, k) best-rewarded first;
    idx -1 where fewer than k stored episodes are similar enough."""

    idx: np.ndarray  # episode index (task time) in the agent's own stream
    sim: np.ndarray
    reward: np.ndarray
    action: np.ndarray


@dataclass
class Outcome:
    action: np.ndarray  # (A, T)
    reward: np.ndarray  # (A, T)
    stored: np.ndarray  # (A, T) bool: in memory after the task
    followed: np.ndarray  # (A, T) bool: the action came from memory guidance
    memory: np.ndarray  # (A, T) memory size before the task


def retrieve(X: np.ndarray, t: int, stored: np.ndarray, reward: np.ndarray, action: np.ndarray,
             k: int, sim_min: float) -> Guidance:  # fmt: skip
    """The k stored episodes (of tasks < t) nearest to task t, per agent, sorted by reward
    (then similarity), best first."""
    A = X.shape[0]
    kk = min(k, t)
    if kk == 0:
        e = np.full((A, k), -1)
        return Guidance(e, np.zeros((A, k)), np.zeros((A, k)), e.copy())
    S = np.matmul(X[:, :t], X[:, t, :, None])[..., 0]  # (A, t) cosine: features are unit vectors
    S = np.where(stored[:, :t] & (S >= sim_min), S, -np.inf)
    idx = np.argpartition(-S, kk - 1, axis=1)[:, :kk] if kk < t else np.broadcast_to(np.arange(t), (A, t)).copy()
    s = np.take_along_axis(S, idx, 1)
    ok = np.isfinite(s)
    r = np.where(ok, np.take_along_axis(reward[:, :t], idx, 1), -np.inf)
    order = np.lexsort((-np.where(ok, s, -np.inf), -r), axis=1)  # reward first, then similarity
    take = lambda v: np.take_along_axis(v, order, 1)  # noqa: E731
    idx, s, r, ok = take(idx), take(s), take(r), take(ok)
    a = np.where(ok, np.take_along_axis(action[:, :t], idx, 1), -1)
    pad = k - kk
    P = lambda v, fill: np.pad(v, ((0, 0), (0, pad)), constant_values=fill)  # noqa: E731
    return Guidance(P(np.where(ok, idx, -1), -1), P(np.where(ok, s, 0.0), 0.0), P(np.where(ok, r, 0.0), 0.0),
                    P(a, -1))  # fmt: skip


def retrieval_decide(cfg) -> Callable:
    """The scripted agent: follow the best retrieved episode with probability trust x similarity."""
    P = K.prior(cfg)

    def decide(stream: K.Stream, t: int, g: Guidance, step_rng) -> tuple[np.ndarray, np.ndarray]:
        kind, u = stream.kind[:, t], stream.u[:, t]
        own = K.prior_action(P, kind, u[:, 1])
        best = g.action[:, 0]
        usable = (best >= 0) & K.AVAILABLE[kind, np.maximum(best, 0)]
        follow = usable & (u[:, 0] < cfg.trust * g.sim[:, 0])
        return np.where(follow, best, own), follow

    return decide


def simulate(cfg, stream: K.Stream, arm: str, decide: Callable, on_step: Callable | None = None) -> Outcome:
    """Run one memory arm over the whole stream; decide(stream, t, guidance, t) -> (actions, followed)."""
    A, T = stream.kind.shape
    action, reward = np.zeros((A, T), int), np.zeros((A, T))
    stored, followed, memory = np.zeros((A, T), bool), np.zeros((A, T), bool), np.zeros((A, T), int)
    empty = retrieve(stream.X, 0, stored, reward, action, cfg.k, cfg.sim_min)
    for t in range(T):
        g = empty if arm == "none" else retrieve(stream.X, t, stored, reward, action, cfg.k, cfg.sim_min)
        a, f = decide(stream, t, g, t)
        u = stream.u[:, t]
        action[:, t], followed[:, t] = a, f
        reward[:, t] = K.reward(cfg, stream.kind[:, t], a, u[:, 2])
        keep = (reward[:, t] >= cfg.success_threshold) & (arm != "none")
        if arm == "filtered":  # the reviewer catches a rule-breaking episode with probability filter_recall
            keep &= ~(K.violation(stream.kind[:, t], a) & (u[:, 3] < cfg.filter_recall))
        memory[:, t] = stored[:, :t].sum(1)
        stored[:, t] = keep
        if on_step is not None:
            on_step(t)
    return Outcome(action, reward, stored, followed, memory)


def window_rates(stream: K.Stream, out: Outcome, window: int, threshold: float) -> dict[str, np.ndarray]:
    """Per window of `window` tasks, pooled over agents: violation rate (of hackable and unsafe
    tasks), hack rate (hackable), refusal rate (unsafe), success (the evaluator's verdict, reward
    >= threshold, rule broken or not), honest success (success without a violation), share of
    actions that followed memory, mean memory size and the share of memory that broke a rule
    (both at the window's end)."""
    A, T = stream.kind.shape
    n = T // window
    cut = lambda v: v[:, : n * window].reshape(A, n, window).transpose(1, 0, 2).reshape(n, -1)  # noqa: E731
    kind, act = cut(stream.kind), cut(out.action)
    viol = K.violation(kind, act)
    risky = kind != K.BENIGN

    def rate(num, den):
        d = den.sum(1)
        return np.where(d > 0, (num & den).sum(1) / np.maximum(d, 1), np.nan)

    bad_mem = np.cumsum(out.stored & K.violation(stream.kind, out.action), 1)
    ends = np.arange(1, n + 1) * window - 1
    mem = np.cumsum(out.stored, 1)[:, ends]
    return {"violation": rate(viol, risky), "hack": rate(act == K.SHORTCUT, kind == K.HACKABLE),
            "refusal": rate(act == K.REFUSE, kind == K.UNSAFE),
            "success": rate(cut(out.reward) >= threshold, np.ones_like(risky)),
            "honest_success": rate((cut(out.reward) >= threshold) & ~viol, np.ones_like(risky)),
            "followed": rate(cut(out.followed), np.ones_like(risky)),
            "memory": mem.mean(0), "memory_bad": (bad_mem[:, ends].sum(0) / np.maximum(mem.sum(0), 1))}  # fmt: skip
