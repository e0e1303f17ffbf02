"""The marketplace's economy, search engines and scripted agents, as customer x business arrays.

A market (Magentic Marketplace, Bansal et al. 2025, arXiv 2510.25779: restaurants with menus,
customers with a request) is drawn once per seed from its own random stream, so every search
algorithm and acceptance policy of a seed plays the same market: their differences are paired.

Everything a customer could learn from any business is precomputed as (C, B) matrices, so a
search is one argsort over all customers and a contact round is fancy indexing:
  served[c, b]  requested items business b serves      full[c, b]   b serves all of them
  value[c, b]   the customer's value of those items    price[c, b]  what b would ask for them
  arrival[c, b] when b's reply to c arrives (the business's speed + per-message jitter)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# dish names: one word each, so a lexical query word matches a description word exactly
ITEMS = ("tacos", "burrito", "enchiladas", "quesadilla", "tamales", "churros", "nachos", "guacamole", "pozole",
         "mole", "fajitas", "tostada", "elote", "flan", "horchata", "sopes", "chilaquiles", "carnitas", "barbacoa",
         "birria", "empanada", "torta", "menudo", "ceviche", "gordita", "huarache", "pambazo", "molletes",
         "flautas", "chalupa", "cochinita", "tlayuda", "salsa", "frijoles", "arroz", "champurrado", "paleta",
         "tepache", "michelada", "sopaipilla")  # fmt: skip
SEARCHES = ("lexical", "random", "price", "perfect")
POLICIES = ("first", "best", "random")  # scripted; "llm" lives in _market_llm


@dataclass
class Market:
    needs: np.ndarray  # (C, V) bool: the items each customer requests
    worth: np.ndarray  # (C, V) the customer's value of each requested item (0 elsewhere)
    menu: np.ndarray  # (B, V) bool: the items each business serves
    prices: np.ndarray  # (B, V) its list price of each item (0 where not served)
    markup: np.ndarray  # (B,) fraction a business adds to its list prices when it proposes
    described: np.ndarray  # (B, V) bool: the item words in its description (lexical search reads these)
    arrival: np.ndarray  # (C, B) time at which b's reply to c would arrive

    def __post_init__(self) -> None:
        need = self.needs.astype(float)
        self.n_need = need.sum(1)  # (C,)
        self.served = need @ self.menu.T.astype(float)  # (C, B) count of requested items served
        self.full = self.served == self.n_need[:, None]
        self.value = (self.needs * self.worth) @ self.menu.T.astype(float)
        self.price = need @ (self.prices * (1 + self.markup)[:, None]).T
        self.total = self.worth.sum(1)  # (C,) value of the whole request
        surplus = np.where(self.full, self.total[:, None] - self.price, -np.inf)
        self.optimal = np.maximum(surplus.max(1), 0.0)  # cheapest business offering everything, or buy nothing
        self.best_business = np.where(surplus.max(1) >= 0, surplus.argmax(1), -1)


def draw_market(cfg, rng: np.random.Generator) -> Market:
    """Items with base costs; each business serves menu_size of them at base x (1 + U(0, price_spread));
    each customer requests need_size items of one business's menu (so someone serves everything)
    and values each at base x (1 + U(value_lo, value_hi))."""
    C, B, V = cfg.n_customers, cfg.n_businesses, cfg.n_items
    base = rng.uniform(cfg.cost_lo, cfg.cost_hi, V)
    menu = _pick(rng.random((B, V)), cfg.menu_size)
    prices = np.where(menu, base * (1 + rng.uniform(0, cfg.price_spread, (B, V))), 0.0)
    markup = rng.uniform(0, cfg.markup, B)
    anchor = rng.integers(B, size=C)  # whose menu the request is drawn from
    needs = _pick(np.where(menu[anchor], rng.random((C, V)), np.inf), cfg.need_size)
    worth = np.where(needs, base * (1 + rng.uniform(cfg.value_lo, cfg.value_hi, (C, V))), 0.0)
    # descriptions mention most of the menu and, keyword-stuffed, a few dishes not served
    described = np.where(menu, rng.random((B, V)) < cfg.describe, rng.random((B, V)) < cfg.decoy)
    speed = rng.lognormal(0.0, cfg.speed_spread, B)  # some businesses always answer faster
    arrival = speed[None, :] + rng.exponential(cfg.jitter, (C, B)) if cfg.jitter > 0 else np.tile(speed, (C, 1))
    return Market(needs, worth, menu, prices, markup, described, arrival)


def _pick(keys: np.ndarray, k: int) -> np.ndarray:
    """(N, V) bool with True at each row's k smallest keys (finite keys only)."""
    idx = np.argsort(keys, axis=1, kind="stable")[:, :k]
    out = np.zeros(keys.shape, bool)
    np.put_along_axis(out, idx, True, axis=1)
    return out & np.isfinite(keys)


