"""Metrics of two evaluation protocols whose data users bring: ALTPRAG and MARS.

ALTPRAG — K. Yu, Q. Zeng, W. Xuan, W. Li, J. Wu, R. Voigt (2025), "The Pragmatic Mind of
Machines: Tracing the Emergence of Pragmatic Competence in Large Language Models"
(arXiv:2505.18497). Each instance pairs two contextually appropriate but pragmatically distinct
continuations; a model shows pragmatic competence when it prefers the intended one. Here the
preference is read from log-likelihoods (the paper itself grades free-form explanations with an
LLM judge; the likelihood protocol is the one a small or base model can be scored with):
    margin   = ll(intended) - ll(alternative)              raw, summed over tokens
    margin_n = ll(intended)/n_int - ll(alternative)/n_alt  per token ("length-normalised")
    correct  = margin > 0 (a tie is not a preference: it counts as wrong)
    p        = sigmoid(margin): the two-way softmax probability of the intended continuation,
               the contrastive score in [0, 1]; log p = -softplus(-margin) <= 0.

MARS — W. Wang, Y. Song (2025), "MARS: Benchmarking the Metaphysical Reasoning Abilities of
Language Models with a Multi-task Evaluation Dataset" (ACL 2025; arXiv:2406.02106). Three
binary discrimination tasks — plausibility of a changed action (event), of the state it causes
(inference), of the situational transition (transition) — reported as accuracy and macro-F1
per task. A model's score per item is any number whose larger values mean "plausible": by
default the log-odds log P(Yes) - log P(No) after a prompt (threshold 0), or a saved
probability (threshold 0.5), or any saved score with the user's threshold.

Both feed the family frame of measures/scaling.py (one row per model x item): `correct` (and
`mc_correct`) are the discontinuous grades, `logprob`, `target_prob` and `brier` their
continuous partners — the probability the model puts on the right answer of the two — so the
mirage check and the forecasts run on these benchmarks unchanged.
"""

from __future__ import annotations

import numpy as np

from emergelab.errors import UserError


