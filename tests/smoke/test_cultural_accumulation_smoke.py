"""cultural_accumulation, tiny preset: logs every metric once per generation within its bounds,
keeps the per-episode artefact, shares the single-lifetime baseline across vis_prob (it does
not depend on it), and is registered with its presets."""

from __future__ import annotations

import numpy as np

from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world
from emergelab.worlds.cultural_accumulation import METRICS


def _run(**overrides):
    return run_world("cultural_accumulation", "tiny", **overrides)


def test_tiny_logs_every_metric_per_generation():
    rec = _run()
    cfg = get_world("cultural_accumulation").make_config("tiny")
    G, E, L = cfg.generations, cfg.episodes, cfg.length
    assert set(METRICS) <= set(rec.names)
    for name in METRICS:
        steps, values = rec.series(name)
        assert steps.tolist() == list(range(G)) and np.all(np.isfinite(values)), name
    for name in ("culture/return", "culture/return_last", "culture/known", "single/return", "single/known"):
        v = rec.series(name)[1]
        assert np.all((v >= 0) & (v <= L)), name
    assert np.all((rec.series("culture/followed")[1] >= 0) & (rec.series("culture/followed")[1] <= 1))
    gain = rec.series("culture/return")[1] - rec.series("single/return")[1]
    assert np.allclose(rec.series("culture/gain")[1], gain)
    ep = rec.artefacts["episodes"]
    assert len(ep) == G * E and ep.experience.tolist() == list(range(G * E))
    assert np.allclose(ep.groupby("generation").culture_return.mean(), rec.series("culture/return")[1])
    s = rec.summary
    assert s["final_gain"] == rec.series("culture/gain")[1][-1] and s["final_gain_se"] >= 0
    assert isinstance(s["accumulates"], bool)


def test_baseline_is_shared_across_vis_prob_and_vis_zero_copies_nothing():
    a, b = _run(vis_prob=0.0), _run(vis_prob=1.0)
    for name in ("single/return", "single/return_last", "single/known"):
        assert np.array_equal(a.series(name)[1], b.series(name)[1]), name
    assert np.all(a.series("culture/followed")[1] == 0) and np.all(b.series("culture/followed")[1] > 0)
    assert not np.array_equal(a.series("culture/return")[1], b.series("culture/return")[1])


def test_registered_with_presets():
    w = get_world("cultural_accumulation")
    assert {"paper", "tabular", "quick", "tiny", "decay", "icl", "icl_tiny", "rl", "rl_tiny"} <= set(w.preset_names())
    for name in ("paper", "tabular", "icl"):
        c = w.make_config(name)
        assert (c.digits, c.length, c.episodes, c.generations) == (3, 24, 4, 8), name  # the reference's
    assert w.make_config("paper") == w.make_config("icl") and w.make_config("tabular").agent == "tabular"
    assert w.make_config("decay").vis_decay and w.watch == ("culture/return",)


def test_rl_agent_logs_every_metric_and_is_deterministic():
    a, b = run_world("cultural_accumulation", "rl_tiny"), run_world("cultural_accumulation", "rl_tiny")
    cfg = get_world("cultural_accumulation").make_config("rl_tiny")
    for name in METRICS:
        steps, values = a.series(name)
        assert steps.tolist() == list(range(cfg.generations)) and np.all(np.isfinite(values)), name
        assert np.array_equal(values, b.series(name)[1]), name
    ep = a.artefacts["episodes"]
    assert len(ep) == cfg.generations * cfg.updates and a.summary["agent"] == "rl"
    c = run_world("cultural_accumulation", "rl_tiny", vis_prob=0.0)
    assert np.array_equal(a.series("single/return")[1], c.series("single/return")[1])  # shared single life
    assert np.all(c.series("culture/followed")[1] == 0)


def test_icl_agent_logs_every_metric_and_is_deterministic():
    a, b = run_world("cultural_accumulation", "icl_tiny"), run_world("cultural_accumulation", "icl_tiny")
    cfg = get_world("cultural_accumulation").make_config("icl_tiny")
    G, E = cfg.generations, cfg.episodes
    for name in METRICS:
        steps, values = a.series(name)
        assert steps.tolist() == list(range(G)) and np.all(np.isfinite(values)), name
        assert np.array_equal(values, b.series(name)[1]), name
    assert a.summary == b.summary and a.summary["agent"] == "icl"
    assert len(a.artefacts["episodes"]) == G * E
    assert a.artefacts["meta_training"].episodes.tolist() == [E, E, E, G * E]  # every meta_long-th: a long life
    grid = a.artefacts["vis_grid"]
    assert sorted(grid.vis_prob.unique()) == [0.0, 0.25, 0.5, 0.75, 0.9, 1.0] and len(grid) == 6 * G
    assert np.all(grid.groupby("generation").single_return.nunique() == 1)  # one single life for every vis_prob
    assert np.all(grid[grid.vis_prob == 0].followed == 0)
    main = grid[grid.vis_prob == cfg.vis_prob]
    assert np.allclose(main.culture_return, a.series("culture/return")[1])
    c = run_world("cultural_accumulation", "icl_tiny", seed=1)
    assert not np.array_equal(a.series("culture/return")[1], c.series("culture/return")[1])
