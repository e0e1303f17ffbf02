"""The naming game runs each mode in a blink with the tiny preset, logs what it promises,
is deterministic given its seed, and rejects bad configs with a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.recorder import Recorder
from emergelab.lab.sweep import run_world
from emergelab.lab.registry import get_world

NAMES = {"naming/ari_a", "naming/ari_b", "naming/kappa", "naming/acceptance"}
MODES = ("mh", "no_comm", "all_accept")


def _run(preset: str = "tiny", **overrides) -> Recorder:
    return run_world("naming_game", preset, **overrides)


@pytest.mark.parametrize("mode", MODES)
def test_tiny_logs_everything(mode):
    rec = _run(mode=mode)
    cfg = get_world("naming_game").make_config("tiny")
    assert set(rec.names) == NAMES
    for name in NAMES:
        steps, values = rec.series(name)
        assert steps.tolist() == list(range(cfg.n_iterations)), name
        assert np.all(np.isfinite(values)) and np.all((values >= -1) & (values <= 1)), name
    acc = rec.series("naming/acceptance")[1]
    expected = {"no_comm": np.all(acc == 0), "all_accept": np.all(acc == 1),
                "mh": np.all((acc >= 0) & (acc <= 1))}
    assert expected[mode]
    s = rec.summary
    assert s["mode"] == mode and s["n_objects"] == cfg.n_objects
    for k in ("ari_a", "ari_b", "kappa", "acceptance"):
        assert s[f"final_{k}"] == rec.series(f"naming/{k}")[1][-1]
        assert np.isfinite(s[f"{k}_tail"])
    signs = rec.artefacts["signs"]
    assert signs.shape == (3, cfg.n_objects) and signs.min() >= 0 and signs.max() < cfg.n_categories
    assert rec.artefacts["views"].shape == (2, cfg.n_objects, cfg.dim)
    assert set(get_world("naming_game").summarize(rec.wide())) == {"ari_a_tail", "ari_b_tail", "kappa_tail",
                                                                   "acceptance_tail"}


@pytest.mark.parametrize("mode", MODES)
def test_same_seed_same_run_other_seed_other_run(mode):
    a, b, c = (_run(mode=mode, seed=seed) for seed in (0, 0, 1))
    assert np.array_equal(a.artefacts["signs"], b.artefacts["signs"])
    for name in NAMES:
        assert np.array_equal(a.series(name)[1], b.series(name)[1]), name
    assert not np.array_equal(a.artefacts["signs"], c.artefacts["signs"])


def test_other_dimensions_run():
    rec = _run(dim=3, n_categories=4, n_objects=80, noise_a=0.5, noise_b=3.0, nu=5.0)
    assert rec.artefacts["views"].shape == (2, 80, 3)


def test_world_is_registered_with_presets():
    w = get_world("naming_game")
    assert {"paper", "quick", "tiny"} <= set(w.preset_names()) and w.watch == ("naming/kappa",)
    paper = w.make_config("paper")
    assert (paper.n_categories, paper.n_objects, paper.dim, paper.n_iterations) == (10, 1000, 2, 100)


@pytest.mark.parametrize("bad", [{"mode": "shout"}, {"n_categories": 1}, {"n_objects": 2}, {"dim": 0},
                                 {"n_iterations": 0}, {"noise_a": 0}, {"noise_b": -1.0}, {"spread": 0},
                                 {"beta": 0}, {"wishart_scale": -0.1}, {"nu": 0.5}, {"volume": 3}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("naming_game").make_config("tiny", bad)
