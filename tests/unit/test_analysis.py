"""measures/analysis + lab/analyze: transitions joined with early-warning tests."""

import numpy as np
import pytest

from emergelab.measures.analysis import EWSSettings, analyze_series, ews_table


def _slowing_then_jump(seed=0, n=800, n_after=200):
    # AR(1) whose memory phi ramps 0 -> 0.98 (critical slowing down), then a jump up
    rng = np.random.default_rng(seed)
    phi = np.linspace(0.0, 0.98, n)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi[t] * x[t - 1] + 0.1 * rng.standard_normal()
    after = 6.0 + 0.1 * rng.standard_normal(n_after)
    return np.arange(n + n_after, dtype=float), np.concatenate([x, after])


def test_warning_before_a_jump_is_flagged():
    steps, y = _slowing_then_jump()
    r = analyze_series(steps, y, metric="x")
    assert len(r["transitions"]) == 1 and abs(r["transitions"][0]["midpoint"] - 800) < 10
    (e,) = r["ews"]
    assert e["until"] < 800 and e["n_points"] > 700 and e["error"] is None
    assert e["flagged"] is True
    assert {t["indicator"] for t in e["tests"]} == {"var", "ac1"}
    assert set(r["indicators"]["indicator"]) == {"var", "ac1"}


def test_no_transition_tests_the_whole_series():
    rng = np.random.default_rng(3)
    y = rng.standard_normal(400)
    r = analyze_series(np.arange(400), y, metric="noise")
    assert r["transitions"] == []
    (e,) = r["ews"]
    assert e["transition"] is None and e["n_points"] == 400 and e["flagged"] is False


def test_too_short_stretch_is_reported_not_raised():
    y = np.r_[np.zeros(10) + 0.01 * np.random.default_rng(0).standard_normal(10), np.ones(30)]
    r = analyze_series(np.arange(40), y, metric="x")
    (e,) = r["ews"]
    assert e["flagged"] is None and "log more often" in e["error"]
    t = ews_table([r])
    assert t["note"].iloc[0].startswith("only")


def test_timing_metric_and_settings():
    steps, y = _slowing_then_jump(seed=1)
    other = (steps, (steps > 780).astype(float) + 0.01 * np.random.default_rng(0).standard_normal(len(steps)))
    r = analyze_series(steps, y, metric="x", timing=other, timing_metric="flag",
                       settings=EWSSettings(n_surrogates=50, seed=1))
    assert r["timing_metric"] == "flag" and r["ews"][0]["until"] < 781
    assert r["ews"][0]["tests"][0]["n_surrogates"] == 50
    same = analyze_series(steps, y, metric="x", timing=other, settings=EWSSettings(n_surrogates=50, seed=1))
    assert same["ews"][0]["tests"] == r["ews"][0]["tests"]  # seeded


def test_bad_series_raise_clear_errors():
    with pytest.raises(ValueError, match="NaN"):
        analyze_series(np.arange(50), np.r_[np.zeros(25), np.nan, np.ones(24)])
