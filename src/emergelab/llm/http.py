"""An OpenAI-compatible chat-completions backend: vLLM, Ollama, llama.cpp server, LM Studio, OpenAI.

`HTTPBackend(base_url, model, ...)` POSTs every Request to `{base_url}/chat/completions`, a
batch concurrently (at most `concurrency` in flight), and returns one Raw per request in order.

Transient failures — connection errors and time-outs, HTTP 429, 5xx, and a 200 whose body is
cut off or has no choices — are retried up to `retries` times with exponential back-off
(`min(max_backoff, backoff * 2**attempt)` times a seeded jitter in [0.5, 1]), honouring
`Retry-After` (capped at `max_backoff`). Everything else fails at once with an LLMError of one
line saying what to do: a refused key (401/403), an unknown model (404), another 4xx (the
server's own message).

The API key is read from the environment variable `api_key_env` at call time only: it is not
stored on the backend, and it is redacted from every message this module builds (a server
may echo it back in an error body).
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any, Self

import httpx

from emergelab.llm.types import LLMError, Raw, Request

_MODEL_MISSING = re.compile(
    r"model\b.*\b(does not exist|not found|not exist|unknown|no such|not available|is not served|"
    r"not loaded|was not found)|(unknown|invalid|no such) model|model_not_found",
    re.IGNORECASE | re.DOTALL,
)


class _Aborted(Exception):
    """Another request of the batch failed: stop this one quietly."""


class _Transient(Exception):
    """One failed attempt that may succeed when tried again."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind  # "connect" | "timeout" | "dropped" | "status" | "truncated"
        self.detail = detail  # e.g. "ConnectError", "HTTP 503", "invalid JSON"
        self.retry_after = retry_after
        self.message = ""  # the server's error message, if any


