"""The marketplace's pieces on a hand-built market of 2 customers and 3 restaurants: what each
business serves and asks, the optimum, every search algorithm's ranking, a contact round's
proposals and arrival ranks, the acceptance policies, the rank table and the LLM customer's
prompt and scripted reply."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.llm import Request
from emergelab.worlds import _market_agents as A
from emergelab.worlds import _market_llm as L
from emergelab.worlds.marketplace import rank_table


def market(markup=(0.0, 0.0, 0.0)) -> A.Market:
    menu = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [0, 1, 1, 1]], bool)  # b0 {0,1,2}, b1 {0,1}, b2 {1,2,3}
    prices = np.array([[10, 10, 10, 0], [5, 5, 0, 0], [0, 4, 4, 4]], float)
    needs = np.array([[1, 1, 0, 0], [0, 1, 1, 0]], bool)  # c0 {0,1}, c1 {1,2}
    worth = np.array([[11, 11, 0, 0], [0, 10, 10, 0]], float)
    described = np.array([[1, 0, 0, 1], [1, 1, 0, 0], [0, 1, 1, 0]], bool)  # b0 names dish 3, a decoy
    arrival = np.array([[1.0, 3.0, 2.0], [0.5, 0.2, 0.9]])
    return A.Market(needs, worth, menu, prices, np.array(markup), described, arrival)


def test_what_each_business_offers_and_the_optimum():
    m = market()
    assert m.served.tolist() == [[2, 2, 1], [2, 1, 2]]
    assert m.full.tolist() == [[True, True, False], [True, False, True]]
    assert m.price.tolist() == [[20, 10, 4], [20, 5, 8]]
    assert m.value.tolist() == [[22, 22, 11], [20, 10, 20]]
    assert m.optimal.tolist() == [12, 12] and m.best_business.tolist() == [1, 2]
    dear = market(markup=(0.0, 0.5, 0.0))  # b1 asks 15 for c0's order: still the cheapest full one
    assert dear.price[0, 1] == 15 and dear.optimal[0] == 7
    poor = A.Market(m.needs, m.worth / 4, m.menu, m.prices, m.markup, m.described, m.arrival)
    assert poor.optimal.tolist() == [0, 0] and poor.best_business.tolist() == [-1, -1]  # buying nothing is best


def test_search_algorithms_rank_as_documented():
    m, rng = market(), np.random.default_rng(0)
    # lexical: c0 matches b1 on two words, b0 and b2 on one; c1 matches b2 twice, b1 once, b0 never
    lex = A.search("lexical", m, rng, 3)
    assert lex[0, 0] == 1 and set(lex[0, 1:]) == {0, 2} and lex[1].tolist() == [2, 1, -1]
    # perfect: only those serving everything, cheapest for the order first
    assert A.search("perfect", m, rng, 3).tolist() == [[1, 0, -1], [2, 0, -1]]
    assert A.search("perfect", m, rng, 1).tolist() == [[1], [2]]
    # price: lexical matches by menu price level (relative to each dish's cheapest): b2 1, b1 1.125, b0 2.33
    assert A.search("price", m, rng, 3).tolist() == [[2, 1, 0], [2, 1, -1]]
    rnd = A.search("random", m, rng, 3)
    assert sorted(rnd[0]) == sorted(rnd[1]) == [0, 1, 2]
    orders = {tuple(A.search("random", m, np.random.default_rng(s), 3)[0]) for s in range(20)}
    assert len(orders) > 2  # the draw decides the order
    with pytest.raises(ValueError, match="unknown search"):
        A.search("semantic", m, rng, 3)


def test_a_contact_round_gets_proposals_in_arrival_order():
    m = market()
    biz = np.array([[0, 1, 2], [2, 1, -1]])
    r = A.contact(m, biz, np.array([True, True]))
    assert r.has.tolist() == [[True, True, True], [True, True, False]]
    assert r.full.tolist() == [[True, True, False], [True, False, False]]
    assert r.price.tolist() == [[20, 10, 4], [8, 5, 0]] and r.value.tolist() == [[22, 22, 11], [20, 10, 0]]
    assert r.rank.tolist() == [[1, 3, 2], [2, 1, 0]] and r.k.tolist() == [3, 2]
    assert r.acceptable.tolist() == [[True, True, False], [True, False, False]]
    # first: c0 takes b0 (first to arrive, surplus 2) over b1 (surplus 12); best takes b1
    assert A.choose("first", r, np.random.default_rng(0)).tolist() == [0, 0]
    assert A.choose("best", r, np.random.default_rng(0)).tolist() == [1, 0]
    picks = {A.choose("random", r, np.random.default_rng(s))[0] for s in range(30)}
    assert picks == {0, 1}  # either acceptable one, never the partial b2
    quiet = A.contact(m, biz, np.array([True, False]))  # c1 already bought: asks no one
    assert quiet.k.tolist() == [3, 0] and quiet.biz[1].tolist() == [-1, -1, -1]
    assert A.choose("best", quiet, np.random.default_rng(0)).tolist() == [1, -1]
    with pytest.raises(ValueError, match="unknown acceptance"):
        A.choose("cheapest", r, np.random.default_rng(0))


def test_rank_table_against_chance():
    t = rank_table(np.array([1, 2]), np.array([3, 2]), 3)
    assert t["count"].tolist() == [1, 1, 0] and t["share"].tolist() == [0.5, 0.5, 0.0]
    assert np.allclose(t["chance"], [5 / 12, 5 / 12, 1 / 6]) and np.isclose(t["chance"].sum(), 1)


def test_draw_market_guarantees_a_full_menu_per_request():
    from emergelab.worlds.marketplace import MarketplaceConfig

    cfg = MarketplaceConfig(n_customers=50, n_businesses=20)
    m = A.draw_market(cfg, np.random.default_rng(3))
    assert (m.needs.sum(1) == cfg.need_size).all() and (m.menu.sum(1) == cfg.menu_size).all()
    assert m.full.any(1).all()  # every request is served whole by someone
    assert ((m.prices > 0) == m.menu).all() and (m.worth[~m.needs] == 0).all()
    again = A.draw_market(cfg, np.random.default_rng(3))
    assert np.array_equal(again.price, m.price) and np.array_equal(again.arrival, m.arrival)


def test_llm_prompt_and_scripted_customer():
    text = L.prompt([("tacos", 12.0), ("mole", 9.0)],
                    [("Restaurant 3", ["tacos"], 5.0), ("Restaurant 1", ["tacos", "mole"], 19.0),
                     ("Restaurant 2", ["tacos", "mole"], 15.5)])  # fmt: skip
    assert "1. Restaurant 3 offers tacos for $5.00." in text and "(1 to 3), or 0 for none" in text
    req = lambda t: Request(messages=({"role": "user", "content": t},))  # noqa: E731
    assert L.scripted_policy(req(text)) == "3"  # the whole order, largest surplus (5.5)
    dear = L.prompt([("tacos", 2.0)], [("Restaurant 1", ["tacos"], 5.0)])
    assert L.scripted_policy(req(dear)) == "0"  # nothing worth its price
