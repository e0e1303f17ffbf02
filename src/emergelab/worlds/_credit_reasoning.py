"""The reasoning task of credit_assignment: a response is `n_plan` planning tokens (the
strategy) then `n_exec` execution tokens; it is right only if the strategy is the problem's
and every execution token is correct. Tabular softmax policy, GRPO-style group-relative
advantages, token-mean loss; uniform credit (GRPO) or HICRA's planning-token amplification.

numpy over the whole batch (problems x group x tokens); no loop over samples or tokens.
"""

from __future__ import annotations

import numpy as np

from emergelab.worlds._credit_lock import entropy, softmax


def init_params(n_problems: int, n_plan: int, n_strategies: int, n_exec: int, vocab: int, exec_init: float,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Planning logits (C, P, M) start uniform: no prior over strategies. Execution logits
    (L, V) start with the correct token at probability `exec_init` and the rest uniform: an
    execution skill a pretrained model mostly has and that is easy to finish learning. The
    problems' correct strategies (C, P) and the correct execution tokens (L,) are drawn here."""
    target = rng.integers(0, n_strategies, size=(n_problems, n_plan))
    exec_tok = rng.integers(0, vocab, size=n_exec)
    psi = np.zeros((n_exec, vocab))
    if vocab > 1:
        # logit gap g with e^g / (e^g + V - 1) = exec_init
        gap = np.log(exec_init * (vocab - 1) / (1.0 - exec_init)) if exec_init < 1.0 else 30.0
        psi[np.arange(n_exec), exec_tok] = gap
    return {"phi": np.zeros((n_problems, n_plan, n_strategies)), "psi": psi, "target": target, "exec_tok": exec_tok}


def _sample(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row of p (..., K) by inverse CDF."""
    u = rng.random(p.shape[:-1])
    return (u[..., None] > np.cumsum(p, axis=-1)).sum(axis=-1).clip(max=p.shape[-1] - 1)


def step(params: dict[str, np.ndarray], group: int, method: str, alpha: float, lr: float,
         rng: np.random.Generator) -> dict[str, float]:
    """Sample `group` responses per problem, score them, and take one gradient-ascent step in
    place. Returns the batch's diagnostics (measured before the step)."""
    phi, psi, target, exec_tok = params["phi"], params["psi"], params["target"], params["exec_tok"]
    C, P, M = phi.shape
    L, V = psi.shape
    pp, pe = softmax(phi), softmax(psi)  # (C, P, M), (L, V)
    plan = _sample(np.broadcast_to(pp[:, None], (C, group, P, M)), rng)  # (C, G, P)
    exe = _sample(np.broadcast_to(pe, (C, group, L, V)), rng)  # (C, G, L)
    plan_ok = (plan == target[:, None, :]).all(axis=-1)
    exec_ok = (exe == exec_tok).all(axis=-1)
    R = (plan_ok & exec_ok).astype(float)  # (C, G)
    # GRPO: advantage relative to the problem's group, scaled by the group's spread; a group
    # that is all right or all wrong teaches nothing
    adv = (R - R.mean(axis=1, keepdims=True)) / (R.std(axis=1, keepdims=True) + 1e-6)
    a_plan = adv + alpha * np.abs(adv) if method == "hicra" else adv  # HICRA: planning tokens only
    if method not in ("uniform", "hicra"):
        raise ValueError(f"unknown reasoning method {method!r}")
    n_tok = C * group * (P + L)  # token-mean loss: every token of the batch weighs 1/n_tok
    # d/d logits of sum_tokens A_t log pi(tok): A_t (onehot - pi), summed per parameter row
    oh_p = np.eye(M)[plan]  # (C, G, P, M)
    g_phi = (a_plan[..., None, None] * (oh_p - pp[:, None])).sum(axis=1) / n_tok
    oh_e = np.eye(V)[exe]  # (C, G, L, V)
    g_psi = (adv[..., None, None] * (oh_e - pe)).sum(axis=(0, 1)) / n_tok
    phi += lr * g_phi
    psi += lr * g_psi
    return diagnostics(pp, pe, target, exec_tok) | {"success": float(R.mean())}


def diagnostics(pp: np.ndarray, pe: np.ndarray, target: np.ndarray, exec_tok: np.ndarray) -> dict[str, float]:
    """Exact quantities of the current policy (no sampling noise):
    token entropy   mean policy entropy per generated token (planning and execution tokens
                    pooled, as an LLM's token entropy is; execution tokens are the majority);
    semantic        entropy of the distribution over whole strategies (the planning tuple),
                    averaged over problems: the sum of the planning positions' entropies;
    plan_acc        probability of the problem's strategy, mean over problems;
    exec_acc        probability that every execution token is right;
    expected        expected success = mean over problems of plan_acc_c * exec_acc."""
    C, P, M = pp.shape
    L = pe.shape[0]
    h_plan = entropy(pp)  # (C, P)
    h_exec = entropy(pe)  # (L,)
    p_plan = np.take_along_axis(pp, target[..., None], axis=-1)[..., 0].prod(axis=-1)  # (C,)
    p_exec = float(pe[np.arange(L), exec_tok].prod())
    return {
        "token_entropy": float((h_plan.sum(axis=1).mean() + h_exec.sum()) / (P + L)),
        "semantic_entropy": float(h_plan.sum(axis=1).mean()),
        "plan_token_entropy": float(h_plan.mean()),
        "exec_token_entropy": float(h_exec.mean()),
        "plan_acc": float(p_plan.mean()),
        "exec_acc": p_exec,
        "expected": float((p_plan * p_exec).mean()),
    }
