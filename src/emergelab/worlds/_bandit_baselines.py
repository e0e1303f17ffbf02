"""Bandit baselines and measures for the bandit_meta_rl world (numpy, vectorised over trials).

Everything here works on a batch of N Bernoulli bandit trials of T pulls over k arms and loops
only over time. Rewards come from common random numbers: arm a pulled at time t pays 1 when
U[n, t, a] < p[n, a], so the agent and every baseline face the very same draws.

- `run_baseline`: Thompson sampling (Beta(1, 1) prior; Thompson 1933), UCB1 (Auer, Cesa-Bianchi
  & Fischer 2002: each arm once, then mean + sqrt(2 ln t / n)) and the myopic Bayes-greedy
  rule (highest posterior mean (s + 1) / (n + 2), the best a discount-0 learner can do).
- `exploratory`: which pulls are exploratory, i.e. not greedy by the empirical-mean estimate.
- `pseudo_regret`: the expected regret of the pulls, sum_t (max_a p_a - p_pulled).
"""

from __future__ import annotations

import numpy as np

BASELINES = ("ts", "ucb", "greedy")


def run_baseline(name: str, p: np.ndarray, U: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Arms pulled (N, T) by baseline `name` on bandits p (N, k) with reward draws U (N, T, k);
    `rng` breaks ties and draws Thompson samples."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}: choose one of {', '.join(BASELINES)}")
    N, T, k = U.shape
    rows = np.arange(N)
    s = np.zeros((N, k))  # successes per arm
    n = np.zeros((N, k))  # pulls per arm
    arms = np.empty((N, T), dtype=np.int64)
    for t in range(T):
        if name == "ts":
            score = rng.beta(1.0 + s, 1.0 + n - s)  # (N, k) one posterior sample per arm
        elif name == "ucb":
            bonus = np.sqrt(2.0 * np.log(max(t, 1)) / np.maximum(n, 1))
            score = np.where(n == 0, np.inf, s / np.maximum(n, 1) + bonus)  # untried arms first
        else:
            score = (s + 1.0) / (n + 2.0)
        # random tie-breaking: a tiny jitter far below any gap between distinct scores
        a = np.argmax(score + 1e-9 * rng.random((N, k)), axis=1)  # (N,)
        r = U[rows, t, a] < p[rows, a]
        s[rows, a] += r
        n[rows, a] += 1
        arms[:, t] = a
    return arms


def exploratory(actions: np.ndarray, rewards: np.ndarray, k: int) -> np.ndarray:
    """Which pulls explore: (N, T) float, 1 where the pulled action is not among the argmax of
    the empirical mean rewards of the actions pulled so far in the trial (an action never
    pulled has no estimate, so trying a new one while others have estimates explores), 0 where
    it is greedy, NaN at t = 0 (no estimate yet, no greedy choice). actions, rewards: (N, T)."""
    N, T = actions.shape
    rows = np.arange(N)
    s = np.zeros((N, k))
    n = np.zeros((N, k))
    out = np.full((N, T), np.nan)
    for t in range(T):
        a = actions[:, t]
        if t > 0:
            mean = np.where(n > 0, s / np.maximum(n, 1), -np.inf)  # (N, k) untried: no estimate
            best = mean.max(axis=1, keepdims=True)  # (N, 1) exact ties are all greedy
            out[:, t] = (mean[rows, a] < best[:, 0]).astype(float)
        s[rows, a] += rewards[:, t]
        n[rows, a] += 1
    return out


def window_share(explore: np.ndarray, lo: int, hi: int) -> float:
    """Share of exploratory pulls among the defined ones at times lo..hi-1 (NaN excluded)."""
    part = explore[:, lo:hi]
    return float(np.nanmean(part)) if np.isfinite(part).any() else float("nan")


def pseudo_regret(p_pulled: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-trial pseudo-regret (N,): sum over pulls of best arm probability minus the pulled
    arm's. p_pulled (N, T) success probabilities of the pulled arms, p (N, k) the bandits."""
    return (p.max(axis=1, keepdims=True) - p_pulled).sum(axis=1)