def _vec(x, name: str) -> np.ndarray:
    try:
        v = np.asarray(x, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be numbers") from None
    if v.size == 0:
        raise UserError(f"{name} is empty: give at least one item")
    if not np.all(np.isfinite(v)):
        raise UserError(f"{name} has {int((~np.isfinite(v)).sum())} non-finite value(s) (first at "
                        f"{int(np.argmax(~np.isfinite(v)))}): drop or fix those items")  # fmt: skip
    return v


def _same(*arrays) -> None:
    if len({a.size for a in arrays}) > 1:
        raise UserError(f"arrays of different lengths {[a.size for a in arrays]}: give one value per item")


def log_sigmoid(x) -> np.ndarray:
    """log(1 / (1 + exp(-x))), stable for large |x| (a margin of -800 nats must not give -inf)."""
    x = np.asarray(x, dtype=float)
    return -np.logaddexp(0.0, -x)


def pair_margins(ll_intended, ll_alternative, n_intended=None, n_alternative=None) -> dict:
    """Per-item margins of one ALTPRAG-style pair: raw and, with token counts, per token.

    ll_*: summed log-likelihoods (N,); n_*: continuation lengths in tokens (N,) or None.
    -> {'margin': (N,), 'margin_norm': (N,) or absent}."""
    a, b = _vec(ll_intended, "ll_intended"), _vec(ll_alternative, "ll_alternative")
    _same(a, b)
    out = {"margin": a - b}
    if n_intended is not None or n_alternative is not None:
        if n_intended is None or n_alternative is None:
            raise UserError("give the token counts of both continuations (n_intended and n_alternative) or neither")
        na, nb = _vec(n_intended, "n_intended"), _vec(n_alternative, "n_alternative")
        _same(a, na, nb)
        if np.any(na < 1) or np.any(nb < 1):
            raise UserError("token counts must be >= 1: an empty continuation has no likelihood to compare")
        out["margin_norm"] = a / na - b / nb
    return out


def altprag_item_scores(ll_intended, ll_alternative, n_intended=None, n_alternative=None,
                        norm: bool = True) -> dict:  # fmt: skip
    """Per-item outcomes for the family frame. norm=True grades on the per-token margin (the
    two continuations differ in length, and a sum penalises the longer one), which needs the
    token counts; norm=False on the raw sum.
    -> {'margin', 'correct' (0/1), 'target_prob' = sigmoid(margin), 'logprob' = log of it,
        'brier' = 2 (1 - p)^2 (Brier over both choices)}, each (N,)."""
    m = pair_margins(ll_intended, ll_alternative, n_intended, n_alternative)
    if norm and "margin_norm" not in m:
        raise UserError("length-normalised scores need token counts (n_intended, n_alternative): "
                        "add them or use the raw log-likelihoods (norm=False)")  # fmt: skip
    margin = m["margin_norm"] if norm else m["margin"]
    return _outcomes(margin)


def _outcomes(margin: np.ndarray) -> dict:
    p = 1.0 / (1.0 + np.exp(-np.clip(margin, -700, 700)))
    return {"margin": margin, "correct": (margin > 0).astype(float), "target_prob": p,
            "logprob": log_sigmoid(margin), "brier": 2.0 * (1.0 - p) ** 2}  # fmt: skip


def altprag_metrics(ll_intended, ll_alternative, n_intended=None, n_alternative=None) -> dict:
    """Summary of one model on ALTPRAG-style pairs.

    -> n, accuracy (raw sums), mean_margin, preference = mean sigmoid(margin) (the contrastive
    score: 0.5 = no preference), and with token counts the same per token (`*_norm`)."""
    m = pair_margins(ll_intended, ll_alternative, n_intended, n_alternative)
    out = {"n": int(m["margin"].size)}
    for key, suffix in (("margin", ""), ("margin_norm", "_norm")):
        if key in m:
            o = _outcomes(m[key])
            out[f"accuracy{suffix}"] = float(o["correct"].mean())
            out[f"mean_margin{suffix}"] = float(m[key].mean())
            out[f"preference{suffix}"] = float(o["target_prob"].mean())
    return out


def _labels(labels) -> np.ndarray:
    y = _vec(labels, "labels")
    if not np.all((y == 0) | (y == 1)):
        bad = y[(y != 0) & (y != 1)][0]
        raise UserError(f"labels must be 0 (implausible) or 1 (plausible), got {bad:g}: recode the label column")
    return y.astype(int)


def macro_f1(labels, predictions) -> float:
    """Unweighted mean of the F1 of each class present in the labels or the predictions (as
    scikit-learn's f1_score(average='macro'), which the MARS authors report). A class that is
    predicted but never true, or true but never predicted, has F1 0."""
    y, p = _labels(labels), _labels(predictions)
    _same(y, p)
    f1s = []
    for c in np.union1d(y, p):
        tp = np.sum((p == c) & (y == c))
        fp = np.sum((p == c) & (y != c))
        fn = np.sum((p != c) & (y == c))
        f1s.append(2 * tp / (2 * tp + fp + fn))  # > 0 denominators: c occurs in y or p
    return float(np.mean(f1s))


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve (threshold-free; ties count half), NaN when one class is absent."""
    from scipy.stats import rankdata

    y, s = _labels(labels), _vec(scores, "scores")
    _same(y, s)
    n1, n0 = int(y.sum()), int((1 - y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(s)  # average ranks: a tie between a positive and a negative counts 1/2
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def binary_probability(scores, kind: str = "logodds", threshold: float | None = None) -> tuple[np.ndarray, float]:
    """(P(plausible) per item, threshold used) from scores of `kind`:
    'logodds' (log P(yes) - log P(no); threshold 0): p = sigmoid(score - threshold);
    'prob' (a probability in [0, 1]; threshold 0.5): p = score;
    'score' (any scale; a threshold is required): p = sigmoid(score - threshold), which is a
    probability only when the score is a log-odds — the continuous partners are then a
    monotone stand-in, not a calibrated probability."""
    s = _vec(scores, "scores")
    if kind == "prob":
        if np.any((s < 0) | (s > 1)):
            raise UserError("scores of kind 'prob' must lie in [0, 1]: use kind 'logodds' or 'score'")
        return s, 0.5 if threshold is None else float(threshold)
    if kind not in ("logodds", "score"):
        raise UserError(f"unknown score kind {kind!r}: choose logodds, prob or score")
    if threshold is None:
        if kind == "score":
            raise UserError("scores of kind 'score' need a threshold: pass the value above which an item is plausible")
        threshold = 0.0
    z = np.clip(s - float(threshold), -700, 700)
    return 1.0 / (1.0 + np.exp(-z)), float(threshold)


def binary_item_scores(labels, scores, kind: str = "logodds", threshold: float | None = None) -> dict:
    """Per-item outcomes of a binary (MARS) item for the family frame.
    -> {'prediction' (0/1; score > threshold), 'correct', 'target_prob' = P(true label),
        'logprob' = log of it, 'brier' = 2 (1 - target_prob)^2}, each (N,)."""
    y = _labels(labels)
    p, t = binary_probability(scores, kind, threshold)
    _same(y, p)
    s = _vec(scores, "scores")
    pred = (s > t).astype(int)  # strictly above: a score on the threshold says nothing
    q = np.where(y == 1, p, 1.0 - p)
    return {"prediction": pred, "correct": (pred == y).astype(float), "target_prob": q,
            "logprob": np.log(np.clip(q, 1e-300, 1.0)), "brier": 2.0 * (1.0 - q) ** 2}  # fmt: skip


def binary_metrics(labels, scores, kind: str = "logodds", threshold: float | None = None) -> dict:
    """Accuracy, macro-F1, AUC and rates of one model on one binary task."""
    o = binary_item_scores(labels, scores, kind, threshold)
    y = _labels(labels)
    return {"n": int(y.size), "accuracy": float(o["correct"].mean()), "macro_f1": macro_f1(y, o["prediction"]),
            "auc": roc_auc(y, scores), "positive_rate": float(o["prediction"].mean()),
            "label_rate": float(y.mean()), "mean_target_prob": float(o["target_prob"].mean())}  # fmt: skip


def mars_metrics(tasks, labels, scores, kind: str = "logodds", threshold: float | None = None):
    """Per-task table of one model on MARS: task, n, accuracy, macro_f1, auc, positive_rate,
    label_rate, mean_target_prob; plus a row 'all' when there are several tasks."""
    import pandas as pd

    t = np.asarray([str(x) for x in np.asarray(tasks, dtype=object).reshape(-1)], dtype=object)
    y, s = _labels(labels), _vec(scores, "scores")
    _same(y, s)
    if t.size != y.size:
        raise UserError(f"{t.size} task names for {y.size} items: give one per item")
    names = list(dict.fromkeys(t))
    rows = [{"task": k, **binary_metrics(y[t == k], s[t == k], kind, threshold)} for k in names]
    if len(names) > 1:
        rows.append({"task": "all", **binary_metrics(y, s, kind, threshold)})
    return pd.DataFrame(rows)
