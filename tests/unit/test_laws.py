"""Scores of discovered laws (measures/laws.py) against hand-computed values, and the offline
agents' pieces (rational rounding, the experiment design, the law text they write)."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.measures.laws import LawParseError, equivalent, law_function, log_uniform, parse_law, rmsle
from emergelab.worlds import _law_agents as ag
from emergelab.worlds._law_systems import DIFFICULTIES, SYSTEMS, Lab, Task, tasks

R3 = {"m1": (0.1, 10.0), "m2": (0.1, 10.0), "r": (0.1, 10.0)}
V3 = list(R3)


def test_parse_reads_powers_carets_and_a_left_hand_side():
    x = {"m1": np.array([2.0]), "m2": np.array([3.0]), "r": np.array([4.0])}
    for text in ("6*m1*m2/r**1.5", "F = 6*m1*m2/r^1.5", "6 * m1 * m2 * r**(-3/2)", "6*m1*m2/sqrt(r)**3"):
        f = law_function(parse_law(text, V3), V3)
        assert f(*x.values())[0] == pytest.approx(6 * 2 * 3 / 4**1.5, rel=1e-12), text


@pytest.mark.parametrize("text, why", [
    ("", "empty"), ("m1*m3", "unknown name 'm3'"), ("__import__('os')", "unknown name"),
    ("m1.__class__", "cannot read"), ("2 m1", "cannot parse"), ("(m1", "cannot parse"),
    ("10**10**10", "raises to the power"), ("1/0", "not a finite"), ("m1*" * 200 + "m1", "characters long")])
def test_parse_rejects_bad_text_with_one_line(text, why):
    with pytest.raises(LawParseError, match=why) as e:
        parse_law(text, V3)
    assert isinstance(e.value, UserError) and "\n" not in str(e.value)


def test_parse_rejects_bad_variable_names():
    with pytest.raises(LawParseError, match="distinct plain names"):
        parse_law("x", ["x", "x"])
    with pytest.raises(LawParseError, match="distinct plain names"):
        parse_law("exp", ["exp"])


def test_rmsle_hand_values():
    t = np.array([1.0, 10.0, 100.0])
    assert rmsle(t, t) == 0.0
    assert rmsle(t, t * np.e) == pytest.approx(1.0)  # every log off by exactly 1
    assert rmsle(t, t * np.array([np.e, 1, 1 / np.e])) == pytest.approx(np.sqrt(2 / 3))
    assert rmsle(np.array([0.0, 1.0]), np.array([1.0, 1.0]), offset=1) == pytest.approx(np.log(2) / np.sqrt(2))
    assert rmsle(t, np.array([1.0, -1.0, 100.0])) == np.inf and rmsle(t, np.array([1, np.nan, 1])) == np.inf
    with pytest.raises(UserError, match="same non-zero length"):
        rmsle(t, t[:2])
    with pytest.raises(UserError, match="true values"):
        rmsle(np.array([0.0, 1.0]), np.array([1.0, 1.0]))


def test_equivalence_up_to_the_constant_tolerance():
    truth = "6.674*m1*m2/r**1.5"
    same = equivalent("6.7*m1*m2*r**(-3/2)", truth, R3)
    assert same["match"] and same["method"] == "symbolic" and same["factor"] == pytest.approx(6.7 / 6.674)
    far = equivalent("7.5*m1*m2/r**1.5", truth, R3)  # right form, constant 12% off: not the law
    assert not far["match"] and far["symbolic"] is False and far["factor"] == pytest.approx(7.5 / 6.674)
    assert equivalent("7.5*m1*m2/r**1.5", truth, R3, rtol=0.15)["match"]
    wrong = equivalent("6.674*m1*m2/r**2", truth, R3)
    assert not wrong["match"] and np.isnan(wrong["factor"])
    # other forms of one law: a sum factored, an exponential moved across
    assert equivalent("m1*m2/(r + r**2)", "m1*m2/(r*(1 + r))", R3)["match"]
    assert equivalent("m1*exp(-r)/r", "m1/(r*exp(r))", R3)["match"]


def test_equivalence_numeric_fallback_decides_when_sympy_cannot(monkeypatch):
    import sympy

    def give_up(*a, **k):
        raise TypeError("no")

    monkeypatch.setattr(sympy, "simplify", give_up)
    ok = equivalent("2*m1*m2/r", "2*m2*m1*r**(-1)", R3)
    assert ok["match"] and ok["method"] == "numeric" and ok["symbolic"] is None and ok["factor"] == pytest.approx(1)
    assert not equivalent("2*m1*m2/r", "2*m1*m2/r**1.01", R3)["match"]


def test_log_uniform_covers_each_range_in_log_space():
    x = log_uniform({"a": (0.1, 10.0), "b": (10.0, 1000.0)}, 4000, np.random.default_rng(0))
    la, lb = np.log10(x["a"]), np.log10(x["b"])
    assert la.min() >= -1 and la.max() <= 1 and lb.min() >= 1 and lb.max() <= 3
    assert abs(la.mean()) < 0.05 and abs(lb.mean() - 2) < 0.05  # uniform in log: centred on the log midpoint


def test_design_is_one_point_per_log_stratum():
    x = ag.design(R3, 10, np.random.default_rng(1))
    for v in x.values():
        strata = np.floor((np.log(v) - np.log(0.1)) / np.log(100) * 10)
        assert sorted(strata.tolist()) == list(range(10))


def test_simple_rationals_and_law_text():
    assert ag.simple_rational(np.array([1.02, -1.49, 0.34, 2.74, 7.0])).tolist() == pytest.approx(
        [1.0, -1.5, 1 / 3, 2.75, 6.0])
    text = ag.power_law(2.5, ["x", "y", "z", "w"], np.array([1.0, -1.5, 1 / 3, 0.0]))
    assert text == "2.5*x*y**(-1.5)*z**(1/3)"
    assert equivalent(text, "2.5*x*z**(1/3)/y**1.5", {k: (0.1, 10.0) for k in "xyz"})["match"]


def test_every_shifted_law_differs_from_its_canonical_law():
    for name, (out, ranges, canon, laws) in SYSTEMS.items():
        assert set(laws) == set(DIFFICULTIES)
        for d, law in laws.items():
            assert not equivalent(law, canon, ranges, rtol=0.5)["match"], (name, d)


def test_lab_counts_clips_and_applies_lognormal_noise():
    task = Task("t", "easy", "y", {"x": (1.0, 10.0)}, "2*x")
    lab = Lab(task, 0.0, 5, np.random.default_rng(0))
    assert lab.run({"x": np.array([0.5, 3.0, 20.0])}).tolist() == pytest.approx([2.0, 6.0, 20.0])  # clipped
    assert lab.used == 3 and lab.left == 2
    with pytest.raises(RuntimeError):
        lab.run({"x": np.ones(3)})
    noisy = Lab(task, 0.1, 20000, np.random.default_rng(0)).run({"x": np.full(20000, 2.0)})
    assert np.all(noisy > 0) and np.log(noisy / 4).std() == pytest.approx(0.1, rel=0.03)


@pytest.mark.parametrize("agent", ["regression", "brute"])
def test_offline_agents_recover_an_easy_law_without_noise(agent):
    (task,) = tasks(["gravitation"], ["easy"])
    lab = Lab(task, 0.0, 12, np.random.default_rng(3))
    text, notes = (ag.regression(lab, np.random.default_rng(4)) if agent == "regression"
                   else ag.brute(lab, np.random.default_rng(4), tuple(k / 2 for k in range(-6, 7))))
    assert equivalent(text, task.expr, task.ranges, rtol=1e-4)["match"], (text, notes)
    assert lab.used == 12 and ("rounded" in notes if agent == "regression" else "searched 2197 laws" in notes)


def test_regression_keeps_an_exponent_off_the_grid_and_says_so():
    task = Task("t", "custom", "y", {"x": (0.1, 10.0)}, "3*x**1.37")
    text, notes = ag.regression(Lab(task, 0.0, 10, np.random.default_rng(0)), np.random.default_rng(1))
    assert text == "3*x**1.37" and "(kept)" in notes


def test_a_long_candidate_is_judged_by_the_numeric_check():
    long = "+".join(f"a**{i}*b" for i in range(1, 26))  # 74 operations: over MAX_OPS, sympy is skipped
    r = equivalent(long, "b*(" + "+".join(f"a**{i}" for i in range(25, 0, -1)) + ")", {"a": (0.1, 10.0), "b": (0.1, 10.0)})
    assert r["match"] and r["method"] == "numeric" and r["factor"] == pytest.approx(1.0)
