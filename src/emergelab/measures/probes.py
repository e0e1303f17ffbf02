"""Mechanistic probes of small transformers (SCIENCE A2 induction heads, A3 ICL, A5 massive
activations), as pure functions of tensors plus thin wrappers that run a model.

Pure functions (pattern = attention weights (B, H, T, T), query t on dim -2, key s on dim -1):
    prefix_matching_score(pattern, tokens, which="all") -> (H,)  attention from t to s+1
        where tokens[s] == tokens[t], s < t, over total attention; queries with no earlier
        copy of their token are left out. which="all": every earlier copy s (SCIENCE A2, the
        default); which="last": only the most recent one (Olsson et al. 2022). A perfect
        induction head on a repeated random sequence scores 1.
    periodic_tokens(batch, seq_len, period, vocab, generator) -> (B, T)  random tokens that
        repeat with `period` (distinct within a period when vocab >= period)
    novel_period_score(pattern, tokens, period, which="all") -> (H,)  prefix matching on
        tokens repeating with a period the model was not trained on, queries t >= period:
        an induction head (content) keeps its score, a head that attends at a fixed
        positional offset (the training period) drops to ~0.
    previous_token_score(pattern)           -> (H,)  mean share of attention on t-1 (t >= 1)
    induction_strength(pattern, correct_pos, wrong_pos, query_pos) -> (H,)  attention from the
        query to the label after the correct exemplar minus to the label after the wrong
        one; positions are the *label* positions, ints or (B,) tensors. In [-1, 1].
    icl_score(loss_per_position, early, late) -> float  mean loss late in the context minus
        early (negative = the model learns in context). Olsson et al. use token 500 - token 50.
    copying_score(W_E, W_V, W_O, W_U)       -> (H,)  the fraction of tokens t for which
        argmax(W_U^T W_O^h W_V^h^T e_t) == t: the head's OV circuit, read alone, writes the
        token it attends to into the logits (SCIENCE A2). LayerNorm and other paths are
        ignored, so this is a property of the weights, not of a batch.
    massive_activation_ratio(resid)         -> float  r = max|h| / median|h| over all
        entries of one layer's residual stream (SCIENCE A5; Sun et al. call an activation
        massive when |a| > 100 and r >= 1000, see massive_activation_count).

Wrappers (any model whose forward accepts `cache=` and fills the hook names of
emergelab.nn.transformer; they run under no_grad and return per-layer tensors):
    run_with_cache(model, tokens) -> (logits, cache)
    prefix_matching_scores(model, tokens, which) -> (L, H);  previous_token_scores(model, tokens) -> (L, H)
    novel_period_scores(model, tokens, period, which) -> (L, H)
    induction_strengths(model, tokens, correct_pos, wrong_pos, query_pos) -> (L, H)
    loss_per_position(logits, targets) -> (B, T);  model_icl_score(model, tokens, targets, ...)
    copying_scores(model) -> (L, H)   needs model.W_E, model.W_U and model.ov(layer)
    massive_activation_ratios(model, tokens) -> (L,)  from blocks.{l}.resid_post
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line


def _check_pattern(pattern: torch.Tensor) -> tuple[int, int, int]:
    if pattern.dim() != 4 or pattern.shape[-1] != pattern.shape[-2]:
        raise UserError(f"attention pattern must be (B, H, T, T), got shape {tuple(pattern.shape)}")
    B, H, T, _ = pattern.shape
    return B, H, T


def _check_tokens(pattern: torch.Tensor, tokens: torch.Tensor) -> None:
    B, H, T = _check_pattern(pattern)
    if tokens.shape != (B, T):
        raise UserError(f"tokens must be (B, T) = {(B, T)}, got {tuple(tokens.shape)}")


def _row_share(pattern: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Share of each query row's attention that lands on `mask`: (B, H, T)."""
    total = pattern.sum(-1).clamp_min(1e-12)  # softmax rows sum to 1; hand-built ones may not
    return (pattern * mask).sum(-1) / total


# -- pure functions --------------------------------------------------------------------


PREFIX_MATCHING = ("all", "last")  # the two definitions prefix_matching_score offers


def prefix_matching_score(pattern: torch.Tensor, tokens: torch.Tensor, which: str = "all") -> torch.Tensor:
    """(B, H, T, T), (B, T) -> (H,): mean share of attention from t on the tokens right after
    earlier copies of tokens[t]. Queries with no earlier copy don't count.

    which="all" (default): the targets are the successors of *every* earlier copy. This is
    SCIENCE A2's definition ("attention mass on position j where token[j-1] == token[i]"), the
    one the induction_heads world's ideal pattern (clamp_induction: uniform over those
    successors) scores 1 on, and the one its logged `probe/prefix_match_*` numbers have
    always meant. A head that spreads over several copies is still doing induction.
    which="last": only the successor of the most recent earlier copy, as Olsson et al. (2022)
    score it on repeated random tokens. It is never above "all" (a subset of the targets,
    the same queries); the two agree when every token has at most one earlier copy.
    """
    _check_tokens(pattern, tokens)
    return _prefix_matching(pattern, tokens, which, first_query=0)


