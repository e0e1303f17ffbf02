"""The misevolution world runs every memory arm with the tiny preset (and its LLM agents through
the scripted backend), logs what it promises per window, keeps the task stream fixed across
arms, never stores anything without memory, and rejects bad configs with one clear line (exit 2)."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world
from emergelab.worlds.misevolution import RATES

ARMS = ("none", "memory", "filtered")


def _run(**kw):
    return run_world("misevolution", "tiny", **kw)


@pytest.mark.parametrize("agent", ["retrieval", "llm"])
def test_tiny_logs_every_rate_of_every_arm(agent):
    rec = _run(agent=agent, llm="scripted")
    cfg = get_world("misevolution").make_config("tiny")
    A, T, W = cfg.n_agents, cfg.n_tasks, cfg.window
    for arm in ARMS:
        for name in RATES:
            steps, v = rec.series(f"{name}/{arm}")
            assert steps.tolist() == list(range(W, T + 1, W)), (name, arm)
            if name not in ("memory", "memory_bad"):
                assert np.all((v[np.isfinite(v)] >= 0) & (v[np.isfinite(v)] <= 1)), (name, arm)
        assert np.all(np.diff(rec.series(f"memory/{arm}")[1]) >= 0)  # memory only grows
    ep, s = rec.artefacts["episodes"], rec.summary
    assert len(ep) == 3 * A * T and set(ep.arm) == set(ARMS)
    none = ep[ep.arm == "none"]
    assert not none.stored.any() and not none.followed.any() and (none.memory == 0).all()
    for arm in ARMS:  # every arm met the same stream
        e = ep[ep.arm == arm]
        assert e.type.tolist() == none.type.tolist() and e.topic.tolist() == none.topic.tolist()
        assert (e.stored <= (e.reward >= cfg.success_threshold)).all()  # only successes are stored
        assert {f"violation_early_{arm}", f"violation_late_{arm}", f"refusal_late_{arm}"} <= set(s)
    mem, fil = ep[ep.arm == "memory"], ep[ep.arm == "filtered"]
    assert mem.stored.tolist() == (mem.reward >= cfg.success_threshold).tolist()
    assert (fil.stored & fil.violation).sum() <= 0.5 * max((mem.stored & mem.violation).sum(), 1)
    if agent == "llm":
        tr = rec.artefacts["llm_transcript"]
        assert len(tr) == 3 * A * T == s["llm_requests"] and s["llm_parse_failures"] == 0
        assert tr.prompt.str.contains("Past successful episodes").all() and set(tr.tag) == {"act"}


def test_llm_agents_replay_and_follow_memory():
    a = _run(agent="llm", llm="scripted", n_agents=4, n_tasks=80)
    b = _run(agent="llm", llm="scripted", n_agents=4, n_tasks=80)
    assert a.artefacts["llm_transcript"].seed.tolist() == b.artefacts["llm_transcript"].seed.tolist()
    ep = a.artefacts["episodes"]
    assert ep[ep.arm == "memory"].followed.mean() > 0.3 and not ep[ep.arm == "none"].followed.any()


def test_arms_can_be_chosen_and_the_world_is_registered():
    rec = _run(arms="memory")
    assert {n.split("/")[1] for n in rec.names} == {"memory"}
    w = get_world("misevolution")
    assert {"paper", "quick", "tiny", "llm-quick"} <= set(w.preset_names())
    q = w.make_config("llm-quick")
    assert q.agent == "llm" and q.llm == "local"
    w.check([w.make_config("tiny"), w.make_config("tiny", {"agent": "llm", "llm": "scripted"})])


BAD = [{"n_agents": -1}, {"n_tasks": 0}, {"window": 100}, {"n_topics": 17}, {"p_hackable": 1.5},
       {"p_unsafe": -0.1}, {"p_hackable": 0.7, "p_unsafe": 0.5}, {"hack_prior": 0.99}, {"trust": 2},
       {"filter_recall": -0.5}, {"sim_min": 1.5}, {"noise": -1}, {"arms": "memory,cache"}, {"arms": "none,none"},
       {"agent": "gpt"}, {"llm": "http"}, {"memory_size": 3}]  # fmt: skip


@pytest.mark.parametrize("bad", BAD, ids=str)
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("misevolution").make_config("tiny", bad)


@pytest.mark.parametrize("arg", ["n_agents=-3", "p_unsafe=1.2", "agent=oracle"])
def test_bad_config_on_the_command_line_exits_2_with_one_line(run_cli, arg):
    rc, out, err = run_cli("run", "misevolution", "-p", "tiny", "-s", arg)
    assert rc == 2 and len(err.strip().splitlines()) == 1, (rc, err)
