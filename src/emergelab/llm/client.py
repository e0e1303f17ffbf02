"""The one door to language models: cache, budget, structured output, counters, transcript.

    with open_llm(cfg, rec, policy=my_policy) as llm:       # cfg carries the LLMSettings fields
        reply = llm.complete(messages, max_tokens=60, seed=7, json_schema={"type": "number"}, default=0.0)
        replies = llm.complete_many([Request(...), ...])      # one batch: batched on the local model
        llm.log(step)                                        # llm/* counters since the last log, as metrics

Every request is keyed by (backend, model, messages, parameters, seed). A key found in the
cache is replayed without a model call; a new reply is written to the cache as soon as it
arrives (one small file per key under `<store>/llm-cache/`, renamed into place whole), so a
re-run, or a sweep resumed after a crash, replays everything already answered. Failed calls
are never cached. The transcript of every request of the run (prompt, reply, parsed value,
tokens, cached?, retries) becomes the run's `llm_transcript` artefact, which the store's
`transcripts` view and the report read.

Faults are data: replies that do not parse fall back to the request's declared default and
count as `llm/parse_failures`; calls that fail after every retry stop the run with one line
(`llm_on_error=stop`) or fall back and count as `llm/failures`. The hard budget (llm_max_calls,
llm_max_tokens) stops the run with one line before the call that would overspend it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from emergelab.llm.parse import parse
from emergelab.llm.types import BudgetExceeded, LLMError, Raw, Reply, Request

COUNTERS = ("requests", "cache_hits", "model_calls", "parse_failures", "repairs", "fallbacks", "retries",
            "failures", "tokens_in", "tokens_out")  # fmt: skip
# logged as llm/<name> metrics: what the replies were, identical when a run is replayed from the cache
# (cache_hits and model_calls say how this execution got them: summary only)
LOGGED = ("requests", "parse_failures", "repairs", "fallbacks", "retries", "failures", "tokens_in", "tokens_out")


class DiskCache:
    """One JSON file per key, `<root>/<key[:2]>/<key>.json`, written whole by rename: a killed
    process leaves either the entry or nothing; many processes may share the folder."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            return json.loads(self._path(key).read_text())
        except (OSError, ValueError):  # missing, or unreadable: ask the model again
            return None

    def put(self, key: str, entry: dict) -> None:
        from emergelab.lab.store import atomic_write

        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(p, lambda tmp: tmp.write_text(json.dumps(entry, ensure_ascii=False)))


class MemoryCache(dict):
    """Within one process only (in-memory runs, or workers that do not see the store)."""

    def put(self, key: str, entry: dict) -> None:
        self[key] = entry


