"""Hidden states and next-token logits of a causal LM at the state just before it answers.

The intention metrics (measures/intention.py, SCIENCE A9) read a model's internal state at
the last position of what it has read so far: the templated prompt, optionally followed by
the start of its own reply (`prefix`, e.g. its reasoning up to the final answer). This module
gives that state for the offline SmolLM2 (`LocalBackend.states`) and for any Hugging Face
causal LM in a local checkpoint folder (`CheckpointBackend`, which also generates, through
the local backend's batched decode loop).

    hidden, logits = LocalBackend().states(requests)            # (N, L+1, D), (N, V) float32
    hidden, logits = LocalBackend().states(requests, prefixes)  # state after each prefix

hidden[:, 0] is the embedding output, hidden[:, l] the residual stream after block l (the
last one after the final norm, as transformers returns it). Rows are left-padded with
positions counted over real tokens only, as in generation, so a row's state does not depend
on its batch mates (up to float rounding).
"""

from __future__ import annotations

import inspect
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from emergelab.errors import UserError
from emergelab.llm.local import BATCH, LocalBackend, _Loaded, _quiet
from emergelab.llm.types import Request


def prompt_ids(backend: LocalBackend, request: Request, prefix: str = "") -> list[int]:
    """The tokens the model has read: the templated prompt, then `prefix` (the reply so far)."""
    ids = backend.prompt_ids(request)
    if prefix:
        ids = ids + backend.load().tokenizer(prefix, add_special_tokens=False)["input_ids"]
    return ids


