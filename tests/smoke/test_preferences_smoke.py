"""The preferences world runs both choosers with the tiny preset (the LLM through the scripted
backend), logs what it promises every round, keeps its pair budget and held-out set, and
rejects bad configs with a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world
from emergelab.measures.utilities import pair_index
from emergelab.worlds import _preferences_llm as L
from emergelab.worlds import preferences as pw

NAMES = {"pref/pairs", "pref/heldout_acc", "pref/cyclic_triads", "pref/corr_hidden"}


@pytest.mark.parametrize("kind", [{}, {"sampling": "random"}, {"n_lotteries": 4}, {"position_bias": 0.5},
                                  {"chooser": "llm", "llm": "scripted"},
                                  {"chooser": "llm", "llm": "scripted", "n_lotteries": 3}])  # fmt: skip
def test_tiny_logs_every_round(kind):
    rec = run_world("preferences", "tiny", **kind)
    cfg = get_world("preferences").make_config("tiny", kind)
    n = cfg.n_outcomes + cfg.n_lotteries
    assert NAMES <= set(rec.names)
    steps, pairs = rec.series("pref/pairs")
    assert steps.tolist() == list(range(cfg.rounds))
    assert pairs[0] == n and pairs[-1] == pw.budget(cfg) and np.all(np.diff(pairs) > 0)
    for name in ("pref/heldout_acc", "pref/corr_hidden"):
        v = rec.series(name)[1]
        assert np.all(np.isfinite(v)) and np.all(np.abs(v) <= 1), name
    cyc = rec.series("pref/cyclic_triads")[1]
    assert np.all(np.isnan(cyc) | ((cyc >= 0) & (cyc <= 1)))
    assert ("pref/eu_corr" in rec.names) == (cfg.n_lotteries > 0)
    util, ch = rec.artefacts["utilities"], rec.artefacts["choices"]
    assert len(util) == n and np.isclose(util.mu.mean(), 0) and np.isclose(util.mu.std(ddof=0), 1)
    assert util.degree.sum() == 2 * pairs[-1]
    held, fitted = ch[ch.heldout], ch[~ch.heldout]
    assert len(held) == cfg.n_holdout and len(fitted) == pairs[-1]
    ids = pair_index(n, ch.i.to_numpy(), ch.j.to_numpy())
    assert len(np.unique(ids)) == len(ch)  # no pair asked twice, none held out and fitted
    assert np.all(ch.wins <= ch.totals) and np.all(ch.totals <= 2 * cfg.samples)
    s = rec.summary
    assert s["final_pairs"] == pairs[-1] and s["final_heldout_acc"] == rec.series("pref/heldout_acc")[1][-1]


def test_llm_chooser_asks_both_orders_and_logs_its_calls():
    rec = run_world("preferences", "tiny", chooser="llm", llm="scripted")
    cfg = get_world("preferences").make_config("tiny")
    tr = rec.artefacts["llm_transcript"]
    assert len(tr) == (pw.budget(cfg) + cfg.n_holdout) * 2 * cfg.samples
    assert rec.series("llm/requests")[1].sum() == len(tr) and rec.summary["llm_parse_failures"] == 0
    assert tr.prompt.str.contains("Which implied state of the world would you prefer?").all()
    first = tr.prompt.str.extract(r"Option A:\n(.*)\n\nOption B", expand=False)
    second = tr.prompt.str.extract(r"Option B:\n(.*)\n\nPlease", expand=False)
    # every pair shown both ways round, equally often
    assert sorted(zip(first, second)) == sorted(zip(second, first))
    assert set(first) <= set(L.OUTCOMES)
    again = run_world("preferences", "tiny", chooser="llm", llm="scripted")
    other = run_world("preferences", "tiny", chooser="llm", llm="scripted", seed=1)
    assert again.artefacts["llm_transcript"].reply.tolist() == tr.reply.tolist()
    assert other.artefacts["llm_transcript"].prompt.tolist() != tr.prompt.tolist()


def test_scripted_stand_in_knows_its_utilities():
    assert len(L.OUTCOMES) == pw.N_TEXTS == len(set(L.OUTCOMES))
    assert L.utility("You receive $10,000.") > L.utility("You receive $5.") > 0 > L.utility("You must pay a fine of $5.")
    lot = L.lottery_text(0.3, "You receive $5.", "You receive $10,000.")
    assert L.utility(lot) == pytest.approx(0.3 * L.utility("You receive $5.") + 0.7 * L.utility("You receive $10,000."))
    req = L.Request(messages=({"role": "user", "content": L.prompt("You receive $10,000.", "You receive $5.")},),
                    seed=1)  # fmt: skip
    assert L.scripted_policy(req) == "A"
    with pytest.raises(KeyError):
        L.utility("You receive a pony.")


def test_synthetic_choices_follow_the_model():
    rng = np.random.default_rng(0)
    mu, sigma = np.array([0.0, 1.0]), np.array([0.5, 0.5])
    i, j = np.zeros(4000, int), np.ones(4000, int)
    w, t = pw.synthetic_choices(rng, mu, sigma, i, j, 2, 0.0)
    assert np.all(t == 4) and w.sum() / t.sum() == pytest.approx(0.0786, abs=0.01)  # Phi(-1 / sqrt(0.5))
    w, t = pw.synthetic_choices(rng, mu, sigma, i, j, 2, 1.0)  # always the first shown: i in half the choices
    assert np.all(w == 2)


def test_check_and_bad_configs():
    w = get_world("preferences")
    w.check([w.make_config("tiny"), w.make_config("tiny", {"chooser": "llm", "llm": "scripted"})])
    for bad, msg in [({"chooser": "llm", "n_outcomes": 49}, "n_outcomes <= 48"), ({"n_outcomes": 3}, "at least 4"),
                     ({"scale": 0}, "scale must be > 0"), ({"n_holdout": 18}, "n_holdout <= 17"),
                     ({"n_lotteries": 1}, "n_lotteries"), ({"position_bias": 2}, "position_bias"),
                     ({"samples": 0}, "samples"), ({"rounds": 1}, "rounds")]:  # fmt: skip
        with pytest.raises((UserError, ValueError), match=msg):
            w.make_config("tiny", bad)


def test_a_chooser_that_never_answers_stops_with_one_line(monkeypatch):
    monkeypatch.setattr(L, "scripted_policy", lambda req: "I like both")
    with pytest.raises(UserError, match="no valid answer") as e:
        run_world("preferences", "tiny", chooser="llm", llm="scripted")
    assert "\n" not in str(e.value)
