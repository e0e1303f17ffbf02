"""The LLM client: cache and replay, budget, structured output and fallbacks, counters, transcript."""

from __future__ import annotations

import json

import pytest

from emergelab.lab.recorder import Recorder
from emergelab.llm import LLM, BudgetExceeded, DiskCache, LLMError, MemoryCache, Request
from emergelab.llm.parse import parse
from emergelab.llm.scripted import ScriptedBackend
from emergelab.llm.types import Raw


def echo(req: Request) -> str:
    return f"you said {req.messages[-1]['content']} (seed {req.seed})"


def msgs(text: str):
    return ({"role": "user", "content": text},)


class Counting(ScriptedBackend):
    """A scripted backend that counts the requests that reach it."""

    def __init__(self, policy, fail: Exception | None = None):
        super().__init__(policy)
        self.seen: list[Request] = []
        self.fail = fail
        self.checks = 0

    def generate(self, requests):
        if self.fail is not None:
            raise self.fail
        self.seen.extend(requests)
        return super().generate(requests)

    def check(self):
        self.checks += 1


def test_cache_replays_without_calls(tmp_path):
    be = Counting(echo)
    a = LLM(be, DiskCache(tmp_path))
    r1 = a.complete_many([Request(msgs("hi"), seed=1), Request(msgs("ho"), seed=2)])
    assert [r.cached for r in r1] == [False, False] and len(be.seen) == 2
    # a new client (a re-run, another process) on the same folder: no call at all
    be2 = Counting(echo)
    b = LLM(be2, DiskCache(tmp_path))
    r2 = b.complete_many([Request(msgs("hi"), seed=1), Request(msgs("ho"), seed=2), Request(msgs("hi"), seed=3)])
    assert [r.cached for r in r2] == [True, True, False]
    assert [r.text for r in r2[:2]] == [r.text for r in r1]
    assert len(be2.seen) == 1 and be2.seen[0].seed == 3  # only the new seed was asked
    assert b.totals["cache_hits"] == 2 and b.totals["model_calls"] == 1 and b.totals["requests"] == 3
    assert be.checks == 1 and be2.checks == 1


def test_key_covers_request_but_not_bookkeeping():
    base = Request(msgs("x"), max_tokens=10, temperature=0.5, seed=3)
    k = base.key("local", "m")
    assert Request(msgs("x"), max_tokens=10, temperature=0.5, seed=3, agent="a", tag="t", step=9).key("local", "m") == k
    for other in (Request(msgs("y"), 10, 0.5, 3), Request(msgs("x"), 11, 0.5, 3), Request(msgs("x"), 10, 0.6, 3),
                  Request(msgs("x"), 10, 0.5, 4), Request(msgs("x"), 10, 0.5, 3, stop=("\n",)),
                  Request(msgs("x"), 10, 0.5, 3, json_schema={"type": "number"})):
        assert other.key("local", "m") != k
    assert base.key("http", "m") != k and base.key("local", "n") != k


def test_unreadable_cache_entry_is_asked_again(tmp_path):
    be = Counting(echo)
    LLM(be, DiskCache(tmp_path)).complete(msgs("hi"))
    (f,) = tmp_path.glob("*/*.json")
    f.write_text("{not json")
    be2 = Counting(echo)
    r = LLM(be2, DiskCache(tmp_path)).complete(msgs("hi"))
    assert not r.cached and len(be2.seen) == 1
    assert json.loads(f.read_text())["text"] == r.text  # repaired in place


def test_budget_calls_is_hard_and_cache_is_free(tmp_path):
    be = Counting(echo)
    a = LLM(be, DiskCache(tmp_path), max_calls=2)
    a.complete_many([Request(msgs("1")), Request(msgs("2"))])
    with pytest.raises(BudgetExceeded, match="llm_max_calls=2"):
        a.complete(msgs("3"))
    assert len(be.seen) == 2  # refused before the call, not after
    b = LLM(Counting(echo), DiskCache(tmp_path), max_calls=1)
    b.complete_many([Request(msgs("1")), Request(msgs("2"))])  # both cached: free
    with pytest.raises(BudgetExceeded):  # a batch that would overspend is not sent at all
        LLM(Counting(echo), MemoryCache(), max_calls=2).complete_many([Request(msgs(str(i))) for i in range(3)])


def test_budget_tokens():
    a = LLM(ScriptedBackend(lambda r: "one two three four five"), max_tokens=8)
    a.complete(msgs("a b c"))  # 3 in + 5 out = 8: spent
    with pytest.raises(BudgetExceeded, match="llm_max_tokens=8"):
        a.complete(msgs("again"))
    assert "\n" not in str(BudgetExceeded("x"))