def _prefix_matching(pattern: torch.Tensor, tokens: torch.Tensor, which: str, first_query: int) -> torch.Tensor:
    """prefix_matching_score over the queries t >= first_query (shapes already checked)."""
    if which not in PREFIX_MATCHING:
        raise UserError(f"which must be one of {PREFIX_MATCHING}, got {which!r}")
    target = _prefix_targets(tokens.to(pattern.device), which)  # (B, T, T)
    share = _row_share(pattern, target[:, None].to(pattern.dtype))  # (B, H, T)
    valid = target.any(-1)  # (B, T)
    valid[:, :first_query] = False
    valid = valid[:, None].expand_as(share)  # (B, H, T)
    n = valid.sum(dim=(0, 2))  # (H,)
    if int(n[0]) == 0:
        raise UserError("no token repeats in `tokens`: prefix matching needs repeated sequences")
    return (share * valid).sum(dim=(0, 2)) / n


def _prefix_targets(tokens: torch.Tensor, which: str) -> torch.Tensor:
    """(B, T) -> (B, T, T) bool: target[b, t, s + 1] where s < t is an earlier copy of tokens[b, t]
    (every copy, or only the latest for which="last")."""
    B, T = tokens.shape
    same = tokens[:, :, None] == tokens[:, None, :]  # (B, T, T): same[b, t, s] = tok[t] == tok[s]
    earlier = torch.ones(T, T, dtype=torch.bool, device=tokens.device).tril(-1)  # s < t
    src = same & earlier  # (B, T, s): earlier copies of the query token
    if which == "last":
        # the largest s with src[b, t, s]: argmax of s+1 on the copies (rows without a copy
        # give index 0 and are masked out again by src.any)
        pos = torch.arange(1, T + 1, device=tokens.device)  # (T,)
        last = (src * pos).argmax(-1)  # (B, T)
        src = F.one_hot(last, T).bool() & src.any(-1, keepdim=True)  # (B, T, T)
    # the target of copy s is key s + 1 (it is still <= t because s < t)
    target = torch.zeros_like(src)
    target[:, :, 1:] = src[:, :, :-1]  # (B, T, T)
    return target


