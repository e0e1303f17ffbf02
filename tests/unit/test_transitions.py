"""Tests for emergelab.measures.transitions on hand-made curves with known answers."""

import time

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from emergelab.measures.transitions import (
    Transition,
    detect_transitions,
    first_crossing,
    grokking_delay,
)

STEPS = np.arange(2001.0)  # 0..2000


def logistic(t, t0, w, lo=0.0, hi=1.0):
    return lo + (hi - lo) * expit((t - t0) / w)


def noise(sd, seed=0, n=len(STEPS)):
    return np.random.default_rng(seed).normal(0.0, sd, n)


# ------------------------------------------------------------------ detect_transitions

def test_clean_logistic():
    (tr,) = detect_transitions(STEPS, logistic(STEPS, 500, 20))
    assert abs(tr.midpoint - 500) <= 10
    assert tr.height == pytest.approx(1.0, abs=0.05)
    assert tr.onset < tr.midpoint < tr.end
    # a logistic goes from 10% to 90% in 2 ln(9) w = 87.9 steps
    assert tr.end - tr.onset == pytest.approx(2 * np.log(9) * 20, rel=0.05)
    assert tr.sharpness == pytest.approx(2000 / (tr.end - tr.onset))
    assert tr.method == "logistic" and tr.r2 > 0.99
    assert tr.start_level == pytest.approx(0.0, abs=0.02)
    assert tr.end_level == pytest.approx(1.0, abs=0.02)


def test_noisy_logistic():
    (tr,) = detect_transitions(STEPS, logistic(STEPS, 500, 20) + noise(0.02, seed=1))
    assert abs(tr.midpoint - 500) <= 30
    assert tr.height == pytest.approx(1.0, abs=0.05)
    assert tr.onset < tr.midpoint < tr.end


def test_loss_drop_has_negative_height():
    # An early exponential fall, then a plateau, then a sudden drop. The early fall has
    # no observed start, so it is not a transition.
    y = 0.3 * np.exp(-STEPS / 100) + logistic(STEPS, 1200, 30, lo=2.3, hi=0.3)
    (tr,) = detect_transitions(STEPS, y + noise(0.02, seed=2))
    assert abs(tr.midpoint - 1200) <= 30
    assert tr.height == pytest.approx(-2.0, abs=0.1)
    assert tr.start_level > tr.end_level
    assert tr.onset < tr.midpoint < tr.end


def test_step_function_is_a_changepoint():
    y = (STEPS >= 1000).astype(float)
    (tr,) = detect_transitions(STEPS, y)
    assert tr.method == "changepoint"
    assert 999 <= tr.onset <= tr.midpoint <= tr.end <= 1000
    assert tr.height == pytest.approx(1.0)
    assert tr.r2 > 0.99


def test_two_step_staircase():
    y = logistic(STEPS, 600, 15) + logistic(STEPS, 1400, 15) + noise(0.02, seed=3)
    trs = detect_transitions(STEPS, y)
    assert len(trs) == 2
    assert [round(tr.midpoint, -1) for tr in trs] == [600, 1400]  # sorted by midpoint
    for tr, (lo, hi) in zip(trs, [(0, 1), (1, 2)]):
        assert tr.start_level == pytest.approx(lo, abs=0.05)
        assert tr.end_level == pytest.approx(hi, abs=0.05)
    assert len(detect_transitions(STEPS, y, max_transitions=1)) == 1


def test_up_then_down():
    y = logistic(STEPS, 600, 15) - logistic(STEPS, 1400, 15) + noise(0.02, seed=4)
    up, down = detect_transitions(STEPS, y)
    assert up.height > 0.9 and down.height < -0.9


def test_min_height_drops_small_steps():
    y = 0.8 * logistic(STEPS, 600, 15) + 0.25 * logistic(STEPS, 1400, 15) + noise(0.02, 5)
    assert len(detect_transitions(STEPS, y)) == 2
    (big,) = detect_transitions(STEPS, y, min_height=0.5)
    assert abs(big.midpoint - 600) <= 10


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_pure_noise_has_no_transition(seed):
    assert detect_transitions(STEPS, noise(1.0, seed=seed)) == []


def test_linear_ramp_is_not_a_transition():
    assert detect_transitions(STEPS, STEPS / 2000) == []
    assert detect_transitions(STEPS, STEPS / 2000 + noise(0.05, seed=6)) == []


def test_constant_has_no_transition():
    assert detect_transitions(STEPS, np.full(len(STEPS), 0.7)) == []