class LLM:
    """Wraps a backend with the cache, the budget, parsing, counters and the transcript."""

    def __init__(self, backend, cache=None, recorder=None, *, temperature: float = 0.0,
                 max_calls: int | None = None, max_tokens: int | None = None, on_error: str = "stop") -> None:  # fmt: skip
        self.backend = backend
        self.cache = MemoryCache() if cache is None else cache
        self.rec = recorder
        self.temperature = temperature
        self.max_calls, self.max_tokens, self.on_error = max_calls, max_tokens, on_error
        self.totals = dict.fromkeys(COUNTERS, 0)
        self._logged = dict.fromkeys(COUNTERS, 0)
        self._rows: list[dict] = []
        self._checked = False
        self._spent_tokens = 0

    # -- asking ------------------------------------------------------------------------------
    def complete(self, messages: Iterable[dict[str, str]], *, max_tokens: int = 256, temperature: float | None = None,
                 seed: int = 0, stop: Sequence[str] = (), json_schema: dict | None = None, default: Any = None,
                 agent: str = "", tag: str = "", step: int = 0) -> Reply:  # fmt: skip
        """One chat completion; `temperature` None: the run's llm_temperature."""
        req = Request(tuple(messages), max_tokens, self.temperature if temperature is None else temperature,
                      seed, tuple(stop), json_schema, default, agent, tag, step)  # fmt: skip
        return self.complete_many([req])[0]

    def complete_many(self, requests: Sequence[Request]) -> list[Reply]:
        """Many completions at once: cached ones replayed, the rest sent to the backend as one batch."""
        be = self.backend
        keys = [r.key(be.name, be.model) for r in requests]
        entries: list[dict | None] = [self.cache.get(k) for k in keys]
        todo = [i for i, e in enumerate(entries) if e is None]
        errors: dict[int, str] = {}
        if todo:
            self._spend_check(len(todo))
            if not self._checked:  # first real call of the run: fail fast on a missing key or server
                be.check()
                self._checked = True
            t0 = time.perf_counter()
            try:
                raws = be.generate([requests[i] for i in todo])
            except BudgetExceeded:
                raise
            except LLMError as e:
                # replies that arrived before the batch failed are kept (cached): nothing answered is lost
                partial = getattr(e, "partial", None) or {}
                raws = [partial.get(j) for j in range(len(todo))]
                if self.on_error != "fallback":
                    self._store_new(todo, keys, entries, raws, time.perf_counter() - t0)
                    raise
                errors = {i: str(e) for i, raw in zip(todo, raws) if raw is None}
            if len(raws) != len(todo):
                raise RuntimeError(f"backend {be.name} returned {len(raws)} replies for {len(todo)} requests")
            self._store_new(todo, keys, entries, raws, time.perf_counter() - t0)
        replies, asked = [], set(todo)
        for i, (req, e) in enumerate(zip(requests, entries)):
            cached = i not in asked
            if e is None:  # failed after every retry, llm_on_error=fallback
                rep = Reply("", req.default, False, False, backend=be.name, model=be.model, error=errors[i])
                self.totals["failures"] += 1
                self.totals["fallbacks"] += 1
            else:
                rep = self._reply(req, e, cached)
            self.totals["requests"] += 1
            self.totals["cache_hits"] += cached
            self._rows.append(_row(len(self._rows), req, rep, keys[i]))
            replies.append(rep)
        return replies

    def _store_new(self, todo, keys, entries, raws, wall: float) -> None:
        """Cache the new answers (None: failed) as soon as they are in, and count the calls."""
        be = self.backend
        for i, raw in zip(todo, raws):
            if raw is None:
                continue
            e = _entry(raw, be, wall)
            self.cache.put(keys[i], e)
            entries[i] = e
            self.totals["model_calls"] += 1
            self._spent_tokens += e["tokens_in"] + e["tokens_out"]  # the budget counts model calls only

    def _reply(self, req: Request, e: dict, cached: bool) -> Reply:
        rep = Reply(e["text"], tokens_in=e["tokens_in"], tokens_out=e["tokens_out"], latency_s=e["latency_s"],
                    backend=e["backend"], model=e["model"], cached=cached, retries=e.get("retries", 0))  # fmt: skip
        t = self.totals
        t["tokens_in"] += rep.tokens_in
        t["tokens_out"] += rep.tokens_out
        t["retries"] += rep.retries
        if req.json_schema is not None:
            value, ok, repaired = parse(rep.text, req.json_schema)
            rep.parsed, rep.parse_ok, rep.repaired = (value, True, repaired) if ok else (req.default, False, False)
            t["repairs"] += ok and repaired
            t["parse_failures"] += not ok
            t["fallbacks"] += not ok
        return rep

    def _spend_check(self, n: int) -> None:
        t = self.totals
        if self.max_calls is not None and t["model_calls"] + n > self.max_calls:
            raise BudgetExceeded(
                f"LLM budget spent: {t['model_calls']} model calls made, {n} more needed, llm_max_calls="
                f"{self.max_calls}: raise llm_max_calls (replies already received are cached and replay free)")
        if self.max_tokens is not None and self._spent_tokens >= self.max_tokens:
            raise BudgetExceeded(
                f"LLM budget spent: {self._spent_tokens} tokens used by model calls, llm_max_tokens="
                f"{self.max_tokens}: raise llm_max_tokens (replies already received are cached and replay free)")

    # -- recording ---------------------------------------------------------------------------
    def log(self, step: int) -> None:
        """Log the llm/* counters accumulated since the previous log, at `step`."""
        if self.rec is None:
            return
        self.rec.log(step, **{f"llm/{k}": self.totals[k] - self._logged[k] for k in LOGGED})
        self._logged = dict(self.totals)

    def transcript(self):
        """Every request of the run so far, one row each (a pandas frame)."""
        import pandas as pd

        return pd.DataFrame(self._rows, columns=list(_ROW_COLS))

    def close(self) -> None:
        """Summary totals and the transcript artefact into the recorder; release the backend."""
        try:
            if self.rec is not None:
                self.rec.summarize(llm_backend=self.backend.name, llm_model=self.backend.model,
                                   **{f"llm_{k}": v for k, v in self.totals.items()})  # fmt: skip
                if self._rows:
                    from emergelab.lab.store import TRANSCRIPT

                    self.rec.artefact(TRANSCRIPT, self.transcript())
        finally:
            self.backend.close()

    def __enter__(self) -> "LLM":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_ROW_COLS = ("i", "step", "agent", "tag", "backend", "model", "key", "seed", "temperature", "max_tokens",
             "messages", "prompt", "reply", "parsed", "parse_ok", "repaired", "fallback", "tokens_in",
             "tokens_out", "latency_s", "cached", "retries", "error")  # fmt: skip


