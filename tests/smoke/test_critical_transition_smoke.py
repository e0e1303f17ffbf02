"""The critical-transition world runs each system in milliseconds, logs what it promises,
is deterministic given its seed, and collapses (or not) as its ground truth says."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.recorder import Recorder
from emergelab.lab.sweep import run_world
from emergelab.lab.registry import get_world

NAMES = {"state/x", "forcing/h", "truth/transitioned"}
SYSTEMS = ("fold", "null", "noise")


def _run(preset: str = "tiny", **overrides) -> Recorder:
    return run_world("critical_transition", preset, **overrides)


@pytest.mark.parametrize("system", SYSTEMS)
def test_tiny_logs_everything(system):
    rec = _run(system=system)
    assert set(rec.names) == NAMES
    n = rec.summary["n_points"]
    for name in NAMES:
        steps, values = rec.series(name)
        assert steps.tolist() == list(range(n)) and np.all(np.isfinite(values)), name
    truth = rec.series("truth/transitioned")[1]
    assert set(np.unique(truth)) <= {0.0, 1.0} and np.all(np.diff(truth) >= 0)  # 0 then 1, never back
    s = rec.summary
    assert s["system"] == system
    assert {"transition_step", "transition_time", "h_at_transition", "bifurcation_h"} <= set(s)
    assert set(get_world("critical_transition").summarize(rec.wide())) == {"transition_step", "detected_step"}


@pytest.mark.parametrize("system", SYSTEMS)
def test_same_seed_same_series_other_seed_other_series(system):
    a, b, c = (_run(system=system, seed=seed).series("state/x")[1] for seed in (0, 0, 1))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fold_collapses_to_the_low_branch():
    rec = _run()
    s = rec.summary
    x, h = rec.series("state/x")[1], rec.series("forcing/h")[1]
    assert abs(s["bifurcation_h"] - 2.6044) < 1e-3  # May's fold for r=1, K=10, s=1
    cfg = get_world("critical_transition").make_config("tiny")
    assert h[0] == cfg.h_start and h[-1] == pytest.approx(cfg.h_end) and np.all(np.diff(h) > 0)  # the ramp
    step = s["transition_step"]
    assert step is not None and 0.5 * len(x) < step < len(x)
    assert x[0] > 6 and x[-20:].max() < 1.5  # from the upper branch to the lower one (~0.45)
    truth = rec.series("truth/transitioned")[1]
    assert truth[step] == 1 and truth[step - 1] == 0
    out = get_world("critical_transition").summarize(rec.wide())
    assert out["transition_step"] == step
    assert out["detected_step"] is not None and abs(out["detected_step"] - step) < 0.1 * len(x)


def test_null_has_no_transition():
    rec = _run(system="null")
    x, h = rec.series("state/x")[1], rec.series("forcing/h")[1]
    assert rec.summary["transition_step"] is None and not rec.series("truth/transitioned")[1].any()
    assert np.all(h == h[0]) and x.min() > 4  # stays on the upper branch
    assert get_world("critical_transition").summarize(rec.wide())["transition_step"] is None


def test_noise_jumps_to_the_other_well():
    rec = _run("noise")  # the full-length run: most seeds jump within it
    x, s = rec.series("state/x")[1], rec.summary
    assert s["bifurcation_h"] is None and s["transition_step"] is not None
    assert x[0] > 0.9 and x[s["transition_step"]:].mean() < -0.5  # right well, then the left one


@pytest.mark.parametrize("bad", [{"dt": 0}, {"sigma": -0.1}, {"sample_every": 0}, {"system": "flip"},
                                 {"h_end": 2.0}, {"K": 5.0}, {"noise_c": 0.5}, {"t_max": 1.0},
                                 {"x0": -1.0}, {"persist": 0}, {"wobble": 1}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("critical_transition").make_config("tiny", bad)
