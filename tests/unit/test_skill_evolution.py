"""The skill_evolution pieces on a hand-built recipe tree (primitives a, b, c; x from a+b or b+c;
y from x+a or x+c): copies needed, the steps of a known skill, a wrong skill tried first, an
exploration, the horizon, the workflow that breaks, skill names and macros, the shared library
and the time to a success level."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from emergelab.worlds import _skill_env as E
from emergelab.worlds import _skill_library as S

REC = E.Recipes(("a", "b", "c", "x", "y"), np.array([0, 0, 0, 1, 2]),
                np.array([[[-1, -1]] * 2] * 3 + [[[0, 1], [1, 2]], [[0, 3], [2, 3]]]))  # fmt: skip
CFG = SimpleNamespace(horizon=60, try_cost=3, n_candidates=5)


def _play(known, var=(0, 0), use=None, u=0.0, workflow=False, **kw):
    A, X, R = 1, 5, 2
    kn = np.zeros((A, X, R), bool)
    for x, r in known:
        kn[0, x, r] = True
    use = np.zeros((A, X, R)) if use is None else use
    v = np.array([[0, 0, 0, *var]])
    cfg = SimpleNamespace(**{**vars(CFG), **kw})
    return E.play(REC, kn, use, np.array([4]), v, np.full((A, X), u), cfg, workflow)


def test_known_skills_make_the_goal_in_tree_size_steps():
    ep = _play([(3, 0), (4, 0)])  # y = x + a, x = a + b: gather a, a, b; craft x, y
    assert ep.success.tolist() == [True] and ep.steps.tolist() == [5] and ep.reused.tolist() == [2]
    assert ep.needed.tolist() == [2] and not ep.learned.any() and ep.made[0].tolist() == [1, 1, 0, 1, 1]
    ep = _play([(3, 1), (4, 1)], var=(1, 1))  # y = x + c, x = b + c
    assert ep.steps.tolist() == [5] and ep.made[0].tolist() == [0, 1, 1, 1, 1]


def test_wrong_skill_first_costs_a_try_and_exploring_costs_tries():
    use = np.zeros((1, 5, 2))
    use[0, 3, 1] = 5  # x's second recipe has been used more: it is tried first, and fails
    ep = _play([(3, 0), (3, 1), (4, 0)], use=use)
    assert ep.steps.tolist() == [5 + 3] and ep.success.tolist() == [True]
    ep = _play([])  # nothing known, lucky explorer: one try per item
    assert ep.steps.tolist() == [3 + (3 + 1) + (3 + 1)] and ep.learned[0].tolist() == [0, 0, 0, 1, 1]
    assert ep.reused.tolist() == [0]
    ep = _play([], u=0.99)  # unlucky: the true recipe is the last of 5 candidates
    assert ep.steps.tolist() == [3 + 16 + 16]
    ep = _play([(3, 1)], var=(0, 0), u=0.99)  # x's known skill fails (1 try), then 4 candidates are left
    assert ep.steps.tolist() == [3 + (3 + 12 + 1) + 16]


def test_horizon_cuts_the_episode_and_only_made_items_are_learned():
    ep = _play([], horizon=8)  # gathers 3, x 4 (total 7), y would end at 11
    assert ep.success.tolist() == [False] and ep.steps.tolist() == [8]
    assert ep.learned[0].tolist() == [0, 0, 0, 1, 0] and ep.made[0].tolist() == [1, 1, 0, 1, 0]


def test_workflow_breaks_when_a_recipe_varies():
    ep = _play([(3, 0), (4, 0)], workflow=True)
    assert ep.success.tolist() == [True] and ep.steps.tolist() == [5]
    ep = _play([(3, 0), (4, 0)], var=(1, 0), workflow=True)
    assert ep.success.tolist() == [False] and not ep.learned.any()
    assert ep.steps.tolist() == [3 + 1]  # gathers a, b, c, the failed craft of x, then it stops


def test_recipes_names_and_macros():
    cfg = SimpleNamespace(n_primitives=5, n_levels=3, per_level=3, n_recipes=2, recipe_size=2)
    rec = E.draw_recipes(cfg, np.random.default_rng(0))
    assert rec.n_items == 14 and rec.level.tolist() == [0] * 5 + [1] * 3 + [2] * 3 + [3] * 3
    for x in rec.crafted:
        sets = [frozenset(rec.recipe[x, r]) for r in range(2)]
        assert sets[0] != sets[1] and all(len(s) == 2 for s in sets)
        for r in range(2):
            lv = rec.level[rec.recipe[x, r]]
            assert lv.max() == rec.level[x] - 1 and (lv < rec.level[x]).all()
    assert E.skill_name(REC, 3, 0) == "make_x" and E.skill_name(REC, 4, 1) == "make_y_v2"
    assert E.skill_body(REC, 4, 0) == "gather_a ; make_x ; craft y"


def test_a_shared_library_pools_what_its_members_learn():
    cfg = SimpleNamespace(horizon=60, try_cost=3, n_candidates=5, n_rounds=2, n_recipes=2, vary=0.0)
    d = S.draw(cfg, REC, 2, np.random.default_rng(0))
    d.var[0, 1, 3] = 1  # in round 1 agent 1's x is made the other way
    shared = S.evolve(cfg, REC, d, 2, 2)
    alone = S.evolve(cfg, REC, d, 2, 1)
    assert shared.library.tolist() == [3, 3]  # x both ways and y, known to both after round 1
    assert alone.library.tolist() == [2, 2.5]  # agent 1 must still find x's nominal recipe itself in round 2
    assert shared.reuse[1] == 1.0 and {dd[2:] for dd in shared.discoveries} == {(3, 0), (3, 1), (4, 0)}
    wf = S.evolve(cfg, REC, d, 2, 1, workflow=True)
    assert wf.success.tolist() == [0.5, 1.0] and wf.library.tolist() == [2, 2]


def test_rounds_to_level():
    c = np.array([0, 0.5, 0.9, 0.9, 1.0, 0.2])
    assert S.rounds_to(c, 0.8, 1) == 3 and S.rounds_to(c, 0.8, 2) == 4 and S.rounds_to(c, 0.99, 2) is None
    assert S.rounds_to(c, 0.5, 10) == 6  # a window longer than the curve: the whole curve's mean
    with pytest.raises(TypeError):
        S.rounds_to(c)


def test_reflection_prompt_and_scripted_stand_in():
    from emergelab.llm import Request
    from emergelab.worlds import _skill_llm as L

    p = L.prompt("axe", [(["stone", "wood"], False), (["blade", "stick"], True)])
    assert "- tried stone + wood: failed\n- tried blade + stick: success, you got a axe" in p
    assert L.scripted_policy(Request(messages=({"role": "user", "content": p},))) == '["blade", "stick"]'
    assert L.scripted_policy(Request(messages=({"role": "user", "content": "no trace"},))) == "[]"
