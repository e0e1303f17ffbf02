"""Intention metrics: how much of a language model's state survives into its answer.

Paper: P. M. Vera (2026), "Intention Collapse: Intention-Level Metrics for Reasoning in
Language Models" (arXiv 2601.01011). Generation compresses a rich internal state I (the
"pre-collapse" state just before the model answers) into one token sequence. Three cheap,
model-agnostic metrics over I (SCIENCE A9):

- intention entropy H_int: Shannon entropy (bits) of the next-token distribution restricted
  to the top-100 logits and renormalised (the tail of a 50k vocabulary adds noise, not
  intention). Uniform logits give log2(100) = 6.64 bits, a one-hot answer 0.
- effective dimensionality dim_eff: the smallest k whose first k principal components explain
  >= 90 % of the variance of a set of states (N, D); the participation ratio (sum l)^2 / sum l^2
  of the PCA eigenvalues l is the threshold-free alternative.
- recoverability Recov: AUROC of an L2-regularised logistic probe that predicts eventual
  correctness from the states, out of fold (stratified k-fold, seeded); 0.5 = nothing
  recoverable. The paper: CoT 0.65, direct answers ~chance.
- its control, question-only recoverability: the same probe (same folds, same seed) on
  features of the question alone (operands, kind, a bag of characters: `char_counts`),
  which carry no model state. Correctness often depends on the question (small sums are
  easy), and a state that encodes the question inherits that; Recov - Recov_question is what
  the state adds beyond the question (`recoverability_gain`).

Pure functions over numpy arrays (torch tensors are accepted and converted): they serve any
causal LM's states, the lab's own models or a user's saved activations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emergelab.errors import UserError

TOP_K = 100  # the paper's top-100 next-token logits
VAR_THRESHOLD = 0.90  # dim_eff: share of variance the first k components must explain
FOLDS = 5


def _array(x: Any, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().float().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.ndim not in ndim:
        raise UserError(f"{name} must have {' or '.join(map(str, ndim))} dimensions, got shape {a.shape}")
    if a.size == 0:
        raise UserError(f"{name} is empty (shape {a.shape}): give at least one state")
    if not np.isfinite(a).all():
        raise UserError(f"{name} holds NaN or infinite values: drop those rows first")
    return a


def intention_entropy(logits: Any, top_k: int = TOP_K) -> np.ndarray | float:
    """Entropy in bits of softmax over the `top_k` largest logits (renormalised).

    logits (V,) -> float, or (N, V) -> (N,). With V < top_k all V logits are used."""
    z = _array(logits, "logits", (1, 2))
    single = z.ndim == 1
    z = np.atleast_2d(z)  # (N, V)
    k = min(int(top_k), z.shape[1])
    if k < 1:
        raise UserError(f"top_k must be at least 1, got {top_k}")
    top = np.partition(z, z.shape[1] - k, axis=1)[:, -k:]  # (N, k) the k largest, unordered
    top = top - top.max(1, keepdims=True)  # stable softmax
    p = np.exp(top)
    p /= p.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(p), 0.0).sum(1)  # (N,)
    h = np.maximum(h, 0.0)  # -0.0 and rounding below zero for one-hot rows
    return float(h[0]) if single else h


def _eigenvalues(states: Any) -> np.ndarray:
    """PCA eigenvalues (descending) of the centred states (N, D): squared singular values / N."""
    x = _array(states, "states", (2,))
    if len(x) < 2:
        raise UserError(f"PCA needs at least 2 states, got {len(x)}")
    x = x - x.mean(0)
    s = np.linalg.svd(x, compute_uv=False)  # (min(N, D),)
    return s**2 / len(x)


def explained_variance(states: Any) -> np.ndarray:
    """Cumulative share of variance explained by the first 1, 2, ... components: (min(N, D),)."""
    lam = _eigenvalues(states)
    total = lam.sum()
    return np.cumsum(lam) / total if total > 0 else np.ones_like(lam)


def effective_dim(states: Any, threshold: float = VAR_THRESHOLD) -> int:
    """Smallest k with cumulative PCA explained variance >= threshold over states (N, D).

    Identical states (no variance) have dim_eff 0. Components are counted after centring, so
    N states span at most N - 1 dimensions."""
    if not 0 < threshold <= 1:
        raise UserError(f"threshold must be in (0, 1], got {threshold}")
    lam = _eigenvalues(states)
    total = lam.sum()
    if total <= 1e-12 * max(1.0, float(np.abs(lam).max(initial=0.0))):
        return 0
    cum = np.cumsum(lam) / total
    # a small tolerance: rank-k data can reach 0.9 only up to rounding (0.8999999999)
    return int(np.searchsorted(cum, threshold - 1e-9) + 1)


def participation_ratio(states: Any) -> float:
    """(sum l)^2 / sum l^2 over the PCA eigenvalues l of states (N, D): k for k equal
    components, between 1 and k for unequal ones; 0 for identical states."""
    lam = _eigenvalues(states)
    sq = float((lam**2).sum())
    return float(lam.sum() ** 2 / sq) if sq > 0 else 0.0


def recoverability(states: Any, labels: Any, folds: int = FOLDS, C: float = 1.0, seed: int = 0) -> float:
    """AUROC of an L2 logistic probe (features standardised) predicting the binary `labels`
    (N,) from `states` (N, D), scored on out-of-fold probabilities of a stratified k-fold
    (shuffled with `seed`).

    NaN when it cannot be defined: one class only, or fewer than 2 items of the minority
    class; with fewer than `folds` such items the folds shrink to that many."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = _array(states, "states", (2,))
    y = np.asarray(labels).astype(bool).ravel()
    if len(y) != len(x):
        raise UserError(f"labels ({len(y)}) and states ({len(x)}) must have one entry per item")
    if folds < 2:
        raise UserError(f"folds must be at least 2, got {folds}")
    minority = int(min(y.sum(), (~y).sum()))
    if minority < 2:
        return float("nan")
    k = min(int(folds), minority)
    scores = np.zeros(len(y))  # (N,) out-of-fold P(correct)
    split = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for train, test in split.split(x, y):
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
        probe.fit(x[train], y[train])
        scores[test] = probe.predict_proba(x[test])[:, 1]
    return float(roc_auc_score(y, scores))