class HTTPBackend:
    """Chat completions from any OpenAI-compatible server."""

    name = "http"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        retries: int = 5,
        concurrency: int = 8,
        seed: int = 0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        if not str(base_url).startswith(("http://", "https://")):
            raise LLMError(f"llm_base_url must start with http:// or https://, got {base_url!r}")
        if not model:
            raise LLMError(
                "the http backend needs a model: add -s llm_model=NAME (the name the server serves)"
            )
        if timeout <= 0 or retries < 0 or concurrency < 1 or backoff < 0 or max_backoff < 0:
            raise LLMError(
                f"bad http backend limits (timeout={timeout}, retries={retries}, concurrency={concurrency}, "
                f"backoff={backoff}, max_backoff={max_backoff}): timeout > 0, retries >= 0, concurrency >= 1"
            )
        self.base_url = str(base_url).rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.concurrency = int(concurrency)
        self.seed = int(seed)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self._sleep = sleep
        # the semaphore, not the connection pool, bounds requests in flight: a pool limit would
        # count waiting for a free connection against the time-out (httpx.PoolTimeout)
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self._batches = 0  # batches sent so far: part of each request's jitter seed
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=self.concurrency),
            follow_redirects=True,
            trust_env=False,  # a proxy from the environment must not carry local-server traffic
        )

    # --- public ------------------------------------------------------------------------

    def __repr__(self) -> str:
        url, model, env = self._shown_url, self.model, self.api_key_env
        return f"HTTPBackend(base_url={url!r}, model={model!r}, api_key_env={env!r})"

    def generate(self, requests: Sequence[Request]) -> list[Raw]:
        requests = list(requests)
        if not requests:
            return []
        key = self._key()  # read once per batch, at call time; never stored
        with self._lock:
            batch = self._batches
            self._batches += 1
        abort = threading.Event()
        if len(requests) == 1:
            return [self._one(requests[0], key, self._rng(batch, 0), abort)]
        with ThreadPoolExecutor(
            max_workers=min(self.concurrency, len(requests)), thread_name_prefix="llm-http"
        ) as pool:
            futures = [
                pool.submit(self._one, r, key, self._rng(batch, i), abort) for i, r in enumerate(requests)
            ]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in futures if f in done and f.exception() is not None]
            if failed:
                abort.set()  # the others stop before their next attempt
                for f in futures:
                    f.cancel()
        if failed:  # the pool has finished what was in flight
            errors = [f.exception() for f in futures
                      if f.done() and not f.cancelled() and f.exception() is not None
                      and not isinstance(f.exception(), _Aborted)]  # fmt: skip
            err = errors[0] if errors else failed[0].exception()
            # the replies that did arrive: the client caches them, so a re-run does not ask again
            err.partial = {i: f.result() for i, f in enumerate(futures)
                           if f.done() and not f.cancelled() and f.exception() is None}  # fmt: skip
            raise err
        return [f.result() for f in futures]

    def check(self) -> None:
        """Key variable set (when one is needed); server reachable; model known (when the
        server lists its models). A server without /models passes."""
        key = self._key()
        url = f"{self.base_url}/models"
        quick = min(self.timeout, 5.0)
        resp = None
        for attempt in range(2):  # one quick retry
            try:
                resp = self._client.get(url, headers=self._headers(key), timeout=quick)
                break
            except (
                httpx.ConnectError,
                httpx.TimeoutException,
                httpx.RemoteProtocolError,
                httpx.ReadError,
                httpx.WriteError,
            ) as e:
                if attempt == 0:
                    self._sleep(min(0.5, self.backoff))
                    continue
                raise self._error(self._unreachable_msg(e, 1), key) from None
            except httpx.HTTPError:
                return  # anything odd about /models itself: let the first real call tell
        assert resp is not None
        if resp.status_code in (401, 403):
            raise self._error(self._key_refused_msg(resp.status_code), key)
        if resp.status_code != 200:
            return  # some servers have no /models: not a failure
        try:
            data = resp.json().get("data")
            entries = [d for d in data if isinstance(d, dict) and isinstance(d.get("id"), str)]
        except (ValueError, AttributeError, TypeError):
            return
        if not entries:
            return
        if all(str(d.get("owned_by", "")).lower() == "llamacpp" for d in entries):
            return  # llama.cpp's server serves the one model it loaded, whatever the request names
        ids = [d["id"] for d in entries]
        if self.model in ids or f"{self.model}:latest" in ids:  # Ollama lists "name:latest"
            return
        shown = ", ".join(repr(i) for i in ids[:5]) + (f", … ({len(ids)} in all)" if len(ids) > 5 else "")
        raise self._error(
            f"the server at {self._shown_url} does not know model {self.model!r} (it serves {shown}): "
            f"pick one with -s llm_model=NAME, or fix llm_base_url",
            key,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one request ---------------------------------------------------------------------

    def _one(self, req: Request, key: str, rng: random.Random, abort: threading.Event) -> Raw:
        payload = self._payload(req)
        headers = self._headers(key)
        url = f"{self.base_url}/chat/completions"
        failures = 0
        while True:
            if abort.is_set():
                raise _Aborted()
            try:
                with self._slots:  # latency: the call itself, not the wait for a slot
                    t0 = time.perf_counter()
                    resp = self._client.post(url, json=payload, headers=headers)
                    latency = time.perf_counter() - t0
                return self._answer(resp, req, key, failures, latency)
            except _Transient as t:
                failure = t
            except httpx.TransportError as e:
                if isinstance(e, (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)):
                    raise self._error(
                        f"cannot talk to the LLM server at {self._shown_url} "
                        f"({type(e).__name__}: {e}): fix llm_base_url",
                        key,
                    ) from None
                failure = self._transport_failure(e)
            except httpx.InvalidURL as e:
                raise self._error(
                    f"llm_base_url {self._shown_url!r} is not a valid URL ({e}): fix it", key
                ) from None
            if failures >= self.retries:
                raise self._error(self._exhausted_msg(failure), key) from None
            delay = self._delay(failures, failure.retry_after, rng)
            failures += 1
            if abort.is_set():
                raise _Aborted()
            if delay > 0:
                self._sleep(delay)

    def _payload(self, req: Request) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in req.messages],
            "max_tokens": req.max_tokens,
            "temperature": req.temperature,
            "seed": req.seed,
        }
        if req.stop:
            payload["stop"] = list(req.stop)
        if req.json_schema is not None:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": req.json_schema, "strict": False},
            }
        return payload

    def _answer(self, resp: httpx.Response, req: Request, key: str, failures: int, latency: float) -> Raw:
        code = resp.status_code
        if code == 200:
            try:
                body = resp.json()
                message = body["choices"][0]["message"]
                text = message.get("content") if isinstance(message, dict) else None
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                # a cut-off body (a server restarting mid-reply) or one without choices
                raise _Transient("truncated", "an incomplete reply") from None
            text = "" if text is None else str(text)
            usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
            tin, tout = usage.get("prompt_tokens"), usage.get("completion_tokens")
            # a server that reports no usage: estimate the tokens by whitespace-separated words
            # (rough — about 0.75 of a BPE count for English — but budgets still move)
            if not isinstance(tin, int):
                tin = sum(len(m["content"].split()) for m in req.messages)
            if not isinstance(tout, int):
                tout = len(text.split())
            return Raw(text=text, tokens_in=tin, tokens_out=tout, latency_s=latency, retries=failures)
        message = _server_message(resp)
        if code == 429 or code >= 500:
            t = _Transient("status", f"HTTP {code}", _retry_after(resp))
            t.message = message
            raise t
        if code in (401, 403):
            raise self._error(self._key_refused_msg(code), key)
        if code == 404 or (code in (400, 422) and _MODEL_MISSING.search(message or "")):
            if code == 404 and message and not re.search(r"model", message, re.IGNORECASE):
                raise self._error(
                    f"the server at {self._shown_url} has no /chat/completions (HTTP 404: {message}): "
                    f"fix llm_base_url (OpenAI-compatible servers serve it under /v1)",
                    key,
                )
            raise self._error(
                f"the server at {self._shown_url} does not know model {self.model!r} (HTTP {code}): list its "
                f"models with `curl {self._shown_url}/models`, or fix llm_model",
                key,
            )
        raise self._error(
            f"the LLM server at {self._shown_url} rejected the request (HTTP {code}): "
            f"{message or resp.reason_phrase or 'no message'}",
            key,
        )

    # --- helpers -------------------------------------------------------------------------

    def _key(self) -> str:
        if not self.api_key_env:
            return ""
        key = os.environ.get(self.api_key_env)
        if key is None:
            raise LLMError(
                f"environment variable {self.api_key_env} is not set: export it, or set llm_api_key_env "
                f"to the variable that holds your key ('' for a server without keys)"
            )
        return key

    @staticmethod
    def _headers(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _rng(self, batch: int, index: int) -> random.Random:
        # one generator per request, seeded by (seed, batch, index): the jitter does not depend
        # on which thread happens to draw first
        return random.Random(f"emergelab.llm.http:{self.seed}:{batch}:{index}")

    def _delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        jitter = rng.uniform(0.5, 1.0)  # drawn every time, so the sequence does not depend on Retry-After
        if retry_after is not None:
            return min(self.max_backoff, max(0.0, retry_after))
        return min(self.max_backoff, self.backoff * 2**attempt) * jitter

    @property
    def _shown_url(self) -> str:
        return re.sub(r"//[^/@]*@", "//", self.base_url)  # no user:password@ in messages

    def _transport_failure(self, e: httpx.TransportError) -> _Transient:
        name = type(e).__name__
        if isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout)):
            return _Transient("connect", name)
        if isinstance(e, httpx.TimeoutException):
            return _Transient("timeout", name)
        return _Transient("dropped", name)

    def _unreachable_msg(self, e: Exception, retries: int) -> str:
        if isinstance(e, httpx.TimeoutException) and not isinstance(e, httpx.ConnectTimeout):
            return self._exhausted_msg(_Transient("timeout", type(e).__name__), retries)
        return self._exhausted_msg(_Transient("connect", type(e).__name__), retries)

    def _exhausted_msg(self, t: _Transient, retries: int | None = None) -> str:
        n = self.retries if retries is None else retries
        after = f"after {n} retr{'y' if n == 1 else 'ies'}"
        url = self._shown_url
        if t.kind == "connect":
            return f"cannot reach the LLM server at {url} {after} ({t.detail}): start it, or fix llm_base_url"
        if t.kind == "timeout":
            return (
                f"the LLM server at {url} did not answer within {self.timeout:g} s {after} ({t.detail}): "
                f"raise llm_timeout or lower llm_concurrency, or check the server"
            )
        if t.kind == "dropped":
            return (
                f"the LLM server at {url} kept dropping the connection {after} ({t.detail}): "
                f"check that it is running and healthy"
            )
        if t.kind == "truncated":
            return (
                f"the LLM server at {url} kept sending incomplete replies (cut-off JSON or no choices) "
                f"{after}: check the server"
            )
        if t.detail == "HTTP 429":
            return (
                f"the LLM server at {url} kept refusing for too many requests (HTTP 429) {after}: lower "
                f"llm_concurrency or wait{': ' + t.message if t.message else ''}"
            )
        return f"the LLM server at {url} kept failing ({t.detail}) {after}: {t.message or 'check the server'}"

    def _key_refused_msg(self, code: int) -> str:
        if self.api_key_env:
            return f"the server refused the key in ${self.api_key_env} (HTTP {code}): check it"
        return (
            f"the server at {self._shown_url} wants a key (HTTP {code}): set llm_api_key_env to the "
            f"environment variable that holds it"
        )

    def _error(self, message: str, key: str) -> LLMError:
        return LLMError(_one_line(message, key))


def _one_line(message: str, key: str) -> str:
    """Collapse whitespace to one line and redact the key (and any bearer token) from it."""
    if key:
        message = message.replace(key, "***")
    message = re.sub(r"(?i)(bearer\s+)\S+", r"\1***", message)
    return " ".join(message.split())


def _server_message(resp: httpx.Response, limit: int = 200) -> str:
    """The first line of the server's error message, at most `limit` characters."""
    try:
        text = resp.text
    except (UnicodeDecodeError, LookupError, httpx.HTTPError):
        return ""
    msg: Any = None
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            msg = err.get("message") or err.get("detail")
        elif isinstance(err, str):
            msg = err
        msg = msg or body.get("message") or body.get("detail")
    if not isinstance(msg, str):
        msg = text if body is None else (json.dumps(msg) if msg is not None else "")
    lines = [ln.strip() for ln in msg.strip().splitlines() if ln.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _retry_after(resp: httpx.Response) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or an HTTP date) or `retry-after-ms`."""
    ms = resp.headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = resp.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
