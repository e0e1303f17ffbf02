"""lab/sweep + executors: planning, seeds, skipping completed runs, failures, analysis."""

import pytest

from emergelab.errors import UserError
from emergelab.lab.executors import run_specs
from emergelab.lab.sweep import derive_seeds, parse_grid, plan, sweep_id


def test_plan_expands_grid_times_seeds():
    specs = plan("toy", "quick", {"noise": "0.02"}, {"jump_at": ["30", "60"], "mode": ["up", "down"]}, seeds=3)
    assert len(specs) == 12 and len({s.run_id for s in specs}) == 12
    assert {s.labels["jump_at"] for s in specs} == {30, 60}
    assert all(s.config["noise"] == 0.02 and s.config["steps"] == 100 for s in specs)
    # same plan, same ids and seeds: this is what makes sweeps resumable
    assert [s.run_id for s in specs] == [s.run_id for s in plan("toy", "quick", {"noise": "0.02"},
                                                                 {"jump_at": ["30", "60"], "mode": ["up", "down"]}, 3)]
    assert sorted({s.seed for s in specs}) == sorted(derive_seeds(0, 3))


def test_seeds_are_spawned_from_the_root():
    assert derive_seeds(0, 3) == derive_seeds(0, 3)
    assert derive_seeds(0, 3) != derive_seeds(1, 3)
    assert len(set(derive_seeds(0, 100))) == 100
    assert plan("toy", seeds=None)[0].seed == 0  # no --seeds: the config's seed as given


def test_plan_validates_before_running():
    with pytest.raises(UserError, match="unknown key 'jmp'"):
        plan("toy", grid={"jmp": ["1"]})
    with pytest.raises(UserError, match="bad value 'x' for 'jump_at'"):
        plan("toy", grid={"jump_at": ["10", "x"]})
    with pytest.raises(UserError, match="at least 1"):
        plan("toy", seeds=0)
    with pytest.raises(UserError, match="key=v1,v2"):
        parse_grid(["jump_at"])


def test_sweep_id_is_deterministic():
    assert sweep_id("toy", None, {}, {"a": ["1"]}, 2) == sweep_id("toy", None, {}, {"a": ["1"]}, 2)
    assert sweep_id("toy", None, {}, {"a": ["1"]}, 2) != sweep_id("toy", None, {}, {"a": ["1"]}, 3)


def test_serial_sweep_runs_stores_and_resumes(store):
    specs = plan("toy", "quick", grid={"jump_at": ["30", "60"]}, seeds=2)
    out = run_specs(specs[:2], store, executor="serial", progress=False)
    assert len(out.done) == 2 and not out.failed
    out = run_specs(specs, store, executor="serial", progress=False)  # resume: only the rest run
    assert len(out.skipped) == 2 and len(out.done) == 2
    runs = store.runs()
    assert len(runs) == 4 and set(runs["config.jump_at"]) == {30, 60}
    summ = store.run_meta(specs[0].run_id)["summary"]
    (t,) = summ["transitions"]["toy/y"]  # the lab detected the jump of the watched metric
    assert abs(t["midpoint"] - specs[0].labels["jump_at"]) < 8
    assert summ["wall_s"] >= 0 and "final" in summ


def test_same_seed_same_numbers(store):
    (spec,) = plan("toy", "quick", {"seed": "7"})
    run_specs([spec], store, executor="serial", progress=False)
    first = store.metrics([spec.run_id])
    run_specs([spec], store, executor="serial", progress=False, replace=True)
    assert store.metrics([spec.run_id]).equals(first)


def test_unknown_executor(store):
    with pytest.raises(UserError, match="unknown executor 'gpu'"):
        run_specs(plan("toy"), store, executor="gpu")


def test_grid_values_that_are_lists_go_in_brackets():
    from emergelab.lab.sweep import parse_grid, plan

    g = parse_grid(["clamp=(),(a),(a,b)", "lr=0.1,0.2"])
    assert g == {"clamp": ["()", "(a)", "(a,b)"], "lr": ["0.1", "0.2"]}
    specs = plan("phase_change_toy", "tiny", {}, {"clamp": g["clamp"]}, 1)
    assert [s.labels["clamp"] for s in specs] == [(), ("a",), ("a", "b")]
    assert len({s.run_id for s in specs}) == 3
    with pytest.raises(UserError, match="unbalanced brackets"):
        parse_grid(["clamp=(a,b"])
    with pytest.raises(UserError, match="unbalanced brackets"):
        parse_grid(["clamp=a),b"])
