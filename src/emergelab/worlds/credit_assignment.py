"""Credit and entropy in long-horizon RL: EPO's entropy control on a 30-turn lock, HICRA's
planning-token credit on a two-level "reasoning" task.

task=lock (EPO). A combination lock of `horizon` stages (30): at each stage one of `n_actions`
actions advances, the others waste the turn; the episode has `budget` turns and pays 1 only on
opening the lock (sparse, terminal). A distractor: at stage 0 a decoy action ends the episode at
once with `decoy_reward` (0.3), a flawed strategy that pays often. A tabular softmax policy is
trained by REINFORCE (batch-mean baseline) on batches of episodes, with
  pg       no entropy term: the decoy wins the early race and the policy's entropy collapses
           onto it (premature convergence to a low-entropy, flawed strategy; success 0);
  entropy  a conventional entropy bonus (mean over all turns of the batch, constant weight):
           decoy episodes are 1 turn long and barely count, so it pins the long chain's stages
           at maximal entropy (chaotic exploration) while half the episodes still take the
           decoy, and success stays near 0 at every weight tried (0.01-10);
  epo      EPO's three mechanisms: (1) the bonus on trajectory-level entropy (each episode's
           mean turn entropy, averaged over episodes: a 1-turn episode counts as much as a
           60-turn one), (2) entropy smoothing: a hinge penalty on episodes whose entropy leaves
           the band [band_lo, band_hi] x the mean entropy of the last `window` iterations,
           (3) a phase weight on the bonus, ~1 over the first half of training, decaying
           exponentially in the second (more exploration early, exploitation late).
Measured (quick, seeds 0-4, 25,600 episodes each): success pg 0.00, entropy 0.00-0.01, epo
0.98-0.99. Ablations say which mechanism works here: (1) opens the lock by itself; smoothing is
nearly inert at the default band and matters with a tight floor and a weak bonus; the phase
weight matters with a strong bonus (docs/worlds/credit_assignment.md).
Logged per iteration: lock/success, lock/decoy, lock/entropy (trajectory-level), lock/entropy_pooled,
lock/entropy_route (stage-0 entropy), lock/outside_band, lock/phase_weight, lock/samples.

task=reasoning (HICRA). A response is `n_plan` planning tokens (its strategy, `n_strategies`
options each) then `n_exec` execution tokens (`vocab` options, one right per position); it
succeeds only with the problem's strategy and every execution token right. Execution starts at
`exec_init` per token (easy to finish learning), planning starts uniform. GRPO-style group-
relative advantages over `group` samples per problem, token-mean loss:
  uniform  the same advantage on every token (GRPO);
  hicra    planning tokens get A + alpha |A| (HICRA's amplification), execution tokens A.
Logged: reason/success (sampled), reason/expected (exact expected success), reason/plan_acc,
reason/exec_acc, reason/token_entropy (pooled over all tokens), reason/semantic_entropy (over
whole strategies), reason/plan_token_entropy, reason/exec_token_entropy.
Measured (reasoning preset, seeds 0-4): updates to expected success 0.5, uniform 71-79, hicra
66-73 (alpha 0.2; 53-62 at alpha 1), seed for seed; token entropy is half-way down ~20 updates
before success is half-way up, semantic entropy within 1-2 updates of it.

Papers: W. Xu et al. (2025), "EPO: Entropy-regularized Policy Optimization for LLM Agents
Reinforcement Learning" (arXiv 2509.22576); H. Wang et al. (2025), "Emergent Hierarchical
Reasoning in LLMs through Reinforcement Learning" (arXiv 2509.03646). Toy analogues, not the
papers' LLM agents: see docs/worlds/credit_assignment.md for what was assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from emergelab.lab.config import param
from emergelab.lab.registry import World, register

LOCK_METHODS = ("pg", "entropy", "epo")
REASONING_METHODS = ("uniform", "hicra")


@dataclass(frozen=True)
class CreditAssignmentConfig:
    seed: int = param(0, "seeds the task layout (combination / strategies) and all sampling")
    task: Literal["lock", "reasoning"] = param(
        "lock", "lock: EPO's 30-turn sparse-reward lock; reasoning: HICRA's two-level task")
    method: Literal["pg", "entropy", "epo", "uniform", "hicra"] = param(
        "epo", "lock: pg | entropy | epo; reasoning: uniform (GRPO) | hicra")
    iters: int = param(400, "policy-gradient updates")
    lr: float = param(1.0, "step size of plain gradient ascent on the logits")
    log_every: int = param(1, "updates between logs")
    # lock (EPO)
    horizon: int = param(30, "lock: stages to open the lock (turns needed at the least)")
    n_actions: int = param(3, "lock: actions per stage (one advances)")
    budget: int = param(62, "lock: turns per episode")
    decoy_reward: float = param(0.3, "lock: reward of the decoy exit at stage 0 (opening pays 1)")
    slip: float = param(0.0, "lock: probability that a correct action fails to advance (a lost turn)")
    batch: int = param(128, "lock: episodes per update")
    ent_coef: float = param(0.3, "lock: entropy-bonus weight (method entropy and epo)")
    smooth_coef: float = param(1.0, "lock, epo: weight of the smoothing penalty relative to the bonus (0: off)")
    band_lo: float = param(0.8, "lock, epo: band floor as a multiple of the historical mean entropy (0: no floor)")
    band_hi: float = param(2.0, "lock, epo: band ceiling as a multiple of the historical mean entropy")
    window: int = param(10, "lock, epo: iterations in the historical entropy mean (0: all)")
    phase: bool = param(True, "lock, epo: phase-based weight on the bonus (false: constant 1)")
    phase_gamma: float = param(3.0, "lock, epo: decay rate of the phase weight in the second half")
    # reasoning (HICRA)
    n_problems: int = param(16, "reasoning: problems, each with its own correct strategy")
    group: int = param(8, "reasoning: samples per problem per update (GRPO group)")
    n_plan: int = param(2, "reasoning: planning tokens per response")
    n_strategies: int = param(4, "reasoning: options per planning token")
    n_exec: int = param(20, "reasoning: execution tokens per response")
    vocab: int = param(8, "reasoning: options per execution token")
    exec_init: float = param(0.9, "reasoning: initial probability of the right execution token")
    alpha: float = param(0.2, "reasoning, hicra: planning-token amplification A + alpha |A|")
    threshold: float = param(0.5, "reasoning: expected success that counts as learned (iters_to_threshold)")

    def __post_init__(self) -> None:
        ok = LOCK_METHODS if self.task == "lock" else REASONING_METHODS
        if self.method not in ok:
            raise ValueError(f"method '{self.method}' does not apply to task={self.task}: choose one of {', '.join(ok)}")
        for k in ("iters", "log_every", "horizon", "budget", "batch", "n_problems", "group", "n_plan",
                  "n_strategies", "n_exec", "vocab"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if self.n_actions < 2:
            raise ValueError(f"n_actions must be at least 2 (a right action and a decoy), got {self.n_actions}")
        for k in ("decoy_reward", "slip", "threshold"):
            if not 0.0 <= getattr(self, k) <= 1.0:
                raise ValueError(f"{k} is a probability/reward in [0, 1], got {getattr(self, k)}")
        if not 0.0 < self.exec_init < 1.0:
            raise ValueError(f"exec_init must be in (0, 1), got {self.exec_init}")
        if self.slip == 1.0:
            raise ValueError("slip=1 means the lock can never open: use slip < 1")
        if not (self.lr > 0 and min(self.ent_coef, self.smooth_coef, self.alpha, self.phase_gamma) >= 0):
            raise ValueError("lr must be > 0; ent_coef, smooth_coef, alpha and phase_gamma >= 0")
        if not 0.0 <= self.band_lo <= 1.0 <= self.band_hi:
            raise ValueError(f"need 0 <= band_lo <= 1 <= band_hi, got {self.band_lo}, {self.band_hi}")
        if self.window < 0:
            raise ValueError(f"window must be >= 0, got {self.window}")


def run(cfg: CreditAssignmentConfig, rec) -> None:
    (_run_lock if cfg.task == "lock" else _run_reasoning)(cfg, rec)


def _run_lock(cfg: CreditAssignmentConfig, rec) -> None:
    import numpy as np

    from emergelab.worlds import _credit_lock as L

    rng = np.random.default_rng([cfg.seed, 0])
    correct, decoy = L.layout(cfg.horizon, cfg.n_actions, rng)
    theta = np.zeros((cfg.horizon, cfg.n_actions))  # uniform start: no prior on any action
    hist = L.EntropyHistory(cfg.window)
    rec.set_total(cfg.iters)
    succ, ent = [], []
    for k in range(cfg.iters):
        ro = L.rollout(theta, correct, decoy, cfg.budget, cfg.slip, cfg.decoy_reward, cfg.batch, rng)
        w = L.phase_weight(k, cfg.iters, cfg.phase_gamma) if cfg.phase else 1.0
        g, info = L.gradient(theta, ro, cfg.method, cfg.ent_coef, cfg.smooth_coef, (cfg.band_lo, cfg.band_hi),
                             hist.mean(), w)
        hist.push(info["entropy"])
        route_h = float(L.entropy(L.softmax(theta[0])))
        theta += cfg.lr * g
        succ.append(float(ro["success"].mean()))
        ent.append(info["entropy"])
        if k % cfg.log_every == 0 or k == cfg.iters - 1:
            rec.log(k, **{"lock/success": succ[-1], "lock/decoy": float(ro["decoy"].mean()),
                          "lock/return": float(ro["reward"].mean()), "lock/entropy": info["entropy"],
                          "lock/entropy_pooled": info["entropy_pooled"], "lock/entropy_route": route_h,
                          "lock/outside_band": info["outside_band"],
                          "lock/phase_weight": w if cfg.method == "epo" else 1.0,
                          "lock/samples": float((k + 1) * cfg.batch)})
    s, e = np.array(succ), np.array(ent)
    tail = max(1, cfg.iters // 10)
    final_p = L.softmax(theta)
    # the chain's stages after the route: entropy near log K = never learnt (kept random)
    chain_h = float(L.entropy(final_p[1:]).mean()) if cfg.horizon > 1 else 0.0
    chain_ok = float(final_p[np.arange(1, cfg.horizon), correct[1:]].mean()) if cfg.horizon > 1 else 1.0
    low = np.flatnonzero(e < 0.5 * np.log(cfg.n_actions))  # trajectory entropy below half of log K
    rec.summarize(success_final=float(s[-tail:].mean()), success_mean=float(s.mean()),
                  entropy_final=float(e[-tail:].mean()), entropy_min=float(e.min()),
                  entropy_route_final=float(L.entropy(final_p[0])), entropy_chain_final=chain_h,
                  p_correct_chain_final=chain_ok, decoy_final=float(final_p[0, decoy]),
                  samples=cfg.iters * cfg.batch, entropy_half_iter=int(low[0]) if low.size else -1,
                  verdict=_verdict(float(s[-tail:].mean()), float(final_p[0, decoy]), chain_h, cfg.n_actions))


def _verdict(success: float, decoy: float, chain_entropy: float, K: int) -> str:
    import math

    if success >= 0.5:
        return "opens the lock"
    if decoy >= 0.8:
        return "premature convergence to the decoy"
    if chain_entropy >= 0.9 * math.log(K):
        return "keeps exploring (chain near uniform)"
    return "stuck"


def _run_reasoning(cfg: CreditAssignmentConfig, rec) -> None:
    import numpy as np

    from emergelab.worlds import _credit_reasoning as R

    rng = np.random.default_rng([cfg.seed, 1])
    prm = R.init_params(cfg.n_problems, cfg.n_plan, cfg.n_strategies, cfg.n_exec, cfg.vocab, cfg.exec_init, rng)
    rec.set_total(cfg.iters)
    rows = []
    for k in range(cfg.iters):
        d = R.step(prm, cfg.group, cfg.method, cfg.alpha, cfg.lr, rng)
        rows.append(d)
        if k % cfg.log_every == 0 or k == cfg.iters - 1:
            rec.log(k, **{f"reason/{n}": v for n, v in d.items()})
    final = R.diagnostics(R.softmax(prm["phi"]), R.softmax(prm["psi"]), prm["target"], prm["exec_tok"])
    ex = np.array([r["expected"] for r in rows] + [final["expected"]])
    hit = np.flatnonzero(ex >= cfg.threshold)

    def half_iter(name: str) -> int:
        """First iteration at which `name` has covered half of its total change over the run."""
        v = np.array([r[name] for r in rows] + [final[name]])
        if abs(v[-1] - v[0]) < 1e-9:
            return -1
        frac = (v - v[0]) / (v[-1] - v[0])
        return int(np.argmax(frac >= 0.5))

    def corr(a: str, b: str) -> float:
        x, y = np.array([r[a] for r in rows]), np.array([r[b] for r in rows])
        return float(np.corrcoef(x, y)[0, 1]) if x.std() > 0 and y.std() > 0 else float("nan")

    rec.summarize(iters_to_threshold=int(hit[0]) if hit.size else -1, expected_final=final["expected"],
                  plan_acc_final=final["plan_acc"], exec_acc_final=final["exec_acc"],
                  token_entropy_final=final["token_entropy"], semantic_entropy_final=final["semantic_entropy"],
                  success_half_iter=half_iter("expected"), token_entropy_half_iter=half_iter("token_entropy"),
                  semantic_entropy_half_iter=half_iter("semantic_entropy"), exec_half_iter=half_iter("exec_acc"),
                  plan_half_iter=half_iter("plan_acc"), corr_success_token_entropy=corr("expected", "token_entropy"),
                  corr_success_semantic_entropy=corr("expected", "semantic_entropy"))


register(World(
    name="credit_assignment",
    paper="W. Xu et al. (2025), EPO (arXiv 2509.22576); H. Wang et al. (2025), Emergent Hierarchical Reasoning "
          "in LLMs through RL / HICRA (arXiv 2509.03646)",
    effect="entropy control and credit assignment in long-horizon RL: EPO avoids premature convergence and "
           "chaotic exploration on a 30-turn lock; HICRA's planning-token credit learns the strategy faster",
    config=CreditAssignmentConfig,
    run=run,
    presets={
        "paper": {},  # lock, epo, 400 updates of 128 episodes
        "quick": {"iters": 200},
        "tiny": {"iters": 8, "batch": 16, "horizon": 6, "budget": 14, "window": 3},
        "reasoning": {"task": "reasoning", "method": "hicra", "iters": 200, "lr": 100.0},
        "reasoning_tiny": {"task": "reasoning", "method": "hicra", "iters": 6, "lr": 100.0, "n_problems": 3,
                           "group": 4, "n_exec": 5},
    },
    watch=("lock/success", "reason/expected"),
    look_for="task=lock: with -g method=pg,entropy,epo, lock/success stays at 0 for pg (lock/entropy_route falls: the "
             "policy commits to the decoy, lock/decoy -> ~0.9) and for entropy (lock/entropy_pooled stays ~1.0, log 3 = "
             "1.1: the chain is kept uniform, chaotic exploration), while epo opens the lock (success 0 -> ~1 around "
             "update 100-150) as its entropy declines smoothly. "
             "-p reasoning -g method=uniform,hicra: reason/token_entropy falls from the first updates while success is "
             "still ~0 (execution consolidates); reason/semantic_entropy stays flat and drops when reason/expected "
             "rises; hicra reaches the threshold sooner (summary iters_to_threshold).",
))
