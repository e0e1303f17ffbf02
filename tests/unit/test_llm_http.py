"""The OpenAI-compatible HTTP backend against a real fault-injecting server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from email.utils import formatdate

import httpx
import pytest

from emergelab.errors import UserError
from emergelab.llm.http import HTTPBackend
from emergelab.llm.types import LLMError, Raw, Request
from tests.llm_server import FakeOpenAI, default_reply

pytestmark = pytest.mark.timeout(60)

KEY = "sk-test-key-0001"
PLANTED = "sk-PLANTED-abc123"


def req(text: str = "hello there", **kw) -> Request:
    return Request(
        messages=({"role": "system", "content": "be brief"}, {"role": "user", "content": text}), **kw
    )


class Sleeps:
    """An injected sleep that records the waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, s: float) -> None:
        with self._lock:
            self.waits.append(s)


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("EMERGELAB_TEST_KEY", KEY)
    return "EMERGELAB_TEST_KEY"


@pytest.fixture
def make(key_env):
    made: list[HTTPBackend] = []

    def _make(srv: FakeOpenAI | str, model: str = "m", **kw) -> HTTPBackend:
        url = srv if isinstance(srv, str) else srv.base_url
        kw.setdefault("api_key_env", key_env)
        kw.setdefault("sleep", Sleeps())
        kw.setdefault("timeout", 5.0)
        b = HTTPBackend(url, model, **kw)
        made.append(b)
        return b

    yield _make
    for b in made:
        b.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed on exit: nothing listens there


def one_line(e: BaseException) -> str:
    msg = str(e)
    assert "\n" not in msg and "\r" not in msg, msg
    assert msg == msg.strip() and msg
    return msg


# --- success ----------------------------------------------------------------------------------


def test_plain_success_text_tokens_and_key_header(make, key_env):
    with FakeOpenAI(models=("m",), key=KEY) as srv:
        b = make(srv)
        [raw] = b.generate(
            [req("what is two plus two", max_tokens=7, temperature=0.3, seed=11, stop=("\n",))]
        )
        assert isinstance(raw, Raw)
        body = srv.requests[0]
        assert raw.text == default_reply(body) and raw.text
        assert raw.tokens_in == 2 + 5 and raw.tokens_out == len(raw.text.split())
        assert raw.retries == 0 and raw.latency_s > 0
        assert body["model"] == "m" and body["max_tokens"] == 7 and body["temperature"] == 0.3
        assert body["seed"] == 11 and body["stop"] == ["\n"] and "response_format" not in body
        assert body["messages"][-1] == {"role": "user", "content": "what is two plus two"}
        assert srv.headers_seen[-1]["authorization"] == f"Bearer {KEY}"
        assert b.name == "http" and b.model == "m"
        assert KEY not in repr(b) and KEY not in repr(vars(b))


def test_key_read_at_call_time_not_stored(make, key_env, monkeypatch):
    with FakeOpenAI(key=None) as srv:
        b = make(srv)
        monkeypatch.setenv(key_env, "sk-first-1111")
        b.generate([req()])
        monkeypatch.setenv(key_env, "sk-second-2222")
        b.generate([req()])
        assert [h["authorization"] for h in srv.headers_seen] == [
            "Bearer sk-first-1111",
            "Bearer sk-second-2222",
        ]
        assert "sk-second-2222" not in repr(vars(b))


