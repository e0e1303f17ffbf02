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


def test_detrend_settings_reach_the_test():
    from emergelab.measures.ews import early_warning

    y = np.random.default_rng(4).standard_normal(400).cumsum() * 0.05 + np.random.default_rng(5).standard_normal(400)
    steps = np.arange(400)
    for kw in (dict(sigma_points=12.0, edge="renormalise"), dict(detrend="lowess", robust_iters=2)):
        s = EWSSettings(n_surrogates=20, **kw)
        r = analyze_series(steps, y, settings=s)
        assert r["transitions"] == [] and r["settings"]["robust_iters"] == s.robust_iters
        want = early_warning(steps, y, n_surrogates=20, **kw)["tests"]
        assert [t["tau"] for t in r["ews"][0]["tests"]] == pytest.approx(want["tau"].tolist(), abs=1e-12)


@pytest.mark.parametrize("kw,match", [
    (dict(edge="mirror"), r"unknown edge mode 'mirror'; use one of reflect, renormalise"),
    (dict(sigma_points=0.0), r"sigma_points must be a positive number of samples"),
    (dict(robust_iters=-1), r"robust_iters must be a whole number >= 0"),
    (dict(bandwidth=1.5), r"bandwidth must be a fraction in \(0, 1\]"),
    (dict(thin=0), r"thin must be None, 'auto' or a whole number >= 1, got 0"),
    (dict(thin="half"), r"thin must be None, 'auto' or a whole number >= 1"),
])  # fmt: skip
def test_bad_settings_fail_before_anything_runs(kw, match):
    from emergelab.errors import UserError

    with pytest.raises(UserError, match=match) as e:
        analyze_series(np.arange(100), np.random.default_rng(0).standard_normal(100), settings=EWSSettings(**kw))
    assert "\n" not in str(e.value)


def test_auto_thinning_of_an_oversampled_series():
    # an AR(1) with phi = 0.99 per sample: recovery takes ~100 samples, so "auto" keeps about
    # every ceil(log 0.8 / log 0.99) = 23rd point (fewer: detrending lowers the residuals' AC a
    # little); a white series is left alone. The timing curve is noise: no transition found.
    rng = np.random.default_rng(6)
    x = np.zeros(6000)
    e = rng.standard_normal(6000)
    for t in range(1, 6000):
        x[t] = 0.99 * x[t - 1] + e[t]
    r = analyze_series(np.arange(6000), x, timing=(np.arange(6000), rng.standard_normal(6000)),
                       settings=EWSSettings(n_surrogates=20))  # fmt: skip
    (e0,) = r["ews"]
    assert 15 <= e0["thin"] <= 30 and e0["n_points"] == 6000
    var_steps = r["indicators"].query("indicator == 'var'")["step"]
    assert (var_steps.diff().dropna() == e0["thin"]).all()  # only the kept points are tested
    white = analyze_series(np.arange(500), rng.standard_normal(500), settings=EWSSettings(n_surrogates=20))
    assert white["ews"][0]["thin"] == 1
    fixed = analyze_series(np.arange(6000), x, timing=(np.arange(6000), rng.standard_normal(6000)),
                           settings=EWSSettings(n_surrogates=20, thin=3))  # fmt: skip
    assert fixed["ews"][0]["thin"] == 3


def test_indicator_frames_are_keyed_by_entry_even_when_a_stretch_is_thinned():
    """The indicators' `entry` is the index of the EWS entry (the report draws entry k from it),
    whatever thinning factor the stretch got."""
    from emergelab.measures.analysis import analyze_series

    rng = np.random.default_rng(0)
    steps = np.arange(3000.0)
    x = np.zeros(3000)
    for t in range(1, 3000):  # AR(1) with r = 0.99: oversampled, thinned before the test
        x[t] = 0.99 * x[t - 1] + rng.normal(0, 0.01)
    y = x + np.where(steps > 2400, 2.0, 0.0)
    res = analyze_series(steps, y, metric="y")
    used = [k for k, e in enumerate(res["ews"]) if e["tests"]]
    assert used and sorted(set(res["indicators"]["entry"])) == used
    assert any(e["thin"] > 1 for e in res["ews"] if e["tests"])
