"""Tests for emergelab.measures.scaling: the family frame, power-law fits, emergence scores and the
mirage check on synthetic families whose truth is known (SCIENCE A6)."""

import numpy as np
import pandas as pd
import pytest

from emergelab.errors import UserError
from emergelab.measures.scaling import (
    FAMILY_COLUMNS,
    HIGHER_IS_BETTER,
    METRIC_PAIRS,
    check_family,
    emergence_score,
    fit_power_law,
    mirage_check,
)


def family(n_items=2000, seed=0, step=False, n_sizes=8, n_tokens=20):
    """Per-token loss L(N) = (N/c)^-alpha (or a true step at N = 1e8), p = exp(-L) per token,
    exact match = all n_tokens right (sampled), edit distance ~ Binomial(n_tokens, 1 - p)."""
    rng = np.random.default_rng(seed)
    frames = []
    for i, n in enumerate(np.logspace(6, 9, n_sizes)):
        loss = (n / 2e7) ** -1.0 if not step else (3.0 if n < 1e8 else 0.01)
        li = loss * np.exp(rng.normal(0, 0.1, n_items))  # items differ a little
        p = np.exp(-li)
        correct = (rng.random((n_items, n_tokens)) < p[:, None]).all(1).astype(float)
        frames.append(pd.DataFrame({"model": f"m{i}", "params": n, "item": np.arange(n_items),
                                    "correct": correct, "logprob": -n_tokens * li, "target_prob": p,
                                    "edit_distance": rng.binomial(n_tokens, 1 - p).astype(float)}))
    return pd.concat(frames, ignore_index=True)


def test_conventions():
    assert set(METRIC_PAIRS) <= set(HIGHER_IS_BETTER) and "params" in FAMILY_COLUMNS
    assert all(p in HIGHER_IS_BETTER for ps in METRIC_PAIRS.values() for p in ps)
    assert not HIGHER_IS_BETTER["edit_distance"] and not HIGHER_IS_BETTER["brier"]


# ------------------------------------------------------------------ check_family

def test_check_family_sorts_and_passes_good_frames():
    df = family(n_items=20).sample(frac=1, random_state=1)
    out = check_family(df)
    assert out["params"].is_monotonic_increasing and len(out) == len(df)


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda d: d[d["params"] < 3e6], "distinct params"),
        (lambda d: d.drop(columns="item"), "missing column"),
        (lambda d: d.assign(params=-d["params"]), "> 0"),
        (lambda d: d.assign(correct=0.0), "nothing changes"),
        (lambda d: d.assign(correct=1.0), "nothing changes"),
        (lambda d: d.drop(columns=["correct", "logprob", "target_prob", "edit_distance"]), "no metric"),
        (lambda d: d.assign(correct=d["correct"] * 2), "0 or 1"),
        (lambda d: d.assign(logprob=-d["logprob"] + 1), "logprob"),
        (lambda d: d.assign(target_prob=np.where(d.index == 3, np.nan, d["target_prob"])), "missing value"),
        (lambda d: pd.concat([d, d.iloc[:1]]), "more than once"),
        (lambda d: d.drop(columns="params"), "no 'params' column"),
        (lambda d: d.assign(n_pass=1), "n_pass and n_samples"),
        (lambda d: d.assign(n_pass=5, n_samples=3), "n_pass <= n_samples"),
    ],
)
def test_check_family_bad_input_is_one_line(mutate, words):
    with pytest.raises(UserError) as e:
        check_family(mutate(family(n_items=10)))
    msg = str(e.value)
    assert words in msg and "\n" not in msg


def test_check_family_compute_size():
    df = family(n_items=10).assign(compute=lambda d: 6 * d["params"] * 1e3)
    assert check_family(df, size="compute")["compute"].min() > 0
    with pytest.raises(UserError, match="size must be"):
        check_family(df, size="flops")


# ------------------------------------------------------------------ fits

