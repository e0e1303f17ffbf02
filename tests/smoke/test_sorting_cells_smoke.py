"""The sorting_cells world runs every policy and mode in milliseconds, logs what it promises,
is deterministic given its seed, sorts small undamaged arrays completely, and respects damage."""

from __future__ import annotations

import typing

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.recorder import Recorder
from emergelab.lab.sweep import run_world
from emergelab.lab.registry import get_world
from emergelab.measures import sorting as M
from emergelab.worlds import sorting_cells as S

NAMES = {"sort/sortedness", "sort/monotonicity_error", "sort/spearman", "sort/aggregation", "sort/swaps"}
CASES = [(a, m) for a in S.ALGOTYPES for m in ("cell", "topdown")]


def _run(preset: str = "tiny", **overrides) -> Recorder:
    return run_world("sorting_cells", preset, **overrides)


@pytest.mark.parametrize("algo,mode", CASES)
def test_tiny_sorts_completely_and_logs_everything(algo, mode):
    rec = _run(algotypes=(algo,), mode=mode)
    assert set(rec.names) == NAMES
    steps, err = rec.series("sort/monotonicity_error")
    s = rec.summary
    assert steps[0] == 0 and steps[-1] == s["steps"] and np.all(np.diff(steps) > 0)
    for name in NAMES:
        assert np.array_equal(rec.series(name)[0], steps) and np.all(np.isfinite(rec.series(name)[1])), name
    assert s["sorted"] and s["finished"] and not s["stalled"] and s["final_sortedness"] == 1.0
    assert err[-1] == 0 and rec.series("sort/spearman")[1][-1] == 0
    assert rec.artefacts["final_values"].tolist() == list(range(12))
    errors = rec.artefacts["errors"]
    assert errors.size == s["swaps"] + 1 and errors[-1] == 0 and errors[0] == err[0]
    assert rec.series("sort/swaps")[1][-1] == s["swaps"]
    assert {"delayed_gratification", "peak_aggregation", "end_aggregation", "steps"} <= set(s)
    assert rec.artefacts["progress_aggregation"].shape == (101,)
    assert ("same_mover_fraction" in s) == (mode == "cell")


@pytest.mark.parametrize("algo,mode", CASES)
def test_same_seed_same_run_other_seed_other_run(algo, mode):
    a, b, c = (_run("quick", algotypes=(algo,), mode=mode, seed=seed) for seed in (0, 0, 1))
    for name in NAMES:
        assert np.array_equal(a.series(name)[1], b.series(name)[1]), name
    assert a.summary == b.summary
    assert not np.array_equal(a.series("sort/spearman")[1], c.series("sort/spearman")[1])


def test_logged_curves_are_the_measures_of_the_rows():
    rec = _run("quick", algotypes=("bubble", "selection"), log_every=3)
    steps, srt = rec.series("sort/sortedness")
    assert steps[:4].tolist() == [0, 3, 6, 9]                         # every 3rd sweep (and the last)
    err = rec.series("sort/monotonicity_error")[1]
    n = 50
    assert np.allclose(srt, 1 - err / (n - 1))
    cfg = get_world("sorting_cells").make_config("quick", {"algotypes": ("bubble", "selection")})
    values, _, labels, _, _ = S.initial_state(cfg)
    assert err[0] == M.monotonicity_error(values)
    assert rec.series("sort/spearman")[1][0] == M.spearman_distance(values)
    assert rec.series("sort/aggregation")[1][0] == pytest.approx(M.aggregation(labels))
    assert rec.summary["start_aggregation"] == pytest.approx(M.aggregation(labels))


@pytest.mark.parametrize("algos", [("bubble", "insertion"), ("insertion", "selection"), S.ALGOTYPES])
def test_chimeric_arrays_sort(algos):
    rec = _run("quick", algotypes=algos)
    assert rec.summary["sorted"]
    labels = rec.artefacts["final_labels"]
    assert sorted(np.bincount(labels).tolist()) in ([16, 17, 17], [25, 25])  # equal shares ride along


@pytest.mark.parametrize("algo", S.ALGOTYPES)
def test_duplicates_sort(algo):
    rec = _run("quick", algotypes=(algo,), duplicates=True, levels=5)
    final = rec.artefacts["final_values"]
    assert rec.summary["sorted"] and np.all(np.diff(final) >= 0) and set(final.tolist()) <= set(range(5))