def char_counts(texts: list[str], alphabet: str | None = None) -> np.ndarray:
    """Bag of characters: (N, A) counts of each character of `alphabet` in each text (default
    alphabet: every character that occurs in `texts`, sorted)."""
    chars = sorted(set("".join(texts))) if alphabet is None else list(alphabet)
    col = {c: j for j, c in enumerate(chars)}
    out = np.zeros((len(texts), len(chars)))
    for i, t in enumerate(texts):
        for c in t:
            if c in col:
                out[i, col[c]] += 1
    return out


def recoverability_gain(states: Any, question: Any, labels: Any, folds: int = FOLDS, C: float = 1.0,
                        seed: int = 0) -> dict[str, float]:
    """Recov from the states (N, D) against the same probe (same folds and seed) on question-only
    features (N, F): {recov, recov_question, recov_gain = recov - recov_question}."""
    r = recoverability(states, labels, folds, C, seed)
    q = recoverability(question, labels, folds, C, seed)
    return {"recov": r, "recov_question": q, "recov_gain": r - q}


def intention_metrics(states: Any, logits: Any, correct: Any, top_k: int = TOP_K,
                      threshold: float = VAR_THRESHOLD, folds: int = FOLDS, C: float = 1.0,
                      seed: int = 0) -> dict[str, float]:
    """All of them for one regime: states (N, D), logits (N, V), correct (N,) ->
    {entropy (mean bits), entropy_sd, dim_eff, participation_ratio, recov, acc}."""
    h = np.atleast_1d(intention_entropy(logits, top_k))
    ok = np.asarray(correct).astype(bool).ravel()
    x = _array(states, "states", (2,))
    if not len(h) == len(x) == len(ok):
        raise UserError(f"states ({len(x)}), logits ({len(h)}) and correct ({len(ok)}) must have one row "
                        "per item")  # fmt: skip
    return {"entropy": float(h.mean()), "entropy_sd": float(h.std()),
            "dim_eff": float(effective_dim(x, threshold)) if len(x) > 1 else float("nan"),
            "participation_ratio": participation_ratio(x) if len(x) > 1 else float("nan"),
            "recov": recoverability(x, ok, folds, C, seed), "acc": float(ok.mean())}  # fmt: skip
