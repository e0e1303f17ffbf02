"""The lock task of credit_assignment: a 30+-turn chain with a decoy exit, a tabular softmax
policy, REINFORCE with a batch-mean baseline, and the three entropy treatments (none, a plain
bonus, EPO's trajectory-level bonus + entropy smoothing + phase weight).

Everything is numpy over a batch of B episodes; the only Python loop is over the turns.
"""

from __future__ import annotations

import math

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def entropy(p: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) over the last axis; 0 log 0 = 0."""
    return -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=-1)


def entropy_grad(p: np.ndarray) -> np.ndarray:
    """d H(softmax(theta)) / d theta = -p (log p + H), row-wise."""
    logp = np.log(np.where(p > 0, p, 1.0))
    return -p * (logp + entropy(p)[..., None])


def phase_weight(k: int, total: int, gamma: float = 3.0, slow: float = 2.0) -> float:
    """EPO's phase-based weight (the shape of the authors' released schedule): over the first
    half of training it eases from 1 to 0.8, over the second it decays as 0.8 exp(-gamma p)."""
    if total <= 1:
        return 1.0
    half = total // 2
    k = min(max(k, 0), total)
    if k <= half:
        return 1.0 - 0.2 * (1.0 - math.exp(-slow * k / max(half, 1)))
    return 0.8 * math.exp(-gamma * (k - half) / max(total - half, 1))


def layout(horizon: int, n_actions: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """The combination: correct action per stage (H,), and the decoy action at stage 0 (never
    the correct one there). Drawn per seed so no action index is privileged."""
    correct = rng.integers(0, n_actions, size=horizon)
    decoy = int((correct[0] + 1 + rng.integers(0, n_actions - 1)) % n_actions)
    return correct, decoy


def rollout(theta: np.ndarray, correct: np.ndarray, decoy: int, budget: int, slip: float,
            decoy_reward: float, B: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Play B episodes of at most `budget` turns. State = stage s (0..H-1). The correct action
    advances one stage (unless it slips: with probability `slip` the turn is lost), any other
    action wastes the turn; the decoy action at stage 0 ends the episode with `decoy_reward`.
    Reaching stage H ends it with reward 1; running out of turns gives 0. Returns the visited
    stages and actions (B, budget; -1 once over), the reward (B,), success and decoy flags."""
    H, K = theta.shape
    probs = softmax(theta)  # fixed within the batch (on-policy)
    cdf = np.cumsum(probs, axis=1)
    s = np.zeros(B, dtype=np.int64)
    alive = np.ones(B, dtype=bool)
    reward = np.zeros(B)
    took_decoy = np.zeros(B, dtype=bool)
    S = np.full((B, budget), -1, dtype=np.int64)
    A = np.full((B, budget), -1, dtype=np.int64)
    for t in range(budget):
        if not alive.any():
            break
        u = rng.random(B)
        slipped = rng.random(B) < slip
        a = (u[:, None] > cdf[s]).sum(axis=1).clip(max=K - 1)  # inverse-CDF sampling, (B,)
        S[alive, t], A[alive, t] = s[alive], a[alive]
        quit_ = alive & (s == 0) & (a == decoy)
        reward[quit_] = decoy_reward
        took_decoy |= quit_
        alive &= ~quit_
        s = np.where(alive & (a == correct[s]) & ~slipped, s + 1, s)
        done = alive & (s == H)
        reward[done] = 1.0
        alive &= ~done
        s = np.minimum(s, H - 1)  # finished episodes are masked; keep indices valid
    return {"S": S, "A": A, "reward": reward, "success": reward == 1.0, "decoy": took_decoy}


def visit_counts(S: np.ndarray, A: np.ndarray, H: int, K: int, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sum_b w_b * (# times episode b took action a in stage s) -> (H, K), and the per-episode
    stage visit counts (B, H). w: (B,) weights (advantages)."""
    B, T = S.shape
    on = S >= 0
    flat = (S * K + A)[on]
    wt = np.broadcast_to(w[:, None], (B, T))[on]
    sa = np.bincount(flat, weights=wt, minlength=H * K).reshape(H, K)
    rows = np.broadcast_to(np.arange(B)[:, None], (B, T))[on]
    n = np.bincount(rows * H + S[on], minlength=B * H).reshape(B, H).astype(float)
    return sa, n


class EntropyHistory:
    """Trajectory-level entropy of past iterations: the smoothing band's centre is their mean
    over the last `window` iterations (0: all of them)."""

    def __init__(self, window: int) -> None:
        self.window, self.values = window, []

    def mean(self) -> float | None:
        v = self.values[-self.window:] if self.window else self.values
        return float(np.mean(v)) if v else None

    def push(self, h: float) -> None:
        self.values.append(h)


def gradient(theta: np.ndarray, ro: dict[str, np.ndarray], method: str, ent_coef: float, smooth_coef: float,
             band: tuple[float, float], h_bar: float | None, weight: float) -> tuple[np.ndarray, dict[str, float]]:
    """Ascent direction for the policy logits (H, K) and diagnostics.

    pg:      REINFORCE, advantage = R - mean(R) of the batch, summed over an episode's turns,
             averaged over episodes (no entropy term).
    entropy: + ent_coef * grad of the conventional (turn-pooled) entropy: the mean policy entropy
             over all turns of the batch, so a 1-turn decoy episode weighs 1/75 of a long one.
    epo:     + ent_coef * weight * grad of the trajectory-level entropy (mean over episodes of the
             episode's mean turn entropy: every trajectory counts once, EPO's mechanism 1),
             - ent_coef * smooth_coef * grad of the smoothing penalty: for each episode whose
             trajectory entropy leaves the band [band_lo * h_bar, band_hi * h_bar] around the
             historical average, the distance outside (mechanism 2; a hinge, so entropy moves
             freely inside the band), with `weight` the phase weight (mechanism 3)."""
    H, K = theta.shape
    p = softmax(theta)
    R = ro["reward"]
    adv = R - R.mean()
    B = R.shape[0]
    sa, n = visit_counts(ro["S"], ro["A"], H, K, adv)
    g = (sa - p * sa.sum(axis=1, keepdims=True)) / B  # sum_b A_b sum_t (e_a - p_s)
    h_stage = entropy(p)  # (H,)
    dH = entropy_grad(p)  # (H, K)
    T_b = n.sum(axis=1)  # turns per episode (>= 1)
    traj_h = (n @ h_stage) / T_b  # (B,) mean turn entropy of each episode
    pooled_h = float((n @ h_stage).sum() / T_b.sum())
    info = {"entropy": float(traj_h.mean()), "entropy_pooled": pooled_h, "outside_band": 0.0}
    if method == "entropy":
        g = g + ent_coef * (n.sum(axis=0) / T_b.sum())[:, None] * dH
    elif method == "epo":
        share = n / T_b[:, None]  # (B, H): d traj_h_b / d H_s
        g = g + ent_coef * weight * (share.mean(axis=0))[:, None] * dH
        if h_bar is not None and smooth_coef > 0:
            lo, hi = band[0] * h_bar, band[1] * h_bar
            sign = (traj_h < lo).astype(float) - (traj_h > hi).astype(float)  # +1 raise, -1 lower
            info["outside_band"] = float(np.abs(sign).mean())
            g = g + ent_coef * smooth_coef * ((sign[:, None] * share).mean(axis=0))[:, None] * dH
    elif method != "pg":
        raise ValueError(f"unknown lock method {method!r}")
    return g, info