def test_pandas_series_input():
    df = pd.DataFrame({"step": STEPS, "acc": logistic(STEPS, 500, 20)})
    (tr,) = detect_transitions(df["step"], df["acc"])
    assert abs(tr.midpoint - 500) <= 10
    (tr_list,) = detect_transitions(list(STEPS), list(df["acc"]))  # plain lists work too
    assert tr_list == tr


def test_log_steps():
    steps = np.logspace(0, 5, 500)  # 1 .. 1e5
    y = expit((np.log10(steps) - 3) / 0.08) + noise(0.01, seed=7, n=len(steps))
    (tr,) = detect_transitions(steps, y, log_steps=True)
    assert 900 <= tr.midpoint <= 1100  # reported in original step units
    assert tr.onset < tr.midpoint < tr.end
    # sharpness is measured on the log axis: 5 decades / (2 ln9 * 0.08) decades
    assert tr.sharpness == pytest.approx(5 / (2 * np.log(9) * 0.08), rel=0.15)


def test_to_dict_round_trips():
    (tr,) = detect_transitions(STEPS, logistic(STEPS, 500, 20))
    d = tr.to_dict()
    assert set(d) == {"onset", "midpoint", "end", "height", "sharpness", "start_level",
                      "end_level", "method", "r2", "censored"}
    assert Transition(**d) == tr and tr.censored == ""
    assert all(type(v) is float for k, v in d.items() if k not in ("method", "censored"))
    # a summary stored before the flag existed still loads
    old = {k: v for k, v in d.items() if k != "censored"}
    assert Transition(**old) == tr


def test_fast_on_10k_points():
    t = np.arange(10_000.0)
    y = logistic(t, 5000, 50) + noise(0.05, seed=8, n=len(t))
    start = time.perf_counter()
    (tr,) = detect_transitions(t, y)
    assert time.perf_counter() - start < 1.0
    assert abs(tr.midpoint - 5000) <= 20


# ------------------------------------------------------------------ grokking_delay

def test_grokking_delay():
    train = logistic(STEPS, 200, 10) + noise(0.005, seed=9)
    val = logistic(STEPS, 800, 10) + noise(0.005, seed=10)
    assert grokking_delay(STEPS, train, val) == pytest.approx(600, abs=15)
    # a lower bar for train accuracy moves only its crossing earlier
    assert grokking_delay(STEPS, train, val, train_threshold=0.5) > 600


def test_grokking_delay_none_when_val_never_crosses():
    train = logistic(STEPS, 200, 10)
    assert grokking_delay(STEPS, train, 0.5 * train) is None
    assert grokking_delay(STEPS, 0.5 * train, train) is None


def test_first_crossing_ignores_spikes_when_sustained():
    v = np.zeros(100)
    v[10] = 1.0        # a lucky spike
    v[60:] = 1.0       # the real, lasting crossing
    assert first_crossing(np.arange(100), v, 0.9) == 60.0
    assert first_crossing(np.arange(100), v, 0.9, sustained=False) == 10.0
    assert first_crossing(np.arange(100), v, 2.0) is None


# ------------------------------------------------------------------ input validation

GOOD = logistic(np.arange(10.0), 5, 1)


@pytest.mark.parametrize("steps, values, match", [
    (np.arange(10), np.arange(9), r"different lengths \(10 vs 9\)"),
    ([0, 1, 2], [0, 1, 2], "series too short: need at least 8 points, got 3"),
    (np.arange(10), np.where(np.arange(10) == 4, np.nan, GOOD),
     r"values contains 1 NaN/inf value\(s\), the first at index 4; drop"),
    (np.where(np.arange(10) == 2, np.inf, np.arange(10.0)), GOOD,
     r"steps contains 1 NaN/inf value\(s\), the first at index 2"),
    (np.arange(10)[::-1], GOOD, "steps must be strictly increasing; sort the series or drop"),
    ([0, 1, 2, 3, 3, 4, 5, 6, 7, 8], GOOD, "strictly increasing"),
    (np.arange(10), np.ones((10, 2)), r"values must be 1-D, got shape \(10, 2\)"),
    (np.arange(10), ["a"] * 10, "values must be numeric"),
])
def test_bad_input_raises(steps, values, match):
    with pytest.raises(ValueError, match=match):
        detect_transitions(steps, values)


