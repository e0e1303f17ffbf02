"""The skill_evolution world with the tiny preset: every arm and team size logs what it promises,
the library artefact names each skill once with its macro, the shared arm's library holds what
any member found, and bad configs are one clear line (exit 2)."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world


def test_tiny_logs_every_arm_and_team_size():
    rec = run_world("skill_evolution", "tiny")
    cfg = get_world("skill_evolution").make_config("tiny")
    rounds = list(range(1, cfg.n_rounds + 1))
    names = {f"{m}/{a}" for m in ("success", "steps") for a in ("shared", "isolated", "workflow")}
    names |= {f"{m}/{a}" for m in ("reuse", "library") for a in ("shared", "isolated")}
    names |= {f"team/success_n{n}" for n in cfg.team_sizes}
    assert set(rec.names) == names
    for n in names:
        steps, v = rec.series(n)
        assert steps.tolist() == rounds and np.all(np.isfinite(v)), n
        if n.split("/")[0] in ("success", "reuse", "team"):
            assert np.all((v >= 0) & (v <= 1)), n
    for arm in ("shared", "isolated"):
        assert np.all(np.diff(rec.series(f"library/{arm}")[1]) >= 0)  # skills are never forgotten
    assert rec.series(f"team/success_n{cfg.n_agents}")[1].tolist() == rec.series("success/shared")[1].tolist()
    assert np.all(rec.series("steps/workflow")[1] <= cfg.horizon)
    lib, recipes, s = rec.artefacts["library"], rec.artefacts["recipes"], rec.summary
    assert lib.skill.is_unique and len(lib) <= rec.series("library/shared")[1][-1] * cfg.n_teams
    assert all(m.endswith(f"craft {i}") for m, i in zip(lib.macro, lib.item)) and (lib["round"] >= 1).all()
    assert len(recipes) == cfg.n_levels * cfg.per_level * cfg.n_recipes
    assert set(s["rounds_to_level"]) == set(s["speedup"]) == {str(n) for n in cfg.team_sizes}
    for arm in ("shared", "isolated", "workflow"):
        assert 0 <= s[f"success_last_{arm}"] <= 1


def test_no_variation_makes_the_workflow_perfect():
    rec = run_world("skill_evolution", "tiny", vary=0.0)
    assert rec.series("success/workflow")[1].min() == 1.0
    assert rec.artefacts["library"].recipe.eq(0).all()  # only nominal recipes are ever met


def test_llm_reflection_writes_the_same_skills_when_right_and_none_when_wrong(monkeypatch):
    exact = run_world("skill_evolution", "tiny")
    rec = run_world("skill_evolution", "tiny", reflect="llm", llm="scripted")
    for n in exact.names:  # the scripted reflector copies the successful try: the same run
        assert np.array_equal(exact.series(n)[1], rec.series(n)[1]), n
    tr, s = rec.artefacts["llm_transcript"], rec.summary
    assert s["reflect_accuracy"] == 1.0 and len(tr) == s["llm_requests"] > 0 and set(tr.tag) == {"reflect"}
    assert tr.prompt.str.contains(": success, you got a").all() and np.nanmin(rec.series("reflect/shared")[1]) == 1
    from emergelab.worlds import _skill_llm

    monkeypatch.setattr(_skill_llm, "scripted_policy", lambda req: '["nothing"]')  # a reflector always wrong
    wrong = run_world("skill_evolution", "tiny", reflect="llm", llm="scripted")
    assert wrong.summary["reflect_accuracy"] == 0 and wrong.series("library/shared")[1].max() == 0
    assert len(wrong.artefacts["library"]) == 0 and wrong.series("reuse/shared")[1].max() == 0


def test_registered_with_presets():
    w = get_world("skill_evolution")
    assert {"paper", "quick", "tiny"} <= set(w.preset_names())
    p = w.make_config("paper")
    assert (p.n_agents, p.n_levels, p.team_sizes, p.reflect) == (8, 4, (1, 2, 4, 8, 16), "exact")
    q = w.make_config("llm-quick")
    assert q.reflect == "llm" and q.llm == "local"
    w.check([p, w.make_config("tiny", {"reflect": "llm", "llm": "scripted"})])


BAD = [{"n_agents": -1}, {"n_teams": 0}, {"n_rounds": 0}, {"vary": 1.5}, {"vary": -0.1}, {"level": 2},
       {"n_primitives": 13}, {"n_levels": 11}, {"recipe_size": 1}, {"recipe_size": 7}, {"n_recipes": 31},
       {"n_recipes": 6}, {"try_cost": -1}, {"team_sizes": "0,2"}, {"horizon": 0}, {"agents": 3},
       {"reflect": "oracle"}, {"llm_tokens": 0},
       {"reflect": "llm", "llm": "http"}]  # fmt: skip


@pytest.mark.parametrize("bad", BAD, ids=str)
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("skill_evolution").make_config("tiny", bad)


@pytest.mark.parametrize("arg", ["n_agents=-2", "vary=1.1", "team_sizes=4,-1"])
def test_bad_config_on_the_command_line_exits_2_with_one_line(run_cli, arg):
    rc, out, err = run_cli("run", "skill_evolution", "-p", "tiny", "-s", arg)
    assert rc == 2 and len(err.strip().splitlines()) == 1, (rc, err)
