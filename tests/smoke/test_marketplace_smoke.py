"""The marketplace runs every search algorithm and acceptance policy with the tiny preset (the
LLM customer through the scripted backend), logs what it promises, keeps the market fixed
across searches and policies of a seed, counts messages and welfare consistently, and rejects
bad configs with a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world

ROUND = {"market/welfare_ratio", "market/needs_met", "market/items_met", "market/paid_share",
         "market/messages_per_customer"}  # fmt: skip
BIAS = {"market/first_share", "market/chance_first", "market/mean_rank", "market/chance_rank"}
KINDS = [(s, a) for s in ("lexical", "random", "price", "perfect") for a in ("first", "best", "random")]


def _run(**kw):
    return run_world("marketplace", "tiny", **kw)


@pytest.mark.parametrize("search,accept", KINDS + [("lexical", "llm")], ids=lambda x: x)
def test_tiny_logs_everything(search, accept):
    extra = {"llm": "scripted"} if accept == "llm" else {}
    rec = _run(search=search, accept=accept, **extra)
    cfg = get_world("marketplace").make_config("tiny")
    R, C = cfg.max_rounds, cfg.n_customers
    assert ROUND <= set(rec.names)
    for name in ROUND:
        steps, values = rec.series(name)
        assert steps.tolist() == list(range(R)) and np.all(np.isfinite(values)), name
    for name in ("market/needs_met", "market/items_met", "market/paid_share"):
        v = rec.series(name)[1]
        assert np.all((v >= 0) & (v <= 1)) and np.all(np.diff(v) >= 0), name  # cumulative shares
    orders, ranks, s = rec.artefacts["orders"], rec.artefacts["ranks"], rec.summary
    assert len(orders) == C and len(ranks) == cfg.contact_n
    assert s["search"] == search and s["accept"] == accept
    assert np.isclose(s["welfare"], orders.welfare.sum()) and np.isclose(s["optimal_welfare"], orders.optimal.sum())
    assert np.isclose(s["welfare_ratio"], s["welfare"] / s["optimal_welfare"])
    paid = orders[orders.business >= 0]
    assert ranks["count"].sum() == len(paid) and np.isclose(s["paid_share"], len(paid) / C)
    if len(paid):
        assert BIAS <= set(rec.names) and 0 <= s["first_share"] <= 1 and 0 < s["chance_first"] <= 1
        assert ((paid.arrival_rank >= 1) & (paid.arrival_rank <= paid.proposals)).all()
        assert np.isclose(ranks.chance.sum(), 1) and np.isclose(s["first_share"], ranks.share[0])
    assert (orders.messages == 2 * (orders.messages // 2) + (orders.business >= 0)).all()  # asks + replies + payment
    if accept != "llm":  # scripted customers pay only for a whole order worth its price
        assert paid.whole_request.all() and (paid.welfare >= -1e-9).all()
        assert (orders.welfare <= orders.optimal + 1e-9).all()


def test_same_market_for_every_search_and_policy():
    runs = [_run(search=s, accept=a, n_customers=30, n_businesses=20) for s, a in KINDS]
    opt = [r.artefacts["orders"][["request", "optimal"]] for r in runs]
    assert all(o.equals(opt[0]) for o in opt)  # paired comparisons
    perfect = [r.summary for r, (s, a) in zip(runs, KINDS) if s == "perfect"]
    assert all(p["search_recall"] == 1.0 and p["optimal_found"] == 1.0 for p in perfect)
    best = [r.summary for r, (s, a) in zip(runs, KINDS) if a == "best"]
    assert max(b["welfare_ratio"] for b in best) == pytest.approx(1.0)  # perfect + best
    assert runs[1].summary["welfare"] != _run(search="lexical", accept="best", seed=1).summary["welfare"]


def test_llm_customers_batch_and_replay():
    rec = _run(accept="llm", llm="scripted", n_customers=20, n_businesses=15)
    tr = rec.artefacts["llm_transcript"]
    assert set(tr.tag) == {"accept"} and rec.summary["llm_parse_failures"] == 0
    assert rec.series("llm/requests")[1].sum() == len(tr) == rec.summary["llm_requests"]
    assert tr.prompt.str.contains("in the order they arrived").all()
    best = _run(accept="best", n_customers=20, n_businesses=15)  # the scripted LLM picks the largest surplus
    assert rec.summary["welfare"] == pytest.approx(best.summary["welfare"], rel=1e-3)
    again = _run(accept="llm", llm="scripted", n_customers=20, n_businesses=15)
    assert again.artefacts["llm_transcript"].seed.tolist() == tr.seed.tolist()


def test_world_is_registered_with_presets():
    w = get_world("marketplace")
    assert {"paper", "quick", "tiny", "llm-quick"} <= set(w.preset_names())
    paper = w.make_config("paper")
    assert (paper.n_customers, paper.n_businesses, paper.search, paper.accept) == (33, 99, "lexical", "first")
    q = w.make_config("llm-quick")
    assert q.accept == "llm" and q.llm == "local"
    w.check([paper, w.make_config("tiny", {"accept": "llm", "llm": "scripted"})])


@pytest.mark.parametrize("bad", [{"n_customers": 0}, {"need_size": 9, "menu_size": 8}, {"menu_size": 30},
                                 {"n_items": 41}, {"cost_lo": 0}, {"cost_lo": 30}, {"value_lo": 2.0},
                                 {"markup": -0.1}, {"describe": 1.5}, {"decoy": -0.1}, {"jitter": -1},
                                 {"contact_n": 0}, {"max_rounds": 0}, {"search": "semantic"}, {"accept": "cheapest"},
                                 {"llm": "http"}, {"shops": 3}])  # fmt: skip
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("marketplace").make_config("tiny", bad)


def test_sweep_section_tabulates_each_grid_point():
    import pandas as pd

    from emergelab.worlds.marketplace import sweep_section

    rows = []
    for accept in ("first", "best"):
        for seed in (0, 1):
            s = _run(accept=accept, seed=seed, search="perfect").summary
            rows.append({"config.accept": accept, "config.seed": seed, **{f"summary.{k}": v for k, v in s.items()}})
    sec = sweep_section(None, pd.DataFrame(rows), {"accept": ["first", "best"], "seed": [0, 1]})
    (table,) = sec["tables"]
    assert table["columns"][:3] == ["accept", "runs", "welfare / optimal"]
    cells = {r["cells"][0]["text"]: [c["text"] for c in r["cells"]] for r in table["rows"]}
    assert set(cells) == {"first", "best"} and cells["best"][2].startswith("1.000 ±")  # perfect + best: optimal
    assert cells["first"][5] == "1"  # perfect + first: always the first arrival