@pytest.mark.parametrize("kind", ["movable", "immovable"])
@pytest.mark.parametrize("algo,mode", CASES)
def test_damage_is_respected(algo, mode, kind):
    cfg = get_world("sorting_cells").make_config("quick", {"algotypes": (algo,), "mode": mode, "frozen": 4,
                                                           "frozen_kind": kind, "seed": 3})
    values, _, _, damage, _ = S.initial_state(cfg)
    rec = _run("quick", algotypes=(algo,), mode=mode, frozen=4, frozen_kind=kind, seed=3)
    final, at = rec.artefacts["final_values"], rec.artefacts["frozen_positions"]
    assert sorted(final.tolist()) == sorted(values)                       # a permutation of the start
    assert at.size == 4 and rec.summary["n_frozen"] == 4
    if kind == "immovable":                                               # never moved
        assert at.tolist() == np.flatnonzero(damage).tolist()
        assert final[at].tolist() == np.asarray(values)[at].tolist()
    assert rec.summary["final_sortedness"] < 1.0 or rec.summary["sorted"]


@pytest.mark.parametrize("algo,schedule", [("bubble", (False, 1.0)), ("bubble", (True, 1.0)),
                                           ("bubble", (True, 6.0)), ("insertion", (False, 1.0))])
def test_one_policy_fast_sweeps_make_the_same_moves(algo, schedule):
    replace, burst_mean = schedule
    for kind, frozen, seed in [("movable", 0, 0), ("movable", 4, 1), ("immovable", 3, 2), ("movable", 8, 3)]:
        cfg = get_world("sorting_cells").make_config("quick", {"algotypes": (algo,), "frozen": frozen,
                                                               "frozen_kind": kind, "seed": seed})
        runs = []
        for fast in (True, False):
            values, kinds, _, damage, rng = S.initial_state(cfg)
            row = S.Row(values, damage, track_bad=algo == "insertion")
            out = S.cell_sort(row, kinds, rng, 2500, lambda step: None, fast=fast, replace=replace,
                              burst_mean=burst_mean)
            runs.append((out, row.moves, row.movers, row.errors))
        assert runs[0] == runs[1], (kind, frozen, seed)


def test_progress_curve_is_the_reference_metric_after_every_swap():
    # replay every swap, measure as the reference does (divided by n) and take its 101 points
    cfg = get_world("sorting_cells").make_config("quick", {"algotypes": ("bubble", "selection"),
                                                           "activation": "burst", "seed": 4})
    rec = _run("quick", algotypes=("bubble", "selection"), activation="burst", seed=4)
    values, kinds, labels, damage, rng = S.initial_state(cfg)
    row = S.Row(values, damage)
    S.cell_sort(row, kinds, rng, 2500, lambda step: None, replace=True, burst_mean=cfg.burst_mean)
    per_swap = M.aggregation(np.asarray(labels)[row.replay(list(range(1, len(row.moves) + 1)))], over="cells")
    curve = rec.artefacts["progress_aggregation"]
    assert np.allclose(curve, M.progress_curve(per_swap))
    assert rec.summary["progress_peak_aggregation"] == pytest.approx(curve.max())
    assert curve[-1] == pytest.approx(rec.summary["end_aggregation"] * 49 / 50)   # the sorted row, / n


def test_duplicates_copies_layout_is_equal_shares():
    w = get_world("sorting_cells")
    values = S.initial_state(w.make_config("duplicates"))[0]
    assert np.bincount(values).tolist() == [20] * 10                     # the reference: 20 copies of 10
    drawn = S.initial_state(w.make_config("duplicates", {"value_layout": "draws"}))[0]
    assert len(drawn) == 200 and np.bincount(drawn).tolist() != [20] * 10


def test_frozen_fraction_and_presets():
    w = get_world("sorting_cells")
    assert w.make_config("tiny", {"frozen_fraction": 0.25}).n_frozen == 3
    for preset in w.preset_names():
        assert w.make_config(preset) is not None
    rec = _run("chimeric-control", n=40)
    assert rec.summary["sorted"] and set(rec.artefacts["final_labels"].tolist()) == {0, 1}
    for preset in ("chimeric", "chimeric-control", "chimeric-burst", "chimeric-burst-control", "duplicates",
                   "duplicates-control"):                             # each says which schedule it uses
        assert "activation" in w.presets[preset], preset
    assert w.make_config("chimeric").activation == "random" and w.make_config("chimeric-burst").activation == "burst"


@pytest.mark.parametrize("overrides,match", [
    ({"algotypes": ("quick",)}, "algotypes"),
    ({"algotypes": ("bubble", "bubble")}, "algotypes"),
    ({"frozen": 2, "frozen_fraction": 0.1}, "not both"),
    ({"frozen": 12}, "frozen"),
    ({"frozen_fraction": 0.99}, "working cell"),
    ({"mode": "topdown", "algotypes": ("bubble", "selection")}, "topdown"),
    ({"log_every": 0}, "log_every"),
    ({"duplicates": True, "levels": 1}, "levels"),
    ({"activation": "burst", "burst_mean": 0.5}, "burst_mean"),
])
def test_bad_config_is_a_user_error(overrides, match):
    with pytest.raises(UserError, match=match):
        get_world("sorting_cells").make_config("tiny", overrides)