def test_power_law_recovers_exponent_and_covers_truth():
    x = np.logspace(6, 9, 8)
    rng = np.random.default_rng(0)
    y = 3.0 * (x / 1e6) ** -0.3 * np.exp(rng.normal(0, 0.02, len(x)))
    fit = fit_power_law(x, y, n_boot=300, seed=1)
    assert abs(fit.params["b"] - 0.3) < 0.02
    lo, hi = fit.interval(1e10, level=0.95)
    truth = 3.0 * 1e4**-0.3
    assert lo < truth < hi and hi / lo < 1.5
    np.testing.assert_allclose(fit.predict(x), y, rtol=0.06)


def test_saturating_fit_finds_the_floor():
    x = np.logspace(6, 9, 10)
    y = 2.0 * (x / 1e6) ** -0.5 + 0.7
    fit = fit_power_law(x, y, form="saturating", n_boot=30)
    assert abs(fit.params["c"] - 0.7) < 0.01 and abs(fit.params["b"] - 0.5) < 0.02
    lo, hi = fit.interval(1e12)
    assert lo <= 0.7 + 2e-3 and hi >= 0.7 - 2e-3


def test_power_law_bad_input():
    with pytest.raises(UserError, match="y > 0"):
        fit_power_law([1, 2, 3], [1, 0, 1])
    with pytest.raises(UserError, match="distinct x"):
        fit_power_law([1, 1, 1], [1, 2, 3])
    with pytest.raises(UserError, match="form"):
        fit_power_law([1, 2, 3], [1, 2, 3], form="exp")


# ------------------------------------------------------------------ emergence score

def test_emergence_score_ramp_step_and_guards():
    x = np.arange(8.0)
    assert emergence_score(x, x) == pytest.approx(7.0)                # a ramp: n - 1
    assert emergence_score(x, -x) == pytest.approx(-7.0)              # falling: negative
    step = (x >= 5).astype(float)
    assert emergence_score(x, step) == pytest.approx(100.0)           # median step 0: capped
    assert emergence_score(x, np.ones(8)) == 0.0                       # flat
    assert emergence_score(x[::-1], x[::-1]) == pytest.approx(7.0)    # sorted by x first
    with pytest.raises(UserError):
        emergence_score([1, 2], [1, 2])


# ------------------------------------------------------------------ mirage check

def test_smooth_loss_law_gives_metric_artefact():
    r = mirage_check(family()).set_index("metric").loc["correct"]
    assert r["verdict"] == "metric artefact"
    assert r["sharpness"] > 5 and r["sharpness_logprob"] < 1.5 and r["sharpness_edit_distance"] < 1.5
    assert r["means"][0] == 0 and r["means"][-1] > 0.5            # looks "emergent"


def test_true_step_is_genuine_jump():
    r = mirage_check(family(step=True)).iloc[0]
    assert r["verdict"] == "genuine jump" and r["sharpness_logprob"] > 5


def test_few_items_is_unresolved_with_resolution():
    r = mirage_check(family(n_items=10)).iloc[0]
    assert r["verdict"] == "unresolved" and r["resolution"] == pytest.approx(0.1)


def test_smooth_exact_match_and_mc_pair():
    rng = np.random.default_rng(0)
    n = np.logspace(6, 9, 8)
    acc = np.linspace(0.3, 0.9, 8)  # a ramp: smooth under any metric
    df = pd.concat([pd.DataFrame({"model": f"m{i}", "params": n[i], "item": np.arange(500),
                                  "mc_correct": (rng.random(500) < a).astype(float),
                                  "brier": np.full(500, (1 - a) ** 2)}) for i, a in enumerate(acc)])
    r = mirage_check(df)
    assert list(r["metric"]) == ["mc_correct"] and r["verdict"].iloc[0] == "smooth"
    with pytest.raises(UserError, match="no metric pair"):
        mirage_check(df.drop(columns="brier"))
