"""law_discovery runs every agent with the tiny preset (the LLM agent through the scripted
backend), logs what it promises per task, counts the LLM agent's faults, and rejects bad
configs and unreadable laws with one clear line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world
from emergelab.llm import LLM
from emergelab.llm.scripted import ScriptedBackend
from emergelab.worlds import _law_llm as L
from emergelab.worlds._law_systems import Lab, tasks

ALL = ("regression", "brute", "llm")


def _run(**overrides):
    return run_world("law_discovery", "tiny", **overrides)


def test_tiny_logs_every_agent_per_task():
    rec = _run(agents=ALL, llm="scripted")
    cfg = get_world("law_discovery").make_config("tiny")
    T = len(cfg.systems) * len(cfg.difficulties)
    for a in ALL:
        for m in ("rmsle", "match", "experiments"):
            steps, v = rec.series(f"law/{a}/{m}")
            assert steps.tolist() == list(range(T)), (a, m)
        assert set(rec.series(f"law/{a}/match")[1]) <= {0.0, 1.0}
        assert np.all(rec.series(f"law/{a}/experiments")[1] <= cfg.n_experiments)
        assert 0 <= rec.summary[f"match_rate_{a}"] <= 1 and f"median_rmsle_{a}_easy" in rec.summary
    assert np.all(rec.series("law/regression/experiments")[1] == cfg.n_experiments)
    assert rec.series("law/difficulty")[1].tolist() == [0.0] * T
    tab = rec.artefacts["tasks"]
    assert len(tab) == T * 3 and set(tab.agent) == set(ALL) and tab.submitted.str.len().gt(0).all()
    # the scripted agent fits its own experiments: low noise, easy laws, it finds them
    assert rec.summary["match_rate_llm"] == 1.0 and rec.summary["median_rmsle_llm"] < 0.05
    assert json.dumps(rec.summary)  # JSON-ready


def test_llm_agent_faults_are_counted_not_hidden():
    # seeds 0..4 mod 5 give every scripted quirk: prose (parse failure), a law in words (failed
    # submission), an experiment without inputs (bad action)
    rows = []
    for seed in range(6):
        rec = _run(agents=("llm",), llm="scripted", seed=seed)
        tr = rec.artefacts["llm_transcript"]
        counts = {k: rec.series(f"law/llm/{k}")[1].sum() for k in ("parse_failures", "failed_submissions",
                                                                     "bad_actions", "turns")}  # fmt: skip
        assert counts["turns"] == len(tr) == rec.summary["llm_requests"]
        assert counts["parse_failures"] == rec.summary["llm_parse_failures"] == (~tr.parse_ok).sum()
        rows.append(counts)
    for k in ("parse_failures", "failed_submissions", "bad_actions"):
        assert any(r[k] > 0 for r in rows), k


class _Never:
    """An agent that only ever asks for experiments: it never submits a law."""

    def __call__(self, req):
        return json.dumps({"action": "experiment", "inputs": {"k": 1.0, "x": 1.0}})


def test_an_agent_that_never_submits_fails_the_task():
    cfg = get_world("law_discovery").make_config("tiny", {"agents": ("llm",), "llm": "scripted", "llm_max_turns": 10})
    (task,) = tasks(["hooke"], ["easy"])
    lab = Lab(task, 0.0, cfg.n_experiments, np.random.default_rng(0))
    with LLM(ScriptedBackend(_Never())) as llm:
        (s,) = L.Agents(llm, cfg, [task], [lab], [7]).run()
    assert s["law"] is None and s["turns"] == 10 and lab.used == cfg.n_experiments
    assert s["bad_actions"] == 10 - cfg.n_experiments  # asked with none left


def test_custom_law_and_its_errors():
    rec = _run(law="2*x**1.5/y", agents=("regression",))
    assert rec.summary["n_tasks"] == 1 and rec.summary["match_rate_regression_custom"] == 1.0
    w = get_world("law_discovery")
    with pytest.raises(UserError, match="not Python keywords") as e:
        w.make_config("tiny", {"law": "import os"})
    assert "\n" not in str(e.value)
    with pytest.raises(UserError, match="cannot parse"):
        w.make_config("tiny", {"law": "2 x"})


@pytest.mark.parametrize("override, msg", [
    ({"systems": "hooke,gravity"}, "systems must be"), ({"agents": "regression,gpt"}, "agents must be"),
    ({"difficulties": "easy,easy"}, "difficulties must be"), ({"noise": -0.1}, "noise must be"),
    ({"n_experiments": 2}, "n_experiments must be"), ({"law_range": "1,0.5"}, "law_range")])
def test_bad_configs_say_what_to_fix(override, msg):
    with pytest.raises(UserError, match=msg):
        get_world("law_discovery").make_config("tiny", override)


def test_too_small_a_budget_for_the_inputs_is_one_line():
    with pytest.raises(UserError, match="n_experiments >= 5"):
        _run(systems=("gravitation",), n_experiments=4)


def test_llm_check_skips_offline_runs():
    w = get_world("law_discovery")
    w.check([w.make_config("paper"), w.make_config("tiny", {"agents": ("llm",), "llm": "scripted"})])
