"""Log-likelihoods of continuations under a causal LM: the scoring side of likelihood evals.

    m, name = load_scorer()                    # the offline SmolLM2-135M-Instruct (llm/local.py)
    m, name = load_scorer("path/to/checkpoint")  # any HF causal LM saved in a local folder
    ll, n = continuation_logprobs(m, contexts, continuations)   # (N,) summed log-probs, (N,) tokens

ll[i] = sum over the continuation's tokens of log P(token | context, earlier tokens): what
lm-evaluation-harness calls a loglikelihood request. Text is scored as it is (no chat
template): the protocols compare continuations of the same prompt, and a template would only
add the same prefix to both. Tokenisation follows lm-eval: the context and the continuation
are tokenised together and split where the context's own tokens end, so a word is scored
as the tokeniser sees it in running text; whitespace that ends the context is moved to the
start of the continuation (" Yes" is one token, "Yes" after a trailing space is not).

Rows are batched, left-padded with positions counted over real tokens (as llm/local.py
decodes), so a row's score does not depend on its batch mates up to float rounding; only the
last (longest continuation + 1) positions are unembedded (`logits_to_keep`), which on this
135M model's 49k vocabulary is most of the forward pass's cost for short continuations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from emergelab.errors import UserError

BATCH = 16  # rows per forward pass: (B, T, V) logits of the kept positions stay ~100 MB


def load_scorer(model: str = "", device: str = "cpu") -> tuple[Any, str]:
    """(loaded model, its name). '' or the SmolLM2 name: the lab's offline local model;
    otherwise `model` must be a local folder holding a Hugging Face causal LM and its
    tokenizer (read with local_files_only: nothing is downloaded)."""
    from emergelab.llm.local import ALIASES, LocalBackend

    if not model or model in ALIASES:
        backend = LocalBackend(model, device)
        return backend.load(), backend.model
    from emergelab.llm.states import load_checkpoint  # one folder loader for states and scores

    path = Path(model).expanduser()
    if not path.exists():
        raise UserError(f"model {model!r} is neither the offline {next(iter(ALIASES))} nor an existing folder: "
                        "give the path of a Hugging Face model folder (config.json, weights, tokenizer)")  # fmt: skip
    return load_checkpoint(path, device), path.name


def encode_pair(tok, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids) as lm-eval splits them. An empty context is conditioned
    on the tokeniser's BOS (else EOS) token: the first token needs something to follow."""
    n_space = len(context) - len(context.rstrip())
    if n_space:  # the space belongs to the next word's token
        context, continuation = context[:-n_space], context[-n_space:] + continuation
    enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    whole, ctx = enc(context + continuation), enc(context) if context else []
    if whole[: len(ctx)] == ctx and len(whole) > len(ctx):
        cont = whole[len(ctx):]
    else:  # a token spans the boundary: score the continuation's own tokens
        cont = enc(continuation)
    if not ctx:
        start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        if start is None:
            raise UserError("an empty context needs a BOS or EOS token to start from: give every item a context")
        ctx = [int(start)]
    return ctx, cont


def continuation_logprobs(m, contexts: Sequence[str], continuations: Sequence[str], batch: int = BATCH,
                          name: str = "the model"):  # fmt: skip
    """Summed log-probabilities of each continuation after its context, and its token count.

    contexts, continuations: N strings each -> (ll (N,) float64, n_tokens (N,) int64)."""
    import numpy as np
    import torch

    if len(contexts) != len(continuations):
        raise UserError(f"{len(contexts)} contexts for {len(continuations)} continuations: give one per item")
    if not contexts:
        raise UserError("nothing to score: give at least one item")
    pairs = [encode_pair(m.tokenizer, str(c), str(x)) for c, x in zip(contexts, continuations)]
    for i, (c, x) in enumerate(pairs):
        if not x:
            raise UserError(f"item {i} has an empty continuation: there is nothing to score")
        if len(c) + len(x) > m.n_ctx:
            raise UserError(f"item {i} is {len(c) + len(x)} tokens, longer than {name}'s context of {m.n_ctx}: "
                            "shorten it")  # fmt: skip
    # similar total lengths together: less padding per batch
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    ll = np.zeros(len(pairs))
    with m.lock, torch.inference_mode():
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            for i, v in zip(idx, _batch_logprobs(m, [pairs[i] for i in idx])):
                ll[i] = v
    return ll, np.array([len(x) for _, x in pairs], dtype=np.int64)


def _batch_logprobs(m, pairs: list[tuple[list[int], list[int]]]) -> list[float]:
    import torch

    B, dev = len(pairs), m.device
    rows = [c + x for c, x in pairs]
    T = max(map(len, rows))
    K = max(len(x) for _, x in pairs) + 1  # logits of the last K positions predict the continuations
    ids = torch.full((B, T), m.pad, dtype=torch.long)  # (B, T) left-padded: every row ends in column T-1
    mask = torch.zeros((B, T), dtype=torch.long)  # (B, T) 1 = real token
    for i, r in enumerate(rows):
        ids[i, T - len(r) :] = torch.tensor(r, dtype=torch.long)
        mask[i, T - len(r) :] = 1
    pos = (mask.cumsum(-1) - 1).clamp_(min=0)  # (B, T) positions over real tokens only
    kw = {m.keep_kw: K} if m.keep_kw else {}
    out = m.model(input_ids=ids.to(dev), attention_mask=mask.to(dev), position_ids=pos.to(dev),
                  use_cache=False, **kw)  # fmt: skip
    logits = out.logits[:, -K:, :].float()  # (B, K, V): all T positions when keep is unsupported
    logp = torch.log_softmax(logits[:, :-1], dim=-1)  # (B, K-1, V): position j predicts token j+1
    res = []
    for i, (_, x) in enumerate(pairs):
        tgt = torch.tensor(x, dtype=torch.long, device=logp.device)  # (c,)
        rows_lp = logp[i, K - 1 - len(x) :]  # (c, V): the predictions of the row's last c tokens
        res.append(float(rows_lp.gather(1, tgt[:, None]).sum()))
    return res
