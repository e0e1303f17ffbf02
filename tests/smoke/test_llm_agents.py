"""An LLM world end to end against a real (fault-injecting) OpenAI-compatible server on 127.0.0.1.

The donor game's LLM arm (strategy=llm, llm=http) through the CLI: time-outs, 429 with
Retry-After, 500s, truncated bodies, non-numeric and cut-off answers, a server that dies
mid-run. Every run completes or stops with one line (exit 2); no partial run is ever
visible; retries, fallbacks and failures are metrics; a re-run replays from the cache with
no calls; bad settings fail before anything is written; the planted key is nowhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from tests.llm_server import FakeOpenAI

KEY = "sk-PLANTED-7f3a9c1e5b"
KEY_ENV = "EMERGELAB_TEST_KEY"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def srv(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    with FakeOpenAI(models=("m",), key=KEY) as s:
        yield s


def _sets(srv_url: str, *extra: str) -> list[str]:
    sets = ["strategy=llm", "n_agents=4", "n_generations=2", "llm=http", "llm_model=m", f"llm_base_url={srv_url}",
            f"llm_api_key_env={KEY_ENV}", "llm_retries=3", "llm_backoff=0.01", "llm_timeout=5", *extra]
    return [a for s in sets for a in ("-s", s)]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}


def _no_key_anywhere(root: Path, *texts: str) -> None:
    for name, data in _files(root).items():
        assert KEY.encode() not in data, f"the key leaked into {name}"
    for t in texts:
        assert KEY not in t


def _runs(store: Path) -> list[str]:
    d = store / "runs"
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def _metrics(store: Path, rid: str) -> pd.DataFrame:
    return pd.read_parquet(store / "runs" / rid / "metrics.parquet").sort_values(["name", "step"]).reset_index(drop=True)


def _llm_metric(store: Path, rid: str, name: str) -> float:
    m = _metrics(store, rid)
    return float(m.loc[m["name"] == f"llm/{name}", "value"].sum())


def test_run_stores_transcript_and_replays_from_cache(srv, run_cli, tmp_path):
    store = tmp_path / "store"
    code, out, err = run_cli("run", "donor_game", *_sets(srv.base_url))
    assert code == 0, err
    (rid,) = _runs(store)
    n_calls = len(srv.requests)
    assert n_calls > 0 and all(h.get("authorization") == f"Bearer {KEY}" for h in srv.headers_seen if "authorization" in h)
    summ = json.loads((store / "runs" / rid / "summary.json").read_text())
    assert summ["llm_backend"] == "http" and summ["llm_model_calls"] == n_calls and summ["llm_cache_hits"] == 0
    t = pd.read_parquet(store / "runs" / rid / "artefacts" / "llm_transcript.parquet")
    assert len(t) == n_calls and set(t["tag"]) == {"strategy", "donation"} and not t["cached"].any()
    # the same run again: everything from the cache, not one request, the same metrics
    before = _metrics(store, rid)
    code, out2, err2 = run_cli("run", "donor_game", "--force", *_sets(srv.base_url))
    assert code == 0, err2
    assert len(srv.requests) == n_calls
    summ2 = json.loads((store / "runs" / rid / "summary.json").read_text())
    assert summ2["llm_model_calls"] == 0 and summ2["llm_cache_hits"] == n_calls
    pd.testing.assert_frame_equal(before, _metrics(store, rid))
    # the transcript is queryable and printable per agent
    code, q, _ = run_cli("query", "SELECT count(*) AS n, count(DISTINCT agent) AS agents FROM transcripts")
    assert code == 0 and str(n_calls) in q
    agent = t["agent"].iloc[0]
    code, shown, err3 = run_cli("transcript", rid, "--agent", agent)
    assert code == 0 and agent in shown and "reply:" in shown, err3
    code, _, err4 = run_cli("report", rid, "-o", str(tmp_path / "r.html"))
    assert code == 0, err4
    html = (tmp_path / "r.html").read_text()
    assert "Transcript" in html and "<details>" in html
    _no_key_anywhere(store, out, err, out2, err2, q, shown, html)


def test_faults_are_retried_and_counted(srv, run_cli, tmp_path):
    from tests.llm_server import default_reply

    def reply(body):  # donors of round 1 answer in words, of round 2 in prose around a number
        last = body["messages"][-1]["content"]
        if "It is now round 1." in last:
            return "I would rather not say"
        if "It is now round 2." in last:
            return "Sure, 3 units"
        return default_reply(body)

    store = tmp_path / "store"
    srv.reply = reply
    srv.faults += [("status", 429, {"Retry-After": "0"}), ("status", 500), "truncated", ("sleep", 1.5),
                   ("status", 503), "ok", ("content", None)]  # fmt: skip
    code, out, err = run_cli("run", "donor_game", *_sets(srv.base_url, "llm_timeout=0.5"))
    assert code == 0, err
    (rid,) = _runs(store)
    assert _llm_metric(store, rid, "retries") >= 5  # 429, 500, truncated, time-out, 503
    assert _llm_metric(store, rid, "parse_failures") >= 4  # round 1's words fell back to 0 (counted)
    assert _llm_metric(store, rid, "repairs") >= 4  # round 2's number was found in the prose
    assert _llm_metric(store, rid, "failures") == 0
    t = pd.read_parquet(store / "runs" / rid / "artefacts" / "llm_transcript.parquet")
    assert t["retries"].sum() >= 5 and t["fallback"].sum() >= 4
    assert set(t.loc[t["fallback"], "parsed"]) == {"0.0"}  # the declared default
    _no_key_anywhere(store, out, err)


def test_server_dying_mid_run_stops_with_one_line_and_resumes(srv, run_cli, tmp_path, monkeypatch):
    store = tmp_path / "store"
    srv.die_after(5)
    code, out, err = run_cli("run", "donor_game", *_sets(srv.base_url))
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "cannot reach" in err or "dropping" in err
    assert _runs(store) == []  # no partial run visible
    assert len(list((store / "llm-cache").rglob("*.json"))) == 5  # what was answered is kept
    # a new server (same model): the resumed run replays the 5 answers and asks only the rest
    with FakeOpenAI(models=("m",), key=KEY) as srv2:
        code, out2, err2 = run_cli("run", "donor_game", *_sets(srv2.base_url))
        assert code == 0, err2
        (rid,) = _runs(store)
        summ = json.loads((store / "runs" / rid / "summary.json").read_text())
        assert summ["llm_cache_hits"] == 5 and summ["llm_model_calls"] == len(srv2.requests)
    _no_key_anywhere(store, out, err, out2, err2)


def test_fallback_mode_completes_and_counts_failures(srv, run_cli, tmp_path):
    store = tmp_path / "store"
    srv.die_after(3)
    code, out, err = run_cli("run", "donor_game", *_sets(srv.base_url, "llm_on_error=fallback", "llm_retries=1"))
    assert code == 0, err
    (rid,) = _runs(store)
    assert _llm_metric(store, rid, "failures") > 0
    assert _llm_metric(store, rid, "fallbacks") >= _llm_metric(store, rid, "failures")


def test_budget_spent_mid_run_stops_with_one_line(srv, run_cli, tmp_path):
    code, out, err = run_cli("run", "donor_game", *_sets(srv.base_url, "llm_max_calls=3"))
    assert code == 2 and "llm_max_calls=3" in err and err.count("\n") == 1, err
    assert _runs(tmp_path / "store") == []


def _closed_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("case", ["unreachable", "missing_key", "unknown_model", "zero_budget", "wrong_key"])
def test_bad_llm_settings_fail_before_anything_is_written(case, srv, run_cli, tmp_path, monkeypatch):
    extra, expect = {
        "unreachable": ([f"llm_base_url=http://127.0.0.1:{_closed_port()}/v1"], "cannot reach"),
        "missing_key": ([f"llm_api_key_env={KEY_ENV}_UNSET"], f"{KEY_ENV}_UNSET"),
        "unknown_model": (["llm_model=no-such-model"], "no-such-model"),
        "zero_budget": (["llm_max_calls=0"], "llm_max_calls"),
        "wrong_key": ([], "refused the key"),
    }[case]
    if case == "wrong_key":
        monkeypatch.setenv(KEY_ENV, "sk-wrong")
    before = sorted(os.listdir(tmp_path))
    code, out, err = run_cli("run", "donor_game", *_sets(srv.base_url, *extra))
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and expect in err, err
    assert "Traceback" not in out + err
    assert sorted(os.listdir(tmp_path)) == before and not (tmp_path / "store").exists()  # nothing written
    assert not any(b.get("messages") for b in srv.requests)  # no chat request was made
    _no_key_anywhere(tmp_path, out, err)


def test_llm_check_command(srv, run_cli):
    code, out, err = run_cli("llm", "check", "--base-url", srv.base_url, "-m", "m", "--api-key-env", KEY_ENV)
    assert code == 0, err
    assert "backend=http" in out and "model=m" in out and "tokens/s" in out
    code, out, err = run_cli("llm", "check", "--base-url", f"http://127.0.0.1:{_closed_port()}/v1", "-m", "m",
                             "--api-key-env", KEY_ENV)  # fmt: skip
    assert code == 2 and "cannot reach" in err and err.count("\n") == 1
    _no_key_anywhere(Path("/nonexistent"), out, err)


def test_sweep_in_worker_processes_shares_the_cache(srv, run_cli, tmp_path):
    store = tmp_path / "store"
    args = ("sweep", "donor_game", "-g", "seed=1,2", "-x", "process", "-j", "2", *_sets(srv.base_url))
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert len(_runs(store)) == 2
    n = len(srv.requests)
    code, out2, err2 = run_cli(*args, "--force")  # both runs again, in fresh workers: all from the cache
    assert code == 0, err2
    assert len(srv.requests) == n
    for rid in _runs(store):
        assert json.loads((store / "runs" / rid / "summary.json").read_text())["llm_model_calls"] == 0
    _no_key_anywhere(store, out, err, out2, err2)


def test_transcript_command_says_what_is_wrong(srv, run_cli, tmp_path):
    code, _, err = run_cli("run", "donor_game", "-p", "tiny")  # parametric: no language model, no transcript
    assert code == 0, err
    (rid,) = _runs(tmp_path / "store")
    code, _, err = run_cli("transcript", rid)
    assert code == 2 and "no LLM transcript" in err and err.count("\n") == 1
    code, _, err = run_cli("run", "donor_game", *_sets(srv.base_url))
    llm_rid = next(r for r in _runs(tmp_path / "store") if r != rid)
    code, _, err = run_cli("transcript", llm_rid, "--agent", "nobody")
    assert code == 2 and "no agent 'nobody'" in err and err.count("\n") == 1
    code, _, err = run_cli("transcript", "no-such-run")
    assert code == 2 and err.count("\n") == 1
