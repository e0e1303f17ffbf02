"""The donor game runs every kind of agent with the tiny preset (LLM agents through the scripted
backend), logs what it promises, follows the reference protocol (round robin, traces, reset
and selection), and rejects bad configs with a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world
from emergelab.worlds import donor_game as dg

NAMES = {"donor/mean_resources", "donor/donation_fraction", "donor/punish_share", "donor/gini",
         "donor/strategy_similarity"}
KINDS = [{"strategy": "parametric"}, {"strategy": "parametric", "rule": "linear"},
         {"strategy": "parametric", "punishment": True}, {"strategy": "always"}, {"strategy": "never"},
         {"strategy": "tft"}, {"strategy": "gtft"}, {"strategy": "llm", "llm": "scripted"},
         {"strategy": "llm", "llm": "scripted", "punishment": True, "inheritance": False}]


def _run(**overrides):
    return run_world("donor_game", "tiny", **overrides)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: "-".join(f"{v}" for v in k.values()))
def test_tiny_logs_everything(kind):
    rec = _run(**kind)
    cfg = get_world("donor_game").make_config("tiny", kind)
    G, n = cfg.n_generations, cfg.n_agents
    assert NAMES <= set(rec.names)
    for name in NAMES - {"donor/strategy_similarity"}:
        steps, values = rec.series(name)
        assert steps.tolist() == list(range(G)) and np.all(np.isfinite(values)), name
    assert rec.series("donor/strategy_similarity")[0].tolist() == list(range(1, G))
    assert np.all(rec.series("donor/mean_resources")[1] >= 0)
    for name in ("donor/donation_fraction", "donor/punish_share", "donor/gini"):
        assert np.all((rec.series(name)[1] >= 0) & (rec.series(name)[1] <= 1)), name
    s = rec.summary
    assert s["strategy"] == cfg.strategy and s["cooperation"] in ("collapsed", "held", "rose")
    assert s["first_mean_resources"] == rec.series("donor/mean_resources")[1][0]
    strat, rounds, acts = rec.artefacts["strategies"], rec.artefacts["rounds"], rec.artefacts["actions"]
    assert len(strat) == G * n and strat.groupby("generation").survived.sum().tolist() == [n // 2] * G
    assert len(rounds) == G * 2 * n and len(acts) == G * 2 * n * n // 2
    assert np.all(acts.fraction <= 1) and np.all(acts.amount >= 0)
    if cfg.strategy == "parametric":
        assert set(dg.THETA[cfg.rule]) <= set(strat.columns)
    else:
        assert "strategy" in strat.columns
    if not cfg.punishment or cfg.strategy in dg.FIXED:
        assert np.all(acts.fraction >= 0) and np.all(rec.series("donor/punish_share")[1] == 0)


def test_llm_agents_batch_and_log_their_calls():
    rec = _run(strategy="llm", llm="scripted")
    cfg = get_world("donor_game").make_config("tiny")
    G, n = cfg.n_generations, cfg.n_agents
    tr = rec.artefacts["llm_transcript"]
    assert (tr.tag == "strategy").sum() == n + (G - 1) * n // 2  # generation 1 all, then the newcomers
    assert (tr.tag == "donation").sum() == G * 2 * n * n // 2  # every donor turn of both games
    assert rec.series("llm/requests")[1].sum() == len(tr) == rec.summary["llm_requests"]
    assert rec.summary["llm_parse_failures"] == 0
    texts = rec.artefacts["strategies"].strategy
    assert texts.str.startswith("My strategy will be").all()
    # the scripted agents give what their recipient gave (their stated share to a stranger)
    acts = rec.artefacts["actions"]
    assert acts.fraction.between(0, 1).all() and acts.fraction.nunique() > 1
    again, other = _run(strategy="llm", llm="scripted"), _run(strategy="llm", llm="scripted", seed=1)
    assert again.artefacts["llm_transcript"].reply.tolist() == tr.reply.tolist()  # seeds from the run's seed
    assert other.artefacts["llm_transcript"].reply.tolist() != tr.reply.tolist()


def test_llm_check_skips_parametric_runs():
    w = get_world("donor_game")
    w.check([w.make_config("paper"), w.make_config("tiny", {"strategy": "llm", "llm": "scripted"})])


def test_round_robin_matches_the_reference():
    n, h = 12, 6
    donors, recips = dg.schedule(n)
    assert donors.shape == recips.shape == (n, h)
    for d, r in zip(donors, recips):  # a round's pairs are disjoint and seat everyone
        assert sorted(np.concatenate([d, r])) == list(range(n))
    assert np.all(np.bincount(donors.ravel(), minlength=n) == h)  # donor 6 times, recipient 6 times
    assert np.all((donors[:h:2] < h)) and np.all(donors[1:h:2] >= h)  # roles alternate, A first
    assert np.array_equal(donors[h:], recips[:h]) and np.array_equal(recips[h:], donors[:h])
    pairs = {tuple(sorted(p)) for d, r in zip(donors, recips) for p in zip(d, r)}
    assert len(pairs) == h * h  # every A meets every B (once each way)


def test_traces_chain_back():
    cfg = dg.DonorGameConfig(n_agents=4, trace_depth=3)
    donors, recips = dg.schedule(4)
    seen_log = []

    def decide(k, d, r, seen, res):
        seen_log.append(seen.copy())
        return np.full(len(d), 0.1 * (k + 1))

    out = dg.play(decide, donors, recips, cfg)
    assert np.isnan(seen_log[0]).all()  # round 1: no records
    # round 2: each recipient donated in round 1 (10%) to someone with no record
    assert np.allclose(seen_log[1][:, 0, 0], 0.1) and np.isnan(seen_log[1][:, 1, 0]).all()
    gave_to = dict(zip(donors[0], recips[0]))  # round 1: who gave to whom
    assert np.array_equal(seen_log[1][:, 0, 1], recips[1])  # the actor: the recipient itself
    assert np.array_equal(seen_log[1][:, 0, 2], [gave_to[a] for a in recips[1]])
    # round 3 repeats round 2's donors (the reversed half starts), so they see round-1 acts again;
    # round 4: depth 1 = the recipient's round-3 act, depth 2 = its target's round-1 act
    assert np.allclose(seen_log[2][:, 0, 0], 0.1)
    assert np.allclose(seen_log[3][:, 0, 0], 0.3) and np.allclose(seen_log[3][:, 1, 0], 0.1)
    assert np.array_equal(seen_log[3][:, 0, 3], [2, 2])  # rounds are recorded 0-based
    assert np.isclose(out["res"].sum(), 4 * cfg.endowment + out["amount"].sum() * (cfg.gain - 1))


def test_judge_and_linear_rules_by_hand():
    th = np.array([[0.4, 0.5, 1.0]])
    nan = np.nan
    assert dg.judge(th, np.zeros((1, 0)), False)[0] == 0.4  # depth 0: a stranger
    assert dg.judge(th, np.array([[nan, nan]]), False)[0] == 0.4  # no record
    assert np.isclose(dg.judge(th, np.array([[0.9]]), False)[0], 0.5 + (0.9 - 0.4))
    # depth 2: refusing (0) a partner who had refused (0) is excused: 0.5 + (0 - clip(0.5 + (0 - 0.4)))
    assert np.isclose(dg.judge(th, np.array([[0.0, 0.0]]), False)[0], 0.4)
    assert dg.judge(th, np.array([[0.0, 1.0]]), False)[0] == 0.0  # refusing a giver: nothing
    assert dg.judge(th, np.array([[-0.5, 1.0]]), True)[0] == -1.0  # punishing a giver: punished
    lin = np.array([[0.3, 0.1, 0.5, -0.2, 0.0]])
    assert dg.linear(lin, np.array([[nan, nan]]), False)[0] == 0.3
    assert np.isclose(dg.linear(lin, np.array([[0.6, nan]]), False)[0], 0.1 + 0.3)
    assert np.isclose(dg.linear(lin, np.array([[0.6, 1.0]]), False)[0], 0.1 + 0.3 - 0.2)


def test_fixed_controls_and_scores():
    never = _run(strategy="never")
    assert np.all(never.series("donor/mean_resources")[1] == 10.0) and np.all(never.series("donor/gini")[1] == 0)
    always = _run(strategy="always", generosity=1.0)
    assert np.all(always.series("donor/donation_fraction")[1] == 1.0)
    both = _run(score="both")
    strat = both.artefacts["strategies"]
    assert np.allclose(strat.score, strat.resources_game1 + strat.resources_game2)
    g0 = strat[strat.generation == 0]
    assert g0[g0.survived].score.min() >= g0[~g0.survived].score.max()  # the top half survive


def test_newcomers_copy_survivors_or_start_afresh():
    rec = _run(n_generations=3)
    s = rec.artefacts["strategies"]
    new = s[(s.born == s.generation) & (s.generation > 0)]
    assert (new.parent != "").all() and len(new) == 4
    for _, row in new.iterrows():  # a mutated copy of its parent
        par = s[(s.agent == row.parent) & (s.generation == row.generation - 1)].iloc[0]
        assert abs(row.slope - par.slope) < 1.0
    fresh = _run(inheritance=False).artefacts["strategies"]
    assert (fresh.parent == "").all()


def test_world_is_registered_with_presets():
    w = get_world("donor_game")
    assert {"paper", "quick", "tiny", "baseline", "llm-quick"} <= set(w.preset_names())
    assert w.watch == ("donor/mean_resources",)
    paper = w.make_config("paper")
    assert (paper.n_agents, paper.n_generations, paper.endowment, paper.gain, paper.trace_depth) == (12, 10, 10, 2, 3)
    assert (paper.strategy, paper.score, paper.punishment, paper.llm) == ("parametric", "second", False, "local")
    q = w.make_config("llm-quick")
    assert q.strategy == "llm" and q.n_agents == 4 and q.n_generations == 2


@pytest.mark.parametrize("bad", [{"n_agents": 5}, {"n_agents": 2}, {"n_generations": 0}, {"trace_depth": 4},
                                 {"gain": 0}, {"endowment": -1}, {"punish_loss": 0}, {"mutation": -0.1},
                                 {"init_sd": -1}, {"generosity": 1.5}, {"gtft_floor": -0.1}, {"strategy": "greedy"},
                                 {"score": "first"}, {"rule": "stern"}, {"llm_decision_tokens": 0},
                                 {"llm": "http"}, {"llm_temperature": -1}, {"punishment": "maybe"}, {"rounds": 3}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("donor_game").make_config("tiny", bad)