def test_bad_options_raise():
    t = np.arange(10.0)
    with pytest.raises(ValueError, match="log_steps=True needs positive steps"):
        detect_transitions(t, GOOD, log_steps=True)
    with pytest.raises(ValueError, match="max_transitions must be >= 1"):
        detect_transitions(t, GOOD, max_transitions=0)
    with pytest.raises(ValueError, match="min_height must be"):
        detect_transitions(t, GOOD, min_height=-1)


def test_grokking_delay_validates():
    t = np.arange(10.0)
    with pytest.raises(ValueError, match=r"steps and val_acc have different lengths"):
        grokking_delay(t, GOOD, GOOD[:-1])
    with pytest.raises(ValueError, match="series too short"):
        grokking_delay(t[:3], GOOD[:3], GOOD[:3])
    with pytest.raises(ValueError, match=r"train_acc contains 1 NaN"):
        grokking_delay(t, np.where(t == 0, np.nan, GOOD), GOOD)
    with pytest.raises(ValueError, match="strictly increasing"):
        first_crossing(t[::-1], GOOD, 0.5)


def test_training_curve_that_rises_right_after_initialisation():
    # A real quick-preset train/acc curve (logged every 10 epochs): the init point, two
    # short plateau points, then memorisation. The jump must still be found.
    y = [0.02, 0.151, 0.144, 0.161, 0.235, 0.568, 0.922, 0.986] + [1.0] * 40
    (tr,) = detect_transitions(np.arange(len(y)) * 10, y)
    assert 40 <= tr.midpoint <= 60 and tr.height > 0.7


# ------------------------------------------------------------------ censored changes (issue 14)

REFERENTIAL_TRAIN_ACC = [0.009, 0.1, 0.32, 0.63, 0.75, 0.9, 0.95, 0.97, 0.98, 0.99] + [1.0] * 11


def test_rise_from_the_first_point_is_reported_left_censored():
    # referential_game -p quick: train/acc climbs from chance at the first logged step
    t = np.arange(len(REFERENTIAL_TRAIN_ACC)) * 25.0
    assert detect_transitions(t, REFERENTIAL_TRAIN_ACC, censored=False) == []  # plateau to plateau only
    (tr,) = detect_transitions(t, REFERENTIAL_TRAIN_ACC, censored=True)
    assert tr.censored == "left" and tr.height > 0.8
    assert tr.start_level == pytest.approx(0.009, abs=0.1)  # the level seen at the first point
    assert 0 <= tr.onset < tr.midpoint < tr.end <= 200


def test_loss_falling_from_step_0_is_left_censored_and_the_drop_after_it_is_not():
    y = 2.0 + 2.0 * np.exp(-STEPS / 20) + logistic(STEPS, 1200, 30, lo=0.0, hi=-1.5)
    first, drop = detect_transitions(STEPS, y + noise(0.01, seed=11), censored=True)
    assert detect_transitions(STEPS, y + noise(0.01, seed=11), censored=False) == [drop]
    assert first.censored == "left" and first.height == pytest.approx(-2.0, abs=0.1)
    assert first.start_level == pytest.approx(4.0, abs=0.05) and first.end < 100
    assert drop.censored == "" and abs(drop.midpoint - 1200) <= 10


def test_change_still_going_at_the_last_point_is_right_censored():
    y = logistic(STEPS, 1980, 15) + noise(0.01, seed=12)  # 80 % done when the run stops
    (tr,) = detect_transitions(STEPS, y, censored=True)
    assert tr.censored == "right" and tr.height > 0.6
    assert tr.end <= 2000 and tr.end_level == pytest.approx(y[-5:].mean(), abs=0.1)


def test_jump_near_either_edge_is_found():
    # the 10-90 % span inside the data but within one width of the edge (recall was 17/48)
    for t0 in (30, 1975):
        (tr,) = detect_transitions(STEPS, logistic(STEPS, t0, 4))
        assert abs(tr.midpoint - t0) <= 2


def test_slow_decay_from_step_0_is_not_a_transition():
    assert detect_transitions(STEPS, np.exp(-STEPS / 800), censored=True) == []
    assert detect_transitions(STEPS, (1 + STEPS / 500) ** -1.0 + noise(0.005, seed=13), censored=True) == []


@pytest.mark.parametrize("seed", range(4))
def test_random_walk_and_chance_accuracy_are_quiet(seed):
    rng = np.random.default_rng(seed)
    assert detect_transitions(STEPS, np.cumsum(rng.normal(0, 1, len(STEPS))), censored=True) == []
    acc = rng.binomial(100, 0.01, 200) / 100  # stuck at chance: range ~0.04
    assert detect_transitions(np.arange(200), acc, censored=True) == []
