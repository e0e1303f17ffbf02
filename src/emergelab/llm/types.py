"""What crosses the `llm/` door: a Request, the backend's Raw answer, the world's Reply.

A backend turns a batch of Requests into Raws (text and token counts) and knows nothing of
caching, budgets, parsing or transcripts: the client (`llm/client.py`) adds those around
every backend alike.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from emergelab.errors import UserError


class LLMError(UserError):
    """A language-model call that cannot be completed (server gone after every retry, key
    refused, unknown model, budget spent): one line saying what happened and what to do.
    It never contains the API key."""


class BudgetExceeded(LLMError):
    """The run's hard budget of model calls or tokens is spent."""


@dataclass(frozen=True)
class Request:
    """One chat completion to make."""

    messages: tuple[dict[str, str], ...]  # ({"role": "system"|"user"|"assistant", "content": str}, ...)
    max_tokens: int = 256  # new tokens at most
    temperature: float = 0.0  # 0: greedy
    seed: int = 0  # sampling seed (the same request and seed give the same reply)
    stop: tuple[str, ...] = ()  # generation stops before the first of these strings
    json_schema: dict[str, Any] | None = None  # ask for (and parse) a value of this schema
    default: Any = None  # the parsed value used when the reply cannot be parsed (counted)
    agent: str = ""  # who asks (transcripts are shown per agent); not part of the cache key
    tag: str = ""  # what for, e.g. "strategy", "donation"; not part of the cache key
    step: int = 0  # the world's step when asked; not part of the cache key

    def __post_init__(self) -> None:
        msgs = tuple(dict(m) for m in self.messages)
        for m in msgs:
            if set(m) != {"role", "content"} or not isinstance(m["content"], str):
                raise TypeError(f"a message is {{'role': ..., 'content': str}}, got {m!r}")
        object.__setattr__(self, "messages", msgs)
        object.__setattr__(self, "stop", tuple(self.stop))
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")

    def key(self, backend: str, model: str) -> str:
        """The cache key: backend, model, messages, parameters and seed (sha256 hex)."""
        blob = json.dumps(
            {"backend": backend, "model": model, "messages": self.messages, "max_tokens": self.max_tokens,
             "temperature": self.temperature, "seed": self.seed, "stop": self.stop,
             "json_schema": self.json_schema},
            sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        )  # fmt: skip
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Raw:
    """What a backend returns for one Request."""

    text: str
    tokens_in: int
    tokens_out: int
    latency_s: float = 0.0  # wall time of this call (a batch's time, shared, for batched backends)
    retries: int = 0  # transient failures retried before this answer


@dataclass
class Reply:
    """What a world gets back."""

    text: str  # the model's reply
    parsed: Any = None  # the value parsed against json_schema (or the request's default)
    parse_ok: bool = True  # False: `parsed` is the fallback default (counted as llm/parse_failures)
    repaired: bool = False  # parsed only after a cheap repair (fences, prose around it, a cut-off end)
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    backend: str = ""
    model: str = ""
    cached: bool = False  # served from the cache: no model call
    retries: int = 0  # transient failures before the answer (replayed from the cache as recorded)
    error: str | None = None  # the call failed after every retry and llm_on_error=fallback
    meta: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """A source of completions. `name` is 'local' | 'http' | 'scripted'; `model` names the
    model as the cache key and transcripts record it."""

    name: str
    model: str

    def generate(self, requests: Sequence[Request]) -> list[Raw]:
        """One Raw per request, in order; raise LLMError when it cannot. Batched backends
        send the whole list at once."""
        ...

    def check(self) -> None:
        """Cheap readiness check before anything is written (package there, server
        reachable, model known, key variable set); raise LLMError with what to do."""
        ...

    def close(self) -> None:
        ...