def test_parse_fallback_is_counted_and_logged():
    answers = iter(["7", "Answer: 12 units", "I'd rather not say", '{"action": "punish", "amount": 2'])
    rec = Recorder(progress=False)
    a = LLM(ScriptedBackend(lambda r: next(answers)), recorder=rec)
    num = {"type": "number", "minimum": 0, "maximum": 10}
    r1 = a.complete(msgs("a"), json_schema=num, default=0.0)
    r2 = a.complete(msgs("b"), json_schema=num, default=0.0)
    a.log(0)
    r3 = a.complete(msgs("c"), json_schema=num, default=-1.0)
    obj = {"type": "object", "properties": {"action": {"enum": ["donate", "punish"]}, "amount": {"type": "number"}},
           "required": ["action", "amount"]}
    r4 = a.complete(msgs("d"), json_schema=obj, default={"action": "donate", "amount": 0})
    a.log(1)
    assert (r1.parsed, r1.parse_ok, r1.repaired) == (7, True, False)
    assert (r2.parsed, r2.parse_ok, r2.repaired) == (10, True, True)  # found in prose, clipped to the maximum
    assert (r3.parsed, r3.parse_ok) == (-1.0, False)  # the declared default, counted
    assert r4.parsed == {"action": "punish", "amount": 2} and r4.repaired  # a reply cut off mid-object
    assert list(rec.series("llm/parse_failures")[1]) == [0, 1]
    assert list(rec.series("llm/repairs")[1]) == [1, 1]
    assert list(rec.series("llm/requests")[1]) == [2, 2]  # per interval, not cumulative
    a.close()
    assert rec.summary["llm_parse_failures"] == 1 and rec.summary["llm_requests"] == 4
    t = rec.artefacts["llm_transcript"]
    assert list(t["fallback"]) == [False, False, True, False] and list(t["prompt"]) == ["a", "b", "c", "d"]


def test_failures_stop_or_fall_back():
    boom = LLMError("cannot reach the LLM server at http://x after 5 retries")
    with pytest.raises(LLMError, match="cannot reach"):
        LLM(Counting(echo, fail=boom)).complete(msgs("a"))
    rec = Recorder(progress=False)
    a = LLM(Counting(echo, fail=boom), MemoryCache(), rec, on_error="fallback")
    r = a.complete(msgs("a"), json_schema={"type": "number"}, default=0.5)
    assert r.parsed == 0.5 and not r.parse_ok and "cannot reach" in r.error
    a.log(0)
    assert rec.series("llm/failures")[1][0] == 1
    assert not a.cache  # a failure is never cached


def test_transcript_and_summary_through_recorder(tmp_path):
    rec = Recorder(progress=False)
    with LLM(ScriptedBackend(echo, "echo-1"), DiskCache(tmp_path), rec, temperature=0.7) as a:
        a.complete(({"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}),
                   agent="1_2", tag="strategy", step=3, seed=5)  # fmt: skip
    t = rec.artefacts["llm_transcript"]
    row = t.iloc[0]
    assert (row.agent, row.tag, row.step, row.seed, row.temperature) == ("1_2", "strategy", 3, 5, 0.7)
    assert row.reply == "you said hello (seed 5)" and json.loads(row.messages)[0]["content"] == "be brief"
    assert rec.summary["llm_backend"] == "scripted" and rec.summary["llm_model"] == "echo-1"


def test_scripted_backend_stop_and_max_tokens():
    be = ScriptedBackend(lambda r: "alpha beta gamma. delta")
    (raw,) = be.generate([Request(msgs("x"), stop=("."),)])
    assert raw.text == "alpha beta gamma"
    (raw,) = be.generate([Request(msgs("x"), max_tokens=2)])
    assert raw.text == "alpha beta" and raw.tokens_out == 2
    with pytest.raises(LLMError):
        ScriptedBackend("not callable")


def test_backend_reply_count_mismatch_is_a_bug_not_silence():
    class Short(ScriptedBackend):
        def generate(self, requests):
            return [Raw("x", 1, 1)]

    with pytest.raises(RuntimeError, match="returned 1 replies for 2"):
        LLM(Short(echo)).complete_many([Request(msgs("a")), Request(msgs("b"))])


@pytest.mark.parametrize("text,schema,expected", [
    ("3", {"type": "integer"}, (3, True, False)),
    ("3.5", {"type": "integer"}, (None, False, False)),
    ("  -2.5e1 ", {"type": "number"}, (-25.0, True, False)),
    ("Answer: 3,5", {"type": "number"}, (3.5, True, True)),
    ("In round 2 I keep 3 of my 10", {"type": "number"}, (None, False, False)),
    ("In round 2, answer: 3 of my 10", {"type": "number"}, (3.0, True, True)),
    ("I give 4 units to agent 2", {"type": "number"}, (4.0, True, True)),
    ("In generation 1, you will give", {"type": "number"}, (None, False, False)),
    ("I give 2.5 to 1_3 in round 4", {"type": "number"}, (2.5, True, True)),
    ("You are given 2_1.", {"type": "number"}, (None, False, False)),
    ("nan", {"type": "number"}, (None, False, False)),
    ('"punish"', {"enum": ["donate", "punish"]}, ("punish", True, False)),
    ("I will donate.", {"type": "string", "enum": ["donate", "punish"]}, ("donate", True, True)),
    ("donate or punish?", {"type": "string", "enum": ["donate", "punish"]}, (None, False, False)),
    ('{"a": [1, 2', {"type": "object"}, ({"a": [1, 2]}, True, True)),
    ('{"a": 1, "b', {"type": "object"}, ({"a": 1}, True, True)),
    ('prose {"a": 1} more prose}', {"type": "object"}, ({"a": 1}, True, True)),
    ('{"amount": "4"}', {"type": "object", "properties": {"amount": {"type": "number"}}}, ({"amount": 4}, True, True)),
    ('{"b": 1}', {"type": "object", "required": ["a"]}, (None, False, False)),
    ("yes", {"type": "boolean"}, (True, True, True)),
])  # fmt: skip
def test_parse_table(text, schema, expected):
    assert parse(text, schema) == expected