def _hand(values, damage, algo="bubble"):
    row = S.Row(values, damage)
    kinds = [S.ALGOTYPES.index(algo)] * len(values)
    steps, stalled = S.cell_sort(row, kinds, np.random.default_rng(0), 100, lambda step: None)
    return row.v[1:-1], stalled


def test_frozen_cells_never_initiate_but_movable_ones_are_displaced():
    # the one working cell (0) passes both movable frozen cells; the frozen pair 2 > 1 stays
    final, stalled = _hand([2, 1, 0], [S.MOVABLE, S.MOVABLE, S.ACTIVE])
    assert final == [0, 2, 1] and stalled
    # an immovable cell in the middle: nobody can pass it
    final, stalled = _hand([2, 1, 0], [S.ACTIVE, S.IMMOVABLE, S.ACTIVE])
    assert final == [2, 1, 0] and stalled
    # selection swaps at a distance, over the immovable cell
    final, stalled = _hand([2, 1, 0], [S.ACTIVE, S.IMMOVABLE, S.ACTIVE], "selection")
    assert final == [0, 1, 2] and not stalled


ACTIVATIONS = typing.get_args(typing.get_type_hints(S.SortingCellsConfig)["activation"])


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("algos", [("bubble",), ("insertion",), ("selection",), ("bubble", "selection"),
                                   S.ALGOTYPES])
def test_every_algotype_sorts_under_every_activation(algos, activation):
    # a run stops only at a true fixed point: with activation=random or burst (draws with
    # replacement) a sweep can change nothing while cells that got no turn could still act
    # (selection arrays used to stop with 1-5 inversions left)
    for seed in range(5):
        burst = {"burst_mean": (2.0, 12.0, 40.0)[seed % 3]} if activation == "burst" else {}
        s = _run("tiny", n=30, algotypes=algos, activation=activation, seed=seed, **burst).summary
        assert s["sorted"] and s["finished"] and not s["stalled"], (algos, activation, seed, s)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("kind", ["movable", "immovable"])
def test_selection_around_frozen_cells_under_every_activation(kind, activation):
    # selection swaps at a distance: its working cells end in order around 3 immovable cells. A
    # movable frozen cell at a selection cell's ideal position moves that position on even when
    # the two swap (the reference's rule): the cell can then leave its place, and the run may end
    # at a fixed point with working cells out of order -- but it ends at one, never out of budget
    for seed in range(5):
        s = _run("tiny", n=30, algotypes=("selection",), frozen=3, frozen_kind=kind,
                 activation=activation, seed=seed).summary
        if kind == "immovable":
            assert s["finished"], (kind, activation, seed, s)
        else:
            assert s["finished"] or s["stalled"], (kind, activation, seed, s)
            assert s["final_sortedness"] > 0.8, (kind, activation, seed, s)


def test_sweep_report_shows_the_reference_aggregation_per_grid_point(run_cli, tmp_path):
    rc, out, err = run_cli("sweep", "sorting_cells", "-p", "chimeric-burst", "-s", "n=40", "-g", "burst_mean=1,8",
                           "-g", "mode=cell,topdown", "-s", "control_labels=true", "-n", "2", "-x", "serial",
                           "-o", str(tmp_path / "s.html"))
    assert rc == 0, err
    html = (tmp_path / "s.html").read_text()
    assert "Aggregation over sorting progress" in html and "peak of the mean curve" in html
    from emergelab.lab.store import open_store

    store = open_store(tmp_path / "store", create=False)
    sweep = store.sweeps()["sweep_id"].iloc[0]
    runs = store.runs(sweep=sweep)
    section = S.sweep_section(store, runs, store.sweep(sweep)["grid"])
    rows = [[c["text"] for c in r["cells"]] for r in section["tables"][0]["rows"]]
    assert len(rows) == 4 and all(r[2] == "2" for r in rows)          # one row per grid point, 2 seeds each
    for r in rows:                                                    # the peak of the mean of the runs' curves
        g = runs[(runs["config.burst_mean"].astype(float) == float(r[0])) & (runs["config.mode"] == r[1])]
        curves = [np.load(store.artefact_path(i, "progress_aggregation")) for i in g["run_id"]]
        assert float(r[3]) == pytest.approx(M.peak_of_mean(curves)[0], abs=6e-4)
        assert (r[-1] == "—") == (r[1] == "topdown")                   # no cells take turns top-down
