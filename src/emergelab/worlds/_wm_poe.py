"""The weighted product of experts over laws, its maximum-likelihood fit, the frequency-table
baseline, and the evaluation protocol of OneLife (state ranking and state fidelity).

Per observable o, the laws active in (s, a) vote with weights w >= 0:
    p(v | s, a)  proportional to  prod_{k active} p_k(v | s, a) ** w_k
(no active law: uniform). log p is linear in w minus a log-sum-exp, so the negative
log-likelihood of observed transitions is convex in w (a log-linear model): L-BFGS-B finds the
optimum. A Gaussian prior pulls each weight towards 1 (the library's laws are proposed as
believed), so a law never active in the data keeps the weight it was proposed with. Inactive
laws contribute nothing: inference routes only through the laws whose precondition holds.
"""

from __future__ import annotations

import numpy as np

from emergelab.worlds._wm_laws import Ctx, Law, distribution


def tensors(laws: list[Law], c: Ctx, S2: np.ndarray, dims: tuple[int, ...], eps: float) -> list[dict]:
    """Per observable: idx (its laws' indices in `laws`), active (N, K) float, logp (N, K, D)
    log-probabilities of each next value, value (N,) the observed next value."""
    out = []
    for o, D in enumerate(dims):
        idx = np.array([k for k, law in enumerate(laws) if law.obs == o], dtype=np.int64)
        active = np.stack([laws[k].pre(c) for k in idx], 1).astype(float) if len(idx) else np.zeros((len(S2), 0))
        logp = (np.log(np.stack([distribution(laws[k], c, D, eps) for k in idx], 1)) if len(idx)
                else np.zeros((len(S2), 0, D)))  # fmt: skip
        out.append({"idx": idx, "active": active, "logp": logp, "value": S2[:, o]})
    return out


def _normalise(logits: np.ndarray) -> np.ndarray:
    m = logits.max(1, keepdims=True)
    return logits - m - np.log(np.exp(logits - m).sum(1, keepdims=True))


def poe_logp(ts: list[dict], w: np.ndarray) -> list[np.ndarray]:
    """Per observable (N, D) log-probabilities of the next value under weights w (one per law)."""
    return [_normalise(np.einsum("nk,nkd->nd", t["active"] * w[t["idx"]], t["logp"])) for t in ts]


def fit(ts: list[dict], n: int, prior: float, w0: np.ndarray, w_max: float = 20.0) -> np.ndarray:
    """Maximum-likelihood weights (plus the prior's pull to 1) from the first n transitions."""
    from scipy.optimize import minimize

    w = w0.astype(float).copy()
    for t in ts:
        K = len(t["idx"])
        if K == 0:
            continue
        act, L, v = t["active"][:n], t["logp"][:n], t["value"][:n]
        rows = np.arange(len(v))
        Lv = L[rows, :, v]  # (n, K): each law's log-probability of what happened

        def nll(wk, act=act, L=L, v=v, rows=rows, Lv=Lv):
            lq = _normalise(np.einsum("nk,nkd->nd", act * wk, L))
            expect = np.einsum("nd,nkd->nk", np.exp(lq), L)  # E_q[log p_k]
            f = -lq[rows, v].sum() + prior * ((wk - 1) ** 2).sum()
            grad = -(act * (Lv - expect)).sum(0) + 2 * prior * (wk - 1)
            return f, grad

        res = minimize(nll, w[t["idx"]], jac=True, method="L-BFGS-B", bounds=[(0.0, w_max)] * K)
        w[t["idx"]] = res.x
    return w


def freq_logp(S: np.ndarray, A: np.ndarray, S2: np.ndarray, Se: np.ndarray, Ae: np.ndarray,
              dims: tuple[int, ...], n_actions: int, alpha: float) -> list[np.ndarray]:  # fmt: skip
    """The frequency table: per (observable, action) how often each change (next - current)
    was seen in exploration, add-alpha smoothed, applied to the held-out current values. (A
    table of the next values themselves would know nothing of where the agent stands; the
    change is the stronger baseline.)"""
    out, rows = [], np.arange(len(Se))
    for o, D in enumerate(dims):
        counts = np.zeros((n_actions, 2 * D - 1))
        np.add.at(counts, (A, S2[:, o] - S[:, o] + D - 1), 1)
        probs = (counts + alpha) / (counts + alpha).sum(1, keepdims=True)
        pe, p = probs[Ae], np.zeros((len(Se), D))
        for j, d in enumerate(range(-(D - 1), D)):
            p[rows, np.clip(Se[:, o] + d, 0, D - 1)] += pe[:, j]
        out.append(np.log(p))
    return out


def candidates(S: np.ndarray, S2: np.ndarray, dims: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The true next state (slot 0) and its distractors: for each observable, the next state
    with that observable one lower, one higher, or left at its current value (what a wrong
    effect or a wrong precondition would have predicted). Returns C (N, 1 + 3 n_obs, n_obs)
    and valid (N, 1 + 3 n_obs): a distractor is valid if in range, not the true state, and
    not a repeat."""
    N, n_obs = S2.shape
    C = np.repeat(S2[:, None, :], 1 + 3 * n_obs, 1)
    valid = np.ones(C.shape[:2], bool)
    for o, D in enumerate(dims):
        alts = (S2[:, o] - 1, S2[:, o] + 1, S[:, o])
        for j, v in enumerate(alts):
            C[:, 1 + 3 * o + j, o] = v
            ok = (v >= 0) & (v < D) & (v != S2[:, o])
            valid[:, 1 + 3 * o + j] = ok & ((S[:, o] != alts[0]) & (S[:, o] != alts[1]) if j == 2 else True)
    return np.clip(C, 0, np.array(dims) - 1), valid


def evaluate(logps: list[np.ndarray], C: np.ndarray, valid: np.ndarray, S2: np.ndarray) -> dict[str, float]:
    """State ranking and fidelity of one model on held-out transitions.
    acc: share ranking the true next state first (ties split evenly: a tie with m others
    scores 1/(m+1)); mrr: mean 1/rank (a tie counts half a place); edit: mean number of
    observables on which the most likely next state differs from the true one; abs_err: mean
    absolute error per observable; nll: mean -log p(true next state)."""
    score = sum(np.take_along_axis(lp, C[:, :, o], 1) for o, lp in enumerate(logps))  # (N, 1 + 3 n_obs)
    s0 = score[:, :1]
    tol = 1e-9 * np.maximum(1.0, np.abs(s0))
    greater = ((score[:, 1:] > s0 + tol) & valid[:, 1:]).sum(1)
    ties = ((np.abs(score[:, 1:] - s0) <= tol) & valid[:, 1:]).sum(1)
    pred = np.column_stack([lp.argmax(1) for lp in logps])
    return {"acc": float(np.where(greater == 0, 1.0 / (1 + ties), 0.0).mean()),
            "mrr": float((1.0 / (1 + greater + ties / 2)).mean()),
            "edit": float((pred != S2).sum(1).mean()),
            "abs_err": float(np.abs(pred - S2).mean()),
            "nll": float(-s0.mean())}  # fmt: skip


def auc(w: np.ndarray, good: np.ndarray) -> float:
    """P(a true law outweighs a candidate that is not), ties half: how well the fit sorts the library."""
    a, b = w[good][:, None], w[~good][None, :]
    return float(((a > b) + 0.5 * (a == b)).mean())
