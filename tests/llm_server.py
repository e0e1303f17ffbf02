"""A fault-injecting OpenAI-compatible server for tests: a real HTTP server on 127.0.0.1.

    with FakeOpenAI(models=("m",), key="sk-test") as srv:
        backend = HTTPBackend(srv.base_url, "m", ...)      # srv.base_url = http://127.0.0.1:PORT/v1
        srv.faults += [("status", 503), "truncated", "ok"]  # consumed one per chat request

It speaks POST /v1/chat/completions and GET /v1/models (stdlib `http.server`, HTTP/1.1 with
keep-alive, one thread per connection). Fault forms, consumed one per chat request (an empty
script means "ok"):

    "ok"                                 answer normally
    ("sleep", seconds)                   wait, then answer normally (for client time-outs)
    ("status", code[, headers[, body]])  answer `code` with extra headers and a body (dict → JSON,
                                         str → as is; default: an OpenAI-style error object)
    "truncated"                          200 with a JSON body cut off half-way
    ("content", text)                    200 with exactly this content
    "die"                                drop the connection without an answer and shut the server
                                         down: later requests get connection refused

Unknown model → 404 {"error": {"message": "The model 'x' does not exist", ...}}; wrong or
missing key (when `key` is set) → 401, with an error body that echoes the key it got (as a
careless server might: the client must not repeat it).
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


def default_reply(body: dict[str, Any]) -> str:
    """A deterministic reply from the last user message, seed and temperature; a value of the
    schema when the request asks for JSON."""
    msgs = body.get("messages") or []
    last = next((m.get("content", "") for m in reversed(msgs) if m.get("role") == "user"), "")
    seed, temp = body.get("seed", 0), body.get("temperature", 1.0)
    digest = hashlib.sha256(f"{last}|{seed}|{temp}".encode()).hexdigest()
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None
    if schema is not None:
        return json.dumps(_sample(schema, random.Random(digest)))
    return f"reply {digest[:8]} to: {last[:60]}"


def _sample(schema: dict[str, Any], rng: random.Random) -> Any:
    """A small value fitting a schema of the subset worlds use."""
    if schema.get("enum"):
        return rng.choice(list(schema["enum"]))
    t = schema.get("type", "string")
    if isinstance(t, list):
        t = t[0]
    lo, hi = schema.get("minimum", 0), schema.get("maximum", 10)
    if t == "integer":
        return rng.randint(int(lo), int(hi))
    if t == "number":
        return round(rng.uniform(float(lo), float(hi)), 2)
    if t == "boolean":
        return rng.random() < 0.5
    if t == "array":
        return [_sample(schema.get("items") or {}, rng) for _ in range(rng.randint(1, 3))]
    if t == "object":
        props = schema.get("properties") or {}
        return {k: _sample(v or {}, rng) for k, v in props.items()}
    return rng.choice(["cooperate", "defect", "wait", "share"])


_UNSET = object()


def _words(text: str) -> int:
    return len(str(text).split())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request, client_address):
        with self.fake._lock:
            if self.fake._dead:
                self.shutdown_request(request)
                return
            self.fake._conns.add(request)
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        with self.fake._lock:
            self.fake._threads.add(threading.current_thread())
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.fake._lock:
                self.fake._conns.discard(request)
                self.fake._threads.discard(threading.current_thread())

    def handle_error(self, request, client_address):
        pass  # a client that went away (time-out, closed pool) is not a test failure


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection ends its thread after this long
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- plumbing ------------------------------------------------------------------------

    def _send(
        self, code: int, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> None:
        data = (
            raw
            if raw is not None
            else (
                body
                if isinstance(body, bytes)
                else (body if isinstance(body, str) else json.dumps(body)).encode()
            )
        )
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _record(self) -> FakeOpenAI:
        fake = self.server.fake
        with fake._lock:
            fake.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
        return fake

    def _authorized(self, fake: FakeOpenAI) -> bool:
        if fake.key is None:
            return True
        got = self.headers.get("Authorization", "")
        if got == f"Bearer {fake.key}":
            return True
        given = got.removeprefix("Bearer ").strip()
        # a careless server echoes the key it got: the client must never repeat it
        self._send(
            401,
            {
                "error": {
                    "message": f"Incorrect API key provided: {given or '(none)'}.\n"
                    f"You can find your API key at https://example.invalid.",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
        )
        return False

    # --- routes --------------------------------------------------------------------------

    def do_GET(self) -> None:
        fake = self._record()
        if fake._dead:
            return self._drop()
        if self.path.rstrip("/") != "/v1/models" or not fake.models_endpoint:
            return self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
        if not self._authorized(fake):
            return
        self._send(
            200,
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": fake.owned_by} for m in fake.models
                ],
            },
        )

    def do_POST(self) -> None:
        fake = self._record()
        length = int(self.headers.get("Content-Length") or 0)
        try:
            raw = self.rfile.read(length) if length else b""
        except OSError:
            return self._drop()
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._send(400, {"error": {"message": "request body is not JSON", "type": "bad_request"}})
        with fake._lock:
            if fake._dead or fake._closing:
                return self._drop()
            fake.requests.append(body)
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
            last = fake._die_after is not None and len(fake.requests) >= fake._die_after
            if last:
                fake._closing = True  # later requests are dropped, even before this one is answered
        try:
            self._chat(fake, body)
        finally:
            with fake._lock:
                fake.in_flight -= 1
                fake.served += 1
            if last:
                fake._die()

    def _chat(self, fake: FakeOpenAI, body: dict[str, Any]) -> None:
        if not self._authorized(fake):
            return
        fault = fake._next_fault()
        kind = fault[0] if isinstance(fault, tuple) else fault
        content: Any = _UNSET
        if kind == "die":
            fake._die()
            return self._drop()
        if kind == "status":
            code = fault[1]
            headers = fault[2] if len(fault) > 2 and fault[2] else {}
            err = (
                fault[3]
                if len(fault) > 3
                else {
                    "error": {"message": f"fake failure (HTTP {code})", "type": "server_error", "code": code}
                }
            )
            return self._send(code, err, headers)
        if kind == "sleep":
            if fake._stop.wait(float(fault[1])):
                return self._drop()
        elif kind == "content":
            content = fault[1]
        elif kind not in ("ok", "truncated"):
            raise ValueError(f"unknown fault {fault!r}")
        if fake.delay:
            fake._stop.wait(fake.delay)
        model = body.get("model")
        if fake.models and model not in fake.models:
            return self._send(
                404,
                {
                    "error": {
                        "message": f"The model '{model}' does not exist",
                        "type": "NotFoundError",
                        "param": "model",
                        "code": 404,
                    }
                },
            )
        if content is _UNSET:
            content = fake.reply(body)  # ("content", None) sends a null content, as some servers do
        usage = None
        if fake.usage:
            tin = sum(_words(m.get("content", "")) for m in body.get("messages") or [])
            tout = _words(content or "")
            usage = {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout}
        answer = {
            "id": f"chatcmpl-{len(fake.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
        }
        if usage is not None:
            answer["usage"] = usage
        data = json.dumps(answer).encode()
        if kind == "truncated":
            return self._send(200, None, raw=data[: len(data) // 2])
        self._send(200, None, raw=data)


class FakeOpenAI:
    """An OpenAI-compatible server on 127.0.0.1 with scripted faults; a context manager.

    Args:
        reply: body -> content of the answer (default: `default_reply`).
        models: the models it serves (listed on /v1/models; any other → 404); () accepts any.
        key: the API key it wants as `Authorization: Bearer KEY`; None: no key checked.
        faults: the initial fault script (see the module docstring).
        delay: seconds every chat answer takes (to observe concurrency).
        usage: include `usage` in answers (False: the client must estimate tokens).
        models_endpoint: serve GET /v1/models (False: 404, like servers without it).
        owned_by: the `owned_by` of listed models ("llamacpp" mimics llama.cpp's server).

    Attributes: base_url, port, faults (list, consumed from the front), requests (chat bodies
    received), headers_seen (lower-cased headers of every request, GET included), served (chat
    requests answered or failed), in_flight / max_in_flight (concurrent chat requests),
    dead (True once it died). Methods: die_after(n), die(), close().
    """

    def __init__(
        self,
        reply: Callable[[dict[str, Any]], str] | None = None,
        models: Iterable[str] = ("m",),
        key: str | None = None,
        faults: Iterable[Any] = (),
        delay: float = 0.0,
        usage: bool = True,
        models_endpoint: bool = True,
        owned_by: str = "fake",
    ) -> None:
        self.reply = reply or default_reply
        self.models = tuple(models)
        self.key = key
        self.faults: list[Any] = list(faults)
        self.delay = delay
        self.usage = usage
        self.models_endpoint = models_endpoint
        self.owned_by = owned_by
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self.served = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._dead = False
        self._die_after: int | None = None
        self._closing = False
        self._conns: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._serve, name=f"fake-openai-{self.port}", daemon=True)
        self._thread.start()

    # --- control -------------------------------------------------------------------------

    @property
    def dead(self) -> bool:
        return self._dead

    def die_after(self, n: int) -> None:
        """Serve n more chat requests (counting from now), then stop accepting connections."""
        with self._lock:
            self._die_after = len(self.requests) + n
        if n <= 0:
            self._die()

    def die(self) -> None:
        """Shut down now: open connections are dropped and later ones refused."""
        self._die()

    def close(self) -> None:
        self._stop.set()
        self._die()
        self._thread.join(timeout=5)
        for t in list(self._threads):
            t.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            self._server.serve_forever(poll_interval=0.05)
        finally:
            self._server.server_close()  # the listening socket: from now on, connection refused

    def _next_fault(self) -> Any:
        with self._lock:
            return self.faults.pop(0) if self.faults else "ok"

    def _die(self) -> None:
        """Refuse from now on: drop open connections, stop the loop, close the listening socket.
        Called from handler threads or the test's thread, never from the server loop's own."""
        with self._lock:
            if self._dead:
                return
            self._dead = True
            conns = list(self._conns)
        for c in conns:  # keep-alive connections: the client sees them close
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.shutdown()  # waits (<= one poll interval) for serve_forever to return
        self._server.server_close()  # from now on: connection refused