def periodic_tokens(batch: int, seq_len: int, period: int, vocab: int,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """(batch, seq_len) int64: random tokens repeating with `period` (token t = token t mod period).

    Within a period the tokens are distinct when vocab >= period (a random permutation's
    first `period` entries), so the only earlier copies are the structural ones t - m*period
    and "all" and "last" prefix matching differ only by how many periods came before."""
    if not (batch >= 1 and 1 <= period < seq_len and vocab >= 2):
        raise UserError(f"periodic_tokens needs batch >= 1, 1 <= period < seq_len and vocab >= 2 "
                        f"(got batch={batch}, period={period}, seq_len={seq_len}, vocab={vocab})")
    if vocab >= period:
        block = torch.rand(batch, vocab, generator=generator).argsort(1)[:, :period]  # (B, P) distinct
    else:
        block = torch.randint(0, vocab, (batch, period), generator=generator)  # (B, P) with repeats
    return block[:, torch.arange(seq_len) % period]  # (B, T)


def novel_period_score(pattern: torch.Tensor, tokens: torch.Tensor, period: int, which: str = "all") -> torch.Tensor:
    """(B, H, T, T), (B, T) tokens repeating with `period` -> (H,): prefix_matching_score over
    the queries t >= period, i.e. those whose copy one period back exists.

    Why: on sequences that repeat with the training period, a head that simply attends a fixed
    number of positions back (period - 1, learnable from positional embeddings alone) scores
    like an induction head. Choose `period` so that it is not a training period and does not
    divide the offsets a positional head could have learned (a period above them is safest):
    an induction head matches content and keeps its score; a fixed-offset head lands on
    tokens that follow no copy and scores ~0. Build the tokens with periodic_tokens.
    """
    _check_tokens(pattern, tokens)
    T = tokens.shape[1]
    if isinstance(period, bool) or not (isinstance(period, numbers.Integral) and 1 <= period < T):
        raise UserError(f"period must be an int in [1, {T}) (the sequence length), got {period!r}")
    if not torch.equal(tokens[:, period:], tokens[:, :-period]):
        raise UserError(f"tokens do not repeat with period {period}: build them with periodic_tokens")
    # queries in the first period have no structural copy (only accidental ones when
    # vocab < period): they would measure something else, so they are left out
    return _prefix_matching(pattern, tokens, which, first_query=int(period))


def previous_token_score(pattern: torch.Tensor) -> torch.Tensor:
    """(B, H, T, T) -> (H,): mean share of attention from t on t - 1, over t >= 1."""
    B, H, T = _check_pattern(pattern)
    if T < 2:
        raise UserError("previous-token score needs sequences of length >= 2")
    prev = torch.ones(T, T, device=pattern.device).tril(-1).triu(-1).to(pattern.dtype)  # (T, T) sub-diagonal
    return _row_share(pattern, prev)[:, :, 1:].mean(dim=(0, 2))


def _positions(p: int | torch.Tensor, B: int, T: int, what: str, device) -> torch.Tensor:
    p = torch.as_tensor(p, device=device).long().expand(B) if not torch.is_tensor(p) or p.dim() == 0 \
        else p.to(device).long()
    if p.shape != (B,) or (p < 0).any() or (p >= T).any():
        raise UserError(f"{what} must be an int or a (B,)={B} tensor of positions in [0, {T})")
    return p


def induction_strength(pattern: torch.Tensor, correct_pos, wrong_pos, query_pos) -> torch.Tensor:
    """(B, H, T, T) -> (H,): mean over the batch of pattern[query -> correct label] minus
    pattern[query -> wrong label]. 1 for a head that attends only to the correct label."""
    B, H, T = _check_pattern(pattern)
    c, w, q = (_positions(p, B, T, n, pattern.device) for p, n in
               ((correct_pos, "correct_pos"), (wrong_pos, "wrong_pos"), (query_pos, "query_pos")))
    b = torch.arange(B, device=pattern.device)
    rows = pattern[b, :, q]  # (B, H, T): each sequence's query row
    total = rows.sum(-1).clamp_min(1e-12)
    return ((rows[b, :, c] - rows[b, :, w]) / total).mean(0)


def _span(sel, T: int, default: slice) -> torch.Tensor:
    idx = torch.arange(T)[default if sel is None else sel] if isinstance(sel, (slice, type(None))) \
        else torch.as_tensor(sel).long()
    if idx.numel() == 0 or (idx < -T).any() or (idx >= T).any():
        raise UserError(f"context span {sel!r} selects no valid position of {T}")
    return idx


def icl_score(loss_per_position: torch.Tensor, early=None, late=None) -> float:
    """(B, T) or (T,) loss -> mean loss at `late` positions minus at `early` positions.
    early/late: slices or index lists; defaults are the first and last 10% (at least one)."""
    loss = torch.as_tensor(loss_per_position).float()
    if loss.dim() == 1:
        loss = loss[None]
    if loss.dim() != 2:
        raise UserError(f"loss_per_position must be (B, T) or (T,), got {tuple(loss.shape)}")
    T = loss.shape[1]
    k = max(1, T // 10)
    e, lt = _span(early, T, slice(0, k)), _span(late, T, slice(T - k, T))
    m = loss.mean(0)  # (T,)
    return float(m[lt].mean() - m[e].mean())


def copying_score(W_E: torch.Tensor, W_V: torch.Tensor, W_O: torch.Tensor, W_U: torch.Tensor) -> torch.Tensor:
    """W_E (V, D), W_V (H, D, d), W_O (H, d, D), W_U (D, V_out) -> (H,): fraction of tokens
    t < min(V, V_out) whose OV-circuit logits W_E[t] W_V^h W_O^h W_U peak at t."""
    if W_V.dim() != 3 or W_O.dim() != 3 or W_V.shape[0] != W_O.shape[0]:
        raise UserError("W_V must be (H, D, d) and W_O (H, d, D)")
    if W_E.dim() != 2 or W_U.dim() != 2 or not (
            W_E.shape[1] == W_V.shape[1] == W_O.shape[2] == W_U.shape[0] and W_V.shape[2] == W_O.shape[1]):
        raise UserError(f"shapes do not chain: W_E {tuple(W_E.shape)} (V, D), W_V {tuple(W_V.shape)} (H, D, d), "
                        f"W_O {tuple(W_O.shape)} (H, d, D), W_U {tuple(W_U.shape)} (D, V_out)")  # fmt: skip
    n = min(W_E.shape[0], W_U.shape[1])
    ov_logits = torch.einsum("vD,hDd,hdE,Eu->hvu", W_E[:n], W_V, W_O, W_U[:, :n])  # (H, n, n)
    hits = ov_logits.argmax(-1) == torch.arange(n, device=W_E.device)  # (H, n)
    return hits.float().mean(-1)


def massive_activation_ratio(resid: torch.Tensor) -> float:
    """One layer's residual stream (any shape) -> max|h| / median|h| (SCIENCE A5)."""
    a = resid.detach().abs().flatten().float()
    if a.numel() == 0:
        raise UserError("massive_activation_ratio needs a non-empty activation tensor")
    med = _median(a)
    return float(a.max() / med) if med > 0 else float("inf")


def massive_activation_count(resid: torch.Tensor, abs_min: float = 100.0, ratio_min: float = 1000.0) -> int:
    """Entries with |a| > abs_min and |a| / median|h| >= ratio_min (Sun et al. 2024)."""
    a = resid.detach().abs().flatten().float()
    med = max(_median(a), 1e-30)
    return int(((a > abs_min) & (a / med >= ratio_min)).sum())


def _median(a: torch.Tensor) -> float:
    """torch.median's lower median of a 1-D tensor. On CPU a numpy partition is ~7x faster than
    torch.median's full sort, which made a per-step activation probe cost 15 % of a step."""
    k = (a.numel() - 1) // 2
    if a.device.type == "cpu":
        return float(np.partition(a.numpy(), k)[k])
    return float(a.median())


# -- wrappers that run a model -----------------------------------------------------------


def run_with_cache(model, tokens: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Run `model(tokens, cache=...)` without gradients; return (logits, cache)."""
    cache: dict = {}
    with torch.no_grad():
        logits = model(tokens, cache=cache)
    return logits, cache


def _per_layer(cache: dict, suffix: str) -> list[torch.Tensor]:
    out, layer = [], 0
    while f"blocks.{layer}.{suffix}" in cache:
        out.append(cache[f"blocks.{layer}.{suffix}"])
        layer += 1
    if not out:
        raise UserError(f"model filled no 'blocks.{{l}}.{suffix}' hook points: is it a hooked transformer?")
    return out


def prefix_matching_scores(model, tokens: torch.Tensor, which: str = "all") -> torch.Tensor:
    """(L, H) prefix-matching score of every head on `tokens` (use repeated random sequences)."""
    _, cache = run_with_cache(model, tokens)
    return torch.stack([prefix_matching_score(p, tokens, which) for p in _per_layer(cache, "attn.pattern")])


def novel_period_scores(model, tokens: torch.Tensor, period: int, which: str = "all") -> torch.Tensor:
    """(L, H) novel_period_score of every head on periodic_tokens(..., period, ...)."""
    _, cache = run_with_cache(model, tokens)
    return torch.stack([novel_period_score(p, tokens, period, which) for p in _per_layer(cache, "attn.pattern")])


def previous_token_scores(model, tokens: torch.Tensor) -> torch.Tensor:
    """(L, H) previous-token score of every head."""
    _, cache = run_with_cache(model, tokens)
    return torch.stack([previous_token_score(p) for p in _per_layer(cache, "attn.pattern")])


def induction_strengths(model, tokens: torch.Tensor, correct_pos, wrong_pos, query_pos) -> torch.Tensor:
    """(L, H) induction strength of every head on labelled few-shot sequences."""
    _, cache = run_with_cache(model, tokens)
    return torch.stack([induction_strength(p, correct_pos, wrong_pos, query_pos)
                        for p in _per_layer(cache, "attn.pattern")])


def loss_per_position(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B, T, V), (B, T) -> (B, T) cross-entropy; targets < 0 give NaN (not scored)."""
    loss = F.cross_entropy(logits.transpose(1, 2), targets.clamp_min(0), reduction="none")  # (B, T)
    return loss.masked_fill(targets < 0, float("nan"))


def model_icl_score(model, tokens: torch.Tensor, targets: torch.Tensor, early=None, late=None) -> float:
    """icl_score of the model's next-token loss; positions with target < 0 are skipped."""
    with torch.no_grad():
        loss = loss_per_position(model(tokens), targets)  # (B, T)
    m = loss.nanmean(0)[None]  # (1, T)
    return icl_score(m, early, late)


def copying_scores(model) -> torch.Tensor:
    """(L, H) OV-circuit copying score of every head (see copying_score)."""
    with torch.no_grad():
        return torch.stack([copying_score(model.W_E, *model.ov(l), model.W_U) for l in range(len(model.blocks))])


def massive_activation_ratios(model, tokens: torch.Tensor) -> torch.Tensor:
    """(L,) r_l = max|h_l| / median|h_l| of each layer's output residual stream."""
    _, cache = run_with_cache(model, tokens)
    return torch.tensor([massive_activation_ratio(h) for h in _per_layer(cache, "resid_post")])
