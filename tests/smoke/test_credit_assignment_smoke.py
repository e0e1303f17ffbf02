"""credit_assignment runs its tiny presets for every method of both tasks, logs what it
promises, and is registered with presets; bad input is one line and exit 2 on the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world

LOCK = ("lock/success", "lock/decoy", "lock/return", "lock/entropy", "lock/entropy_pooled", "lock/entropy_route",
        "lock/outside_band", "lock/phase_weight", "lock/samples")
REASON = ("reason/success", "reason/expected", "reason/plan_acc", "reason/exec_acc", "reason/token_entropy",
          "reason/semantic_entropy", "reason/plan_token_entropy", "reason/exec_token_entropy")


@pytest.mark.parametrize("method", ["pg", "entropy", "epo"])
def test_lock_tiny_logs_everything(method):
    rec = run_world("credit_assignment", "tiny", method=method)
    cfg = get_world("credit_assignment").make_config("tiny", {"method": method})
    assert set(LOCK) <= set(rec.names)
    steps, succ = rec.series("lock/success")
    assert steps.tolist() == list(range(cfg.iters))
    assert np.all((succ >= 0) & (succ <= 1))
    ent = rec.series("lock/entropy")[1]
    assert np.all((ent >= 0) & (ent <= np.log(cfg.n_actions) + 1e-9))
    assert rec.series("lock/samples")[1][-1] == cfg.iters * cfg.batch
    w = rec.series("lock/phase_weight")[1]
    assert (w[0] == 1.0 and np.all(np.diff(w) <= 0)) if method == "epo" else np.all(w == 1.0)
    s = rec.summary
    assert s["samples"] == cfg.iters * cfg.batch and 0 <= s["success_final"] <= 1
    assert s["verdict"] in ("opens the lock", "premature convergence to the decoy", "keeps exploring (chain near uniform)",
                            "stuck")


@pytest.mark.parametrize("method", ["uniform", "hicra"])
def test_reasoning_tiny_logs_everything(method):
    rec = run_world("credit_assignment", "reasoning_tiny", method=method)
    cfg = get_world("credit_assignment").make_config("reasoning_tiny", {"method": method})
    assert set(REASON) <= set(rec.names) and not any(n.startswith("lock/") for n in rec.names)
    assert rec.series("reason/expected")[0].tolist() == list(range(cfg.iters))
    sem = rec.series("reason/semantic_entropy")[1]
    assert np.isclose(sem[0], cfg.n_plan * np.log(cfg.n_strategies))  # planning starts uniform
    assert np.isclose(rec.series("reason/exec_acc")[1][0], cfg.exec_init ** cfg.n_exec)
    s = rec.summary
    for k in ("iters_to_threshold", "expected_final", "token_entropy_half_iter", "semantic_entropy_half_iter",
              "corr_success_token_entropy", "corr_success_semantic_entropy"):
        assert k in s, k


def test_registered_with_presets_and_paper_defaults():
    w = get_world("credit_assignment")
    assert {"paper", "quick", "tiny", "reasoning", "reasoning_tiny"} <= set(w.preset_names())
    paper = w.make_config("paper")
    assert (paper.task, paper.method, paper.horizon) == ("lock", "epo", 30) and paper.horizon >= 30
    assert w.make_config("reasoning").task == "reasoning"
    assert "EPO" in w.paper and "HICRA" in w.paper and "lock/success" in w.watch


@pytest.mark.parametrize("args", [["-s", "slip=1.5"], ["-s", "horizon=0"], ["-s", "method=ppo"],
                                  ["-s", "method=hicra"]])
def test_bad_input_on_the_cli_is_one_line_and_exit_2(run_cli, args):
    code, out, err = run_cli("run", "credit_assignment", "-p", "tiny", *args)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
