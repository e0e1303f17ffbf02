"""The scripted backend: a deterministic stand-in driven by a Python policy.

For tests, and for the "no-LLM control" arm of an experiment: the same prompts, the same
parsing, cache and transcript as a real model, but the reply is `policy(request)`. Token
counts are whitespace words, so budgets and counters behave as they would.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

from emergelab.llm.types import LLMError, Raw, Request


class ScriptedBackend:
    name = "scripted"

    def __init__(self, policy: Callable[[Request], str], model: str = "") -> None:
        if not callable(policy):
            raise LLMError(f"a scripted backend needs a callable policy, got {type(policy).__name__}")
        self.policy = policy
        self.model = model or getattr(policy, "__name__", "policy")

    def generate(self, requests: Sequence[Request]) -> list[Raw]:
        out = []
        for r in requests:
            t0 = time.perf_counter()
            text = str(self.policy(r))
            for s in r.stop:  # honour stop strings as a model server would
                if s and s in text:
                    text = text[: text.index(s)]
            words = text.split()[: r.max_tokens]
            text = " ".join(words) if len(text.split()) > r.max_tokens else text
            n_in = sum(len(m["content"].split()) for m in r.messages)
            out.append(Raw(text, n_in, len(words), time.perf_counter() - t0))
        return out

    def check(self) -> None:
        pass

    def close(self) -> None:
        pass