# -- search: every customer's ranked results at once ------------------------------------------
def search(kind: str, m: Market, rng: np.random.Generator, limit: int) -> np.ndarray:
    """(C, limit) business indices, best first, -1 where the engine returns fewer.
    lexical: descriptions matching most query words (the requested item names) first, only
    businesses matching at least one; random: any businesses; price: lexical matches, cheapest
    menu (mean list price relative to the item's cheapest) first; perfect: exactly the businesses
    that serve everything, cheapest for this order first. Ties break at random."""
    C, B = m.arrival.shape
    tie = rng.random((C, B))  # in [0, 1): never overturns a whole word of lexical score
    words = m.needs.astype(float) @ m.described.T.astype(float)  # (C, B) query words matched
    if kind == "lexical":
        key, ok = -words + tie, words > 0
    elif kind == "random":
        key, ok = tie, np.ones((C, B), bool)
    elif kind == "price":
        cheapest = np.where(m.menu, m.prices, np.inf).min(0)  # per item
        rel = np.where(m.menu, m.prices / np.where(np.isfinite(cheapest), cheapest, 1.0), np.nan)
        level = np.nanmean(rel, 1)  # (B,) how dear the business is, whatever it serves
        key, ok = level[None, :] + 1e-9 * tie, words > 0
    elif kind == "perfect":
        key, ok = m.price + 1e-9 * tie, m.full
    else:
        raise ValueError(f"unknown search {kind!r}: one of {', '.join(SEARCHES)}")
    order = np.argsort(np.where(ok, key, np.inf), axis=1, kind="stable")[:, :limit]
    return np.where(np.take_along_axis(ok, order, 1), order, -1)


# -- one contact round ----------------------------------------------------------------------
@dataclass
class Round:
    """What the customers contacted in one round got back, (C, n) aligned with `biz` (-1: no one)."""

    biz: np.ndarray  # businesses contacted
    has: np.ndarray  # the business proposed (it serves at least one requested item)
    full: np.ndarray  # the proposal covers the whole request
    price: np.ndarray
    value: np.ndarray  # the customer's value of the proposal's items
    arrival: np.ndarray  # inf: no proposal
    rank: np.ndarray  # arrival rank among the customer's proposals this round (1 = first); 0: none
    k: np.ndarray  # (C,) proposals received this round

    @property
    def surplus(self) -> np.ndarray:
        return self.value - self.price

    @property
    def acceptable(self) -> np.ndarray:
        """What a scripted customer would pay for: everything requested, for no more than it is worth."""
        return self.has & self.full & (self.surplus >= -1e-9)


def contact(m: Market, biz: np.ndarray, active: np.ndarray) -> Round:
    """Customers in `active` message the businesses `biz` (C, n); each business with any requested
    item proposes them at its list prices plus its markup; the others answer that they cannot."""
    C = len(biz)
    rows = np.arange(C)[:, None]
    b = np.where(biz >= 0, biz, 0)
    sent = (biz >= 0) & active[:, None]
    has = sent & (m.served[rows, b] > 0)
    arrival = np.where(has, m.arrival[rows, b], np.inf)
    order = np.argsort(arrival, axis=1, kind="stable")
    rank = np.zeros(biz.shape, int)
    np.put_along_axis(rank, order, np.arange(1, biz.shape[1] + 1)[None, :].repeat(C, 0), axis=1)
    rank = np.where(has, rank, 0)
    return Round(np.where(sent, biz, -1), has, has & m.full[rows, b], np.where(has, m.price[rows, b], 0.0),
                 np.where(has, m.value[rows, b], 0.0), arrival, rank, has.sum(1))  # fmt: skip


def choose(policy: str, r: Round, rng: np.random.Generator) -> np.ndarray:
    """(C,) column of the accepted proposal in the round, -1 for none. first: the first acceptable
    to arrive (a customer that stops at the first good offer); best: the largest surplus (ties:
    the earlier); random: any acceptable one (the no-bias control)."""
    ok = r.acceptable
    if policy == "first":
        key = r.arrival
    elif policy == "best":
        key = -r.surplus + 1e-12 * r.rank  # the earlier of equal offers
    elif policy == "random":
        key = rng.random(ok.shape)
    else:
        raise ValueError(f"unknown acceptance policy {policy!r}: one of {', '.join(POLICIES)}")
    j = np.argmin(np.where(ok, key, np.inf), axis=1)
    return np.where(ok.any(1), j, -1)
