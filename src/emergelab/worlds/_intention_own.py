"""The intention world's own model: a small transformer (nn/transformer.py) trained in-world
on n-digit addition, in two formats shown by the first token, so one model has both regimes:

    direct   D a + b = > s            e.g. D347+285=>0632
    scratch  S a + b = p1,p2,..> s    e.g. S347+285=12,13,06,>0632

a, b zero-padded to n digits, the sum s to n + 1. The scratchpad writes, from the least
significant digit up, each column's sum with the carry in (two digits, 00-19): the carry a
direct answer must resolve in one pass is spelled out. Commas and '>' are fixed by the format
and forced when decoding; the model writes the digits (greedy, restricted to digits).

Positions read for the intention metrics (the state whose logits give the next token):
  reply   the last prompt token ('>' in direct, '=' in scratch): before the model writes anything
  answer  the '>' before the sum: after the scratchpad in scratch; the same as reply in direct
States (N, L+1, D): blocks.0.resid_pre (embedding + positions), then each block's resid_post.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLUS, EQ, COMMA, ARROW, DIRECT, SCRATCH = 10, 11, 12, 13, 14, 15  # tokens 0-9 are digits
VOCAB = 16
CHARS = "0123456789+=,>DS"  # token -> character, for transcripts
REGIMES = ("direct", "scratch")


@dataclass(frozen=True)
class Layout:
    T: int  # sequence length
    prompt: int  # prompt tokens (the completion starts here)
    reply: int  # position whose state is read before the reply starts
    answer: int  # position whose state is read before the sum is written
    forced: np.ndarray  # (T,) bool: format tokens (prompt, commas, '>') not written by the model


def layout(n: int, regime: str) -> Layout:
    prompt = 2 * n + (4 if regime == "direct" else 3)  # D a + b = (>)
    T = prompt + (n + 1 if regime == "direct" else 3 * n + 1 + n + 1)
    forced = np.zeros(T, bool)
    forced[:prompt] = True
    if regime == "scratch":
        forced[prompt + 2 : prompt + 3 * n : 3] = True  # commas
        forced[prompt + 3 * n] = True  # '>'
    answer = T - n - 2  # the '>' before the n + 1 digits of the sum
    return Layout(T, prompt, prompt - 1, answer, forced)


def _digits(x: np.ndarray, n: int) -> np.ndarray:
    """(N,) ints -> (N, n) digits, most significant first."""
    return (x[:, None] // 10 ** np.arange(n - 1, -1, -1)) % 10


def encode(a: np.ndarray, b: np.ndarray, n: int, regime: str) -> np.ndarray:
    """The whole teacher sequence of each problem: (N,) operands -> (N, T) int64 tokens."""
    N, lay = len(a), layout(n, regime)
    cols = [np.full((N, 1), DIRECT if regime == "direct" else SCRATCH), _digits(a, n), np.full((N, 1), PLUS),
            _digits(b, n), np.full((N, 1), EQ)]  # fmt: skip
    if regime == "scratch":
        da, db = _digits(a, n)[:, ::-1], _digits(b, n)[:, ::-1]  # least significant first
        carry = np.zeros(N, np.int64)
        for i in range(n):
            col = da[:, i] + db[:, i] + carry  # (N,) 0..19
            cols += [(col // 10)[:, None], (col % 10)[:, None], np.full((N, 1), COMMA)]
            carry = col // 10
    else:
        cols.append(np.zeros((N, 0), np.int64))
    cols += [np.full((N, 1), ARROW), _digits(a + b, n + 1)]
    seq = np.concatenate(cols, axis=1).astype(np.int64)
    assert seq.shape[1] == lay.T
    return seq


def question_features(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Question-only features for the recoverability baseline, no model state: (N, F) = the
    operands' digits, a, b and a + b scaled to [0, 1), the carry out of each column, the number
    of carries, the longest run of carries, and the bag of characters of the prompt (counts of
    each digit 0-9; '+', '=' and the format token are the same for every problem)."""
    da, db = _digits(a, n)[:, ::-1], _digits(b, n)[:, ::-1]  # least significant first
    carries, carry = [], np.zeros(len(a), np.int64)
    for i in range(n):
        carry = (da[:, i] + db[:, i] + carry) // 10
        carries.append(carry)
    c = np.stack(carries, 1)  # (N, n) carry out of each column
    run, longest = np.zeros(len(a)), np.zeros(len(a))
    for i in range(n):
        run = (run + 1) * c[:, i]
        longest = np.maximum(longest, run)
    scale = float(10**n)
    bag = np.stack([(da == k).sum(1) + (db == k).sum(1) for k in range(10)], 1)  # (N, 10)
    return np.concatenate([da, db, np.stack([a / scale, b / scale, (a + b) / (10 * scale)], 1), c,
                           c.sum(1, keepdims=True), longest[:, None], bag], 1).astype(float)  # fmt: skip