def request_states(backend: LocalBackend, requests: Sequence[Request],
                   prefixes: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(hidden (N, L+1, D), logits (N, V)) at the last position of each request's templated
    prompt plus its prefix. An empty request list, or prefixes not one per request: UserError."""
    if not requests:
        raise UserError("no prompts to read hidden states from: give at least one problem (n_problems >= 1)")
    prefixes = list(prefixes) if prefixes is not None else [""] * len(requests)
    if len(prefixes) != len(requests):
        raise UserError(f"{len(prefixes)} prefixes for {len(requests)} requests: give one per request")
    m = backend.load()
    ids = [prompt_ids(backend, r, p) for r, p in zip(requests, prefixes)]
    return last_states(m, ids, name=backend.model)


def last_states(m: _Loaded, prompts: Sequence[Sequence[int]], name: str = "the model",
                batch: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    """Hidden states of every layer and the next-token logits at each prompt's last token.

    prompts: N token-id lists -> (hidden (N, L+1, D) float32, logits (N, V) float32)."""
    import torch

    if not prompts:
        raise UserError("no prompts to read hidden states from: give at least one")
    if any(len(p) == 0 for p in prompts):
        raise UserError("an empty prompt has no last position to read a state from: give every prompt a token")
    if any(len(p) > m.n_ctx for p in prompts):
        raise UserError(f"a prompt is longer than {name}'s context of {m.n_ctx} tokens: shorten it")
    kw = {m.keep_kw: 1} if m.keep_kw else {}  # the unembedding of the last position only
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # less padding per batch
    hid: list[Any] = [None] * len(prompts)
    log: list[Any] = [None] * len(prompts)
    with m.lock, torch.inference_mode():
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            h, lg = _batch_states(m, [list(prompts[i]) for i in idx], kw, name)
            for r, i in enumerate(idx):
                hid[i], log[i] = h[r], lg[r]
    return torch.stack(hid).numpy(), torch.stack(log).numpy()


def _batch_states(m: _Loaded, prompts: list[list[int]], kw: dict, name: str):
    """One batch: (hidden (b, L+1, D), logits (b, V)) at each prompt's last token. The prefix
    all prompts share (system prompt, solved examples) is run once at batch size 1 and its
    keys and values copied to every row, as the local backend's decode does: with a long
    shared prompt this is several times faster. Its hidden states are not needed: only the
    last position, which every row keeps in its own part, is read."""
    import torch

    from emergelab.llm.local import _new_cache, prefill_shared

    cache = _new_cache()
    P, ids, mask, pos = prefill_shared(m, prompts, cache, kw)
    extra = {m.cache_kw: cache, "use_cache": True} if P else {"use_cache": False}
    try:
        out = m.model(input_ids=ids, attention_mask=mask, position_ids=pos,
                      output_hidden_states=True, **extra, **kw)  # fmt: skip
    except TypeError as e:  # a forward without output_hidden_states
        raise UserError(f"{name} does not return hidden states ({e}): the intention metrics need a "
                        "causal LM whose forward takes output_hidden_states") from None  # fmt: skip
    hs = getattr(out, "hidden_states", None)
    if not hs:
        raise UserError(f"{name} returned no hidden states: the intention metrics need a causal LM "
                        "that exposes them (output_hidden_states=True)")  # fmt: skip
    h = torch.stack([x[:, -1] for x in hs], dim=1).float().cpu()  # (B, L+1, D) last position
    return h, out.logits[:, -1].float().cpu()  # (B, V)


class CheckpointBackend(LocalBackend):
    """Any Hugging Face causal LM saved in a local folder (config.json + weights + tokenizer),
    read offline; generates through the local backend's decode loop and gives states."""

    name = "checkpoint"

    def __init__(self, path: str, device: str = "cpu") -> None:  # noqa: D107  (no SmolLM2 check)
        self.path = Path(path).expanduser()
        self.model = str(self.path)
        self.device = device
        self._m: _Loaded | None = None
        check_checkpoint(self.path)

    def check(self) -> None:
        check_checkpoint(self.path)

    def load(self) -> _Loaded:
        if self._m is None:
            self._m = load_checkpoint(self.path, self.device)
        return self._m

    def prompt_ids(self, request: Request) -> list[int]:
        tok = self.load().tokenizer
        if getattr(tok, "chat_template", None):
            return super().prompt_ids(request)
        # a base model without a chat template reads the messages as plain text, one per line
        text = "\n".join(m["content"] for m in request.messages) + "\n"
        return tok(text)["input_ids"]


def check_checkpoint(path: Path) -> None:
    """Cheap: is `path` a folder with a model's config.json? Nothing is imported."""
    if not path.is_dir():
        raise UserError(f"checkpoint {str(path)!r} is not a folder: give the folder of a Hugging Face causal LM "
                        "(config.json, weights, tokenizer)")  # fmt: skip
    if not (path / "config.json").is_file():
        raise UserError(f"checkpoint {str(path)!r} is not a model: it has no config.json (a Hugging Face model "
                        "folder holds config.json, weights and a tokenizer)")  # fmt: skip


def load_checkpoint(path: Path, device: str = "cpu") -> _Loaded:
    """The model and tokenizer in `path` as the local backend holds its own (offline)."""
    check_checkpoint(path)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def first(e: Exception) -> str:
        return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]

    with _quiet():
        try:
            model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        except Exception as e:  # noqa: BLE001  any failure here means: not a loadable causal LM
            raise UserError(f"checkpoint {str(path)!r} is not a causal LM transformers can load offline "
                            f"({first(e)}): give a folder saved with save_pretrained") from None  # fmt: skip
        try:
            tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        except Exception as e:  # noqa: BLE001
            raise UserError(f"checkpoint {str(path)!r} has no tokenizer transformers can read ({first(e)}): "
                            "save the tokenizer into the same folder (tokenizer.save_pretrained)") from None  # fmt: skip
    dev = torch.device(device)
    model.to(dev).eval()
    eos = {t for t in (tok.eos_token_id, getattr(model.generation_config, "eos_token_id", None))
           if isinstance(t, int)}  # fmt: skip
    pad = tok.pad_token_id if tok.pad_token_id is not None else (min(eos) if eos else 0)
    params = inspect.signature(model.forward).parameters
    keep_kw = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)
    return _Loaded(tok, model, dev, torch.tensor(sorted(eos), dtype=torch.long, device=dev), pad,
                   int(getattr(model.config, "max_position_embeddings", 2048) or 2048),
                   "cache" if "cache" in params else "past_key_values", keep_kw, 0.0, "checkpoint",
                   threading.Lock())  # fmt: skip