def test_no_key_env_sends_no_authorization(make, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAI() as srv:
        b = make(srv, api_key_env="")
        b.check()
        b.generate([req()])
        assert all("authorization" not in h for h in srv.headers_seen)


def test_json_schema_stop_and_missing_usage(make):
    schema = {
        "type": "object",
        "properties": {"give": {"type": "number", "minimum": 0, "maximum": 1}},
        "required": ["give"],
    }
    with FakeOpenAI(usage=False) as srv:
        [raw] = make(srv).generate([req("give?", json_schema=schema)])
        rf = srv.requests[0]["response_format"]
        assert rf == {
            "type": "json_schema",
            "json_schema": {"name": "reply", "schema": schema, "strict": False},
        }
        assert "stop" not in srv.requests[0]
        assert 0 <= json.loads(raw.text)["give"] <= 1
        assert raw.tokens_in == 3 and raw.tokens_out == len(raw.text.split())  # estimated by words


def test_null_content_is_empty_text(make):
    with FakeOpenAI(faults=[("content", None)]) as srv:
        [raw] = make(srv).generate([req()])
        assert raw.text == ""


def test_batch_in_order_concurrent_but_bounded(make):
    with FakeOpenAI(delay=0.15) as srv:
        b = make(srv, concurrency=4)
        t0 = time.perf_counter()
        raws = b.generate([req(f"question {i}") for i in range(12)])
        took = time.perf_counter() - t0
        bodies = {body["messages"][-1]["content"]: body for body in srv.requests}
        assert len(srv.requests) == 12
        assert [r.text for r in raws] == [default_reply(bodies[f"question {i}"]) for i in range(12)]
        assert srv.max_in_flight == 4  # concurrent, never more than `concurrency`
        assert took < 12 * 0.15 * 0.75  # not one after another (3 waves of 0.15 s)


def test_concurrency_bound_holds_across_threads(make):
    with FakeOpenAI(delay=0.1) as srv:
        b = make(srv, concurrency=3)
        threads = [
            threading.Thread(target=b.generate, args=([req(f"t{k} {i}") for i in range(3)],))
            for k in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(srv.requests) == 9 and srv.max_in_flight == 3


def test_fake_server_leaves_no_threads():
    with FakeOpenAI(faults=[("sleep", 30)]) as srv, pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{srv.base_url}/chat/completions", json={"model": "m", "messages": []}, timeout=0.1)
    assert not srv._thread.is_alive() and not srv._threads
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{srv.base_url}/models", timeout=1)


def test_generate_empty_batch(make):
    with FakeOpenAI() as srv:
        assert make(srv).generate([]) == []
        assert srv.requests == []


# --- retries ----------------------------------------------------------------------------------


def test_429_honours_retry_after(make):
    with FakeOpenAI(
        faults=[("status", 429, {"Retry-After": "1"}), ("status", 429, {"Retry-After": "100"})]
    ) as srv:
        sleeps = Sleeps()
        [raw] = make(srv, sleep=sleeps, max_backoff=7.0).generate([req()])
        assert raw.retries == 2 and raw.text
        assert sleeps.waits == [1.0, 7.0]  # as asked, capped at max_backoff


def test_retry_after_http_date(make):
    when = formatdate(time.time() + 3, usegmt=True)
    with FakeOpenAI(faults=[("status", 503, {"Retry-After": when})]) as srv:
        sleeps = Sleeps()
        [raw] = make(srv, sleep=sleeps).generate([req()])
        assert raw.retries == 1 and 1.0 < sleeps.waits[0] <= 3.0


def test_5xx_retried_and_counted(make):
    with FakeOpenAI(faults=[("status", 500), ("status", 503), ("status", 502), "ok"]) as srv:
        sleeps = Sleeps()
        [raw] = make(srv, sleep=sleeps, backoff=0.5).generate([req()])
        assert raw.retries == 3 and len(srv.requests) == 4
        # exponential back-off with jitter in [0.5, 1]
        for attempt, w in enumerate(sleeps.waits):
            assert 0.5 * 0.5 * 2**attempt <= w <= 0.5 * 2**attempt


def test_retries_counted_per_request_in_a_batch(make):
    with FakeOpenAI(faults=[("status", 500)]) as srv:
        raws = make(srv, concurrency=1).generate([req("a"), req("b"), req("c")])
        assert [r.retries for r in raws] == [1, 0, 0]


def test_truncated_and_choiceless_bodies_retried(make):
    with FakeOpenAI(faults=["truncated", ("status", 200, {}, {"id": "x", "choices": []}), "ok"]) as srv:
        [raw] = make(srv).generate([req()])
        assert raw.retries == 2 and raw.text == default_reply(srv.requests[-1])


def test_timeout_retried(make):
    with FakeOpenAI(faults=[("sleep", 1.0)]) as srv:
        [raw] = make(srv, timeout=0.2).generate([req()])
        assert raw.retries == 1 and raw.text


def test_exhausted_retries_one_line(make):
    with FakeOpenAI(faults=[("status", 503)] * 10) as srv:
        b = make(srv, retries=3)
        with pytest.raises(LLMError) as e:
            b.generate([req()])
        msg = one_line(e.value)
        assert "HTTP 503" in msg and "after 3 retries" in msg and srv.base_url in msg
        assert len(srv.requests) == 4
        assert isinstance(e.value, UserError)


def test_exhausted_timeouts(make):
    with FakeOpenAI(faults=[("sleep", 1.0)] * 3) as srv:
        with pytest.raises(LLMError) as e:
            make(srv, timeout=0.2, retries=1).generate([req()])
        msg = one_line(e.value)
        assert "did not answer" in msg and "after 1 retry" in msg and "llm_timeout" in msg


def test_unreachable_url(make):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    sleeps = Sleeps()
    b = make(url, retries=2, sleep=sleeps)
    with pytest.raises(LLMError) as e:
        b.generate([req()])
    msg = one_line(e.value)
    assert msg.startswith(f"cannot reach the LLM server at {url} after 2 retries (ConnectError)")
    assert "llm_base_url" in msg and len(sleeps.waits) == 2
    with pytest.raises(LLMError, match="cannot reach"):
        b.check()


def test_server_dies_mid_batch(make):
    with FakeOpenAI() as srv:
        srv.die_after(2)
        b = make(srv, concurrency=1, retries=2)
        with pytest.raises(LLMError) as e:
            b.generate([req(str(i)) for i in range(5)])
        assert "cannot reach" in one_line(e.value) or "dropping" in str(e.value)
        assert srv.served == 2 and srv.dead


def test_die_fault_then_refused(make):
    with FakeOpenAI(faults=["die"]) as srv:
        with pytest.raises(LLMError, match="cannot reach"):
            make(srv, retries=2).generate([req()])
        assert len(srv.requests) == 1


def test_batch_failure_stops_the_rest(make):
    with FakeOpenAI(
        faults=["ok", ("status", 400, {}, {"error": {"message": "bad things\nsecond line"}})]
    ) as srv:
        b = make(srv, concurrency=1)
        with pytest.raises(LLMError) as e:
            b.generate([req(str(i)) for i in range(6)])
        msg = one_line(e.value)
        assert "HTTP 400" in msg and "bad things" in msg and "second line" not in msg
        assert len(srv.requests) < 6


def test_jitter_is_seeded(make):
    def waits(seed: int) -> list[float]:
        with FakeOpenAI(faults=[("status", 500)] * 4) as srv:
            sleeps = Sleeps()
            make(srv, seed=seed, sleep=sleeps).generate([req()])
            return sleeps.waits

    a, b, c = waits(3), waits(3), waits(4)
    assert a == b and len(a) == 4 and a != c


# --- refusals, not retried ---------------------------------------------------------------------


def test_missing_key_env(make, monkeypatch):
    monkeypatch.delenv("EMERGELAB_NO_SUCH_KEY", raising=False)
    with FakeOpenAI() as srv:
        b = make(srv, api_key_env="EMERGELAB_NO_SUCH_KEY")
        for call in (b.check, lambda: b.generate([req()])):
            with pytest.raises(LLMError) as e:
                call()
            msg = one_line(e.value)
            assert "EMERGELAB_NO_SUCH_KEY is not set" in msg and "llm_api_key_env" in msg
        assert srv.requests == [] and srv.headers_seen == []


def test_401_refused_key_is_redacted(make, key_env, monkeypatch):
    monkeypatch.setenv(key_env, PLANTED)
    with FakeOpenAI(key=KEY) as srv:
        b = make(srv)
        with pytest.raises(LLMError) as e:
            b.generate([req()])
        msg = one_line(e.value)
        assert f"${key_env}" in msg and "HTTP 401" in msg
        assert len(srv.requests) == 1  # not retried
        with pytest.raises(LLMError) as e2:
            b.check()
        for err in (e.value, e2.value):
            assert PLANTED not in str(err) and PLANTED not in repr(err)
            assert PLANTED not in str(err.__cause__ or "") and PLANTED not in str(err.__context__ or "")
        assert PLANTED not in repr(b)


def test_planted_key_echoed_in_other_errors_is_redacted(make, key_env, monkeypatch):
    monkeypatch.setenv(key_env, PLANTED)
    echo = {"error": {"message": f"request with Authorization: Bearer {PLANTED} is malformed"}}
    with FakeOpenAI(faults=[("status", 422, {}, echo)] + [("status", 500, {}, echo)] * 3) as srv:
        b = make(srv, retries=2)
        with pytest.raises(LLMError) as e:
            b.generate([req()])
        assert "malformed" in one_line(e.value) and PLANTED not in str(e.value)
        with pytest.raises(LLMError) as e:
            b.generate([req()])
        assert "HTTP 500" in one_line(e.value) and PLANTED not in str(e.value)


def test_unknown_model_generate_and_check(make):
    with FakeOpenAI(models=("llama3.1:8b", "qwen2.5:7b")) as srv:
        b = make(srv, model="gpt-9")
        with pytest.raises(LLMError) as e:
            b.generate([req()])
        msg = one_line(e.value)
        assert "does not know model 'gpt-9' (HTTP 404)" in msg and f"curl {srv.base_url}/models" in msg
        assert len(srv.requests) == 1  # not retried
        with pytest.raises(LLMError) as e:
            b.check()
        msg = one_line(e.value)
        assert "'gpt-9'" in msg and "'llama3.1:8b'" in msg and "'qwen2.5:7b'" in msg
        make(srv, model="llama3.1:8b").check()


def test_check_lists_at_most_five_models(make):
    with FakeOpenAI(models=[f"m{i}" for i in range(9)]) as srv:
        with pytest.raises(LLMError) as e:
            make(srv, model="x").check()
        msg = one_line(e.value)
        assert "'m4'" in msg and "'m5'" not in msg and "9 in all" in msg


def test_check_passes_without_models_endpoint_and_for_llamacpp(make):
    with FakeOpenAI(models_endpoint=False) as srv:
        make(srv, model="anything").check()
    with FakeOpenAI(models=("models/7B/ggml-model.gguf",), owned_by="llamacpp") as srv:
        make(srv, model="whatever").check()


def test_check_accepts_ollama_latest(make):
    with FakeOpenAI(models=("llama3.1:latest",)) as srv:
        make(srv, model="llama3.1").check()


def test_check_one_quick_retry(make):
    with FakeOpenAI() as srv:
        url = srv.base_url
    sleeps = Sleeps()
    b = make(url, sleep=sleeps)
    with pytest.raises(LLMError) as e:
        b.check()
    assert one_line(e.value).startswith(f"cannot reach the LLM server at {url} after 1 retry")
    assert len(sleeps.waits) == 1


def test_wrong_path_404_says_fix_the_url(make):
    with FakeOpenAI() as srv:
        b = make(srv.base_url.removesuffix("/v1"))
        with pytest.raises(LLMError) as e:
            b.generate([req()])
        assert "/v1" in one_line(e.value) and "llm_base_url" in str(e.value)


def test_bad_constructor_arguments():
    with pytest.raises(LLMError):
        HTTPBackend("127.0.0.1:8000/v1", "m")
    with pytest.raises(LLMError):
        HTTPBackend("http://127.0.0.1:8000/v1", "")
    with pytest.raises(LLMError):
        HTTPBackend("http://127.0.0.1:8000/v1", "m", concurrency=0)