def build(cfg, gen):
    from emergelab.nn.transformer import Transformer, TransformerConfig

    n_ctx = layout(cfg.digits, "scratch").T
    return Transformer(TransformerConfig(vocab=VOCAB, n_ctx=n_ctx, d_model=cfg.d_model, n_heads=cfg.n_heads,
                                         d_mlp=4 * cfg.d_model, n_layers=cfg.n_layers, layernorm=True),
                       generator=gen)  # fmt: skip


def loss(net, seq, n: int, regime: str):
    """Cross-entropy on the tokens the model writes (format tokens excluded). seq (B, T)."""
    import torch
    import torch.nn.functional as F

    lay = layout(n, regime)
    logits = net(seq[:, :-1])  # (B, T-1, V): position t predicts token t + 1
    target = torch.as_tensor(~lay.forced[1:], device=seq.device)  # (T-1,) predicted positions
    return F.cross_entropy(logits[:, target].reshape(-1, VOCAB), seq[:, 1:][:, target].reshape(-1))


def decode(net, seq, n: int, regime: str):
    """Greedy completion of each problem's prompt, format tokens forced: (B, T) -> (B, T)."""
    import torch

    lay = layout(n, regime)
    out = seq.clone()
    with torch.no_grad():
        for t in range(lay.prompt, lay.T):
            if not lay.forced[t]:
                out[:, t] = net(out[:, :t])[:, -1, :10].argmax(-1)  # digits only
    return out


def read(net, seq, n: int, regime: str):
    """States and logits of completed sequences (B, T) at the reply and answer positions:
    {'reply'|'answer': (hidden (B, L+1, D), logits (B, V))} as numpy float32."""
    import torch

    lay = layout(n, regime)
    cache: dict = {}
    with torch.no_grad():
        logits = net(seq, cache=cache)  # (B, T, V)
    L = len(net.blocks)
    hs = torch.stack([cache["blocks.0.resid_pre"]] + [cache[f"blocks.{l}.resid_post"] for l in range(L)], 1)
    return {k: (hs[:, :, p].float().cpu().numpy(), logits[:, p].float().cpu().numpy())  # (B, L+1, D), (B, V)
            for k, p in (("reply", lay.reply), ("answer", lay.answer))}


def evaluate(net, a: np.ndarray, b: np.ndarray, n: int, regime: str, device="cpu"):
    """Greedy answers to fixed problems (N,): (correct (N,) bool, the states of `read`,
    the sequences as text, the answers as ints)."""
    import torch

    seq = torch.as_tensor(encode(a, b, n, regime), device=device)  # (N, T)
    out = decode(net, seq, n, regime)
    correct = (out[:, -(n + 1):] == seq[:, -(n + 1):]).all(1).cpu().numpy()
    tokens = out.cpu().numpy()
    texts = ["".join(CHARS[t] for t in row) for row in tokens]
    answers = (tokens[:, -(n + 1):] * 10 ** np.arange(n, -1, -1)).sum(1)  # (N,) the sum it wrote
    return correct, read(net, out, n, regime), texts, answers