def _entry(raw: Raw, be, wall: float) -> dict:
    return {"text": raw.text, "tokens_in": int(raw.tokens_in), "tokens_out": int(raw.tokens_out),
            "latency_s": float(raw.latency_s or wall), "retries": int(raw.retries), "backend": be.name,
            "model": be.model, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip


def _row(i: int, req: Request, rep: Reply, key: str) -> dict:
    prompt = next((m["content"] for m in reversed(req.messages) if m["role"] == "user"), "")
    return {"i": i, "step": req.step, "agent": req.agent, "tag": req.tag, "backend": rep.backend,
            "model": rep.model, "key": key, "seed": req.seed, "temperature": req.temperature,
            "max_tokens": req.max_tokens, "messages": json.dumps(req.messages, ensure_ascii=False),
            "prompt": prompt, "reply": rep.text,
            "parsed": None if req.json_schema is None else json.dumps(rep.parsed, ensure_ascii=False, default=str),
            "parse_ok": rep.parse_ok, "repaired": rep.repaired, "fallback": not rep.parse_ok,
            "tokens_in": rep.tokens_in, "tokens_out": rep.tokens_out, "latency_s": rep.latency_s,
            "cached": rep.cached, "retries": rep.retries, "error": rep.error}  # fmt: skip


def make_backend(cfg, policy: Callable[[Request], str] | None = None):
    """The backend a config's LLMSettings fields name (nothing is loaded or contacted yet)."""
    if cfg.llm == "scripted":
        from emergelab.llm.scripted import ScriptedBackend

        if policy is None:
            raise LLMError("llm=scripted needs a policy, and this world has none: use llm=local or llm=http")
        return ScriptedBackend(policy, cfg.llm_model)
    if cfg.llm == "local":
        from emergelab.llm.local import LocalBackend

        return LocalBackend(cfg.llm_model)
    if cfg.llm == "http":
        from emergelab.llm.http import HTTPBackend

        return HTTPBackend(cfg.llm_base_url, cfg.llm_model, api_key_env=cfg.llm_api_key_env, timeout=cfg.llm_timeout,
                           retries=cfg.llm_retries, concurrency=cfg.llm_concurrency, seed=getattr(cfg, "seed", 0),
                           backoff=cfg.llm_backoff)  # fmt: skip
    raise LLMError(f"unknown llm backend '{cfg.llm}': choose local, scripted or http")


def open_llm(cfg, recorder=None, policy: Callable[[Request], str] | None = None) -> LLM:
    """The client of a run: the backend its config names, the cache folder the lab gave the
    recorder (`rec.llm_cache_dir`; in memory when there is none), its budget."""
    folder = getattr(recorder, "llm_cache_dir", None)
    cache = DiskCache(folder) if folder else MemoryCache()
    return LLM(make_backend(cfg, policy), cache, recorder, temperature=cfg.llm_temperature,
               max_calls=cfg.llm_max_calls, max_tokens=cfg.llm_max_tokens, on_error=cfg.llm_on_error)  # fmt: skip


def check_configs(configs, policy: Callable[[Request], str] | None = None) -> None:
    """A world's `check`: before its runs write anything, each distinct backend they name is
    usable (package installed; server reachable, model known, key variable set)."""
    seen = set()
    for cfg in configs:
        ident = (cfg.llm, cfg.llm_model, cfg.llm_base_url, cfg.llm_api_key_env)
        if ident in seen:
            continue
        seen.add(ident)
        be = make_backend(cfg, policy)
        try:
            be.check()
        finally:
            be.close()
