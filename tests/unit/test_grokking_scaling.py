"""Critical train fraction and its scaling-law fits (emergelab.measures.critical), and the
grokking sweep section built on them, on synthetic runs where the answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emergelab.errors import UserError
from emergelab.measures.critical import (FREE, LAWS, bracket_wins, critical_fractions, fit_critical_laws,
                                         predict_n_c)  # fmt: skip

MODULI = np.array([23, 31, 47, 59, 79, 97, 127, 163])
FRACTIONS = np.geomspace(0.02, 0.9, 70)  # ~5.7 % apart: the midpoint is within ~3 % of f_c
TRUE = {"M log M": (3.7, np.nan), "M": (10.0, np.nan), "M^1.5": (1.5, np.nan), "M^2": (0.2, np.nan),
        FREE: (0.5, 1.8)}  # fmt: skip


def _runs(law: str, seeds: int = 2, noise: float = 0.0, rng=None) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per (M, fraction, seed): grokked iff the fraction reaches that seed's f_c, the
    law's f_c times a seed-level factor exp(noise * N(0, 1))."""
    c, a = TRUE[law]
    fc = predict_n_c(law, c, a, MODULI) / MODULI.astype(float) ** 2
    assert np.all((fc > FRACTIONS[0]) & (fc < FRACTIONS[-1]))
    rows = []
    for m, f0 in zip(MODULI, fc):
        for s in range(seeds):
            f_seed = f0 * np.exp(noise * rng.standard_normal()) if noise else f0
            rows += [{"modulus": m, "train_fraction": f, "seed": s, "grokked": bool(f >= f_seed)} for f in FRACTIONS]
    return pd.DataFrame(rows), fc


@pytest.mark.parametrize("law", list(LAWS))
def test_the_law_that_made_the_data_wins(law):
    runs, fc = _runs(law)
    table = critical_fractions(runs)
    assert table["status"].eq("ok").all()
    assert np.all(np.abs(table["critical_fraction"] / fc - 1) < 0.03)
    assert np.all((table["lower"] < fc) & (fc <= table["upper"]))
    fits = fit_critical_laws(table["modulus"], table["n_c"]).set_index("law")
    assert fits["best"].sum() == 1 and fits.loc[law, "best"], fits
    assert abs(fits.loc[law, "c"] / TRUE[law][0] - 1) < 0.03
    # the winner's error is grid resolution; every other one-parameter law is far off
    others = fits.drop(index=[law, FREE])["rms_log_error"]
    assert fits.loc[law, "rms_log_error"] < 0.02 and others.min() > 3 * fits.loc[law, "rms_log_error"]


def test_bracket_ends_tell_a_resolved_law_from_a_coin_toss():
    runs, _ = _runs("M")  # fine grid, 8 moduli: M wins at every corner
    w = bracket_wins(critical_fractions(runs)).set_index("law")
    assert w.loc["M", "win_share"] == 1.0 and w["win_share"].sum() == pytest.approx(1.0)
    assert w.loc[FREE, "a_lo"] < 1.0 < w.loc[FREE, "a_hi"] and w.loc[FREE, "a_hi"] - w.loc[FREE, "a_lo"] < 0.1
    # brackets 0.2 - 0.4 at M = 10 and 20. Corners (f(10), f(20)): (0.4, 0.2) is n_c ∝ M;
    # (0.2, 0.2) and (0.4, 0.4) a constant fraction, n_c ∝ M^2; (0.2, 0.4) is n_c ∝ M^3,
    # nearest M^2. Free exponents: 1, 2, 2, 3
    t = pd.DataFrame({"modulus": [10, 20], "lower": [0.2, 0.2], "upper": [0.4, 0.4], "status": ["ok", "ok"]})
    w = bracket_wins(t).set_index("law")
    assert w.loc["M", "win_share"] == 0.25 and w.loc["M^2", "win_share"] == 0.75
    assert (w.loc[FREE, "a_lo"], w.loc[FREE, "a_hi"]) == pytest.approx((1.0, 3.0))
    with pytest.raises(UserError, match="2 or more bracketed"):
        bracket_wins(t.iloc[:1])


def test_free_power_law_recovers_its_exponent_and_is_never_picked():
    runs, _ = _runs(FREE)
    fits = fit_critical_laws(*critical_fractions(runs)[["modulus", "n_c"]].T.to_numpy()).set_index("law")
    assert abs(fits.loc[FREE, "a"] - 1.8) < 0.03 and fits.loc[FREE, "exponent"] == fits.loc[FREE, "a"]
    assert not fits.loc[FREE, "best"] and fits.loc[FREE, "n_params"] == 2
    assert fits.loc[FREE, "rms_log_error"] <= fits["rms_log_error"].min() + 1e-12  # more freedom, no worse
    assert fits.loc[["M^1.5", "M^2"], "best"].any()  # 1.8 lies between them


def test_seed_noise_still_picks_m_log_m():
    runs, _ = _runs("M log M", seeds=4, noise=0.05, rng=np.random.default_rng(0))
    fits = fit_critical_laws(*critical_fractions(runs)[["modulus", "n_c"]].T.to_numpy()).set_index("law")
    assert fits.loc["M log M", "best"]
    # M log M behaves like M^(1 + 1/ln M) here: the free exponent says so too
    assert abs(fits.loc[FREE, "a"] - fits.loc["M log M", "exponent"]) < 0.1
    assert 1.2 < fits.loc["M log M", "exponent"] < 1.25


def _grid_runs(rates: dict[float, list[bool]], m: int = 31) -> pd.DataFrame:
    return pd.DataFrame([{"modulus": m, "train_fraction": f, "seed": s, "grokked": g}
                         for f, gs in rates.items() for s, g in enumerate(gs)])  # fmt: skip


def test_hand_computed_brackets():
    t = critical_fractions(_grid_runs({0.1: [False, False], 0.2: [False, False], 0.4: [True, True]})).iloc[0]
    assert t["critical_fraction"] == pytest.approx(np.sqrt(0.2 * 0.4)) and (t["lower"], t["upper"]) == (0.2, 0.4)
    assert t["n_c"] == pytest.approx(np.sqrt(0.08) * 31**2) and t["runs"] == 6 and t["fractions"] == 3
    # one seed of two at 0.2: the rate reaches 1/2 exactly there
    t = critical_fractions(_grid_runs({0.1: [False, False], 0.2: [True, False], 0.4: [True, True]})).iloc[0]
    assert t["critical_fraction"] == pytest.approx(0.2)
    # rates 1/4 -> 3/4: the crossing is half-way in log fraction
    t = critical_fractions(_grid_runs({0.1: [True, False, False, False], 0.4: [True, True, True, False]})).iloc[0]
    assert t["critical_fraction"] == pytest.approx(0.2)


def test_a_lucky_low_fraction_does_not_move_the_estimate():
    t = critical_fractions(_grid_runs({0.1: [True], 0.2: [False], 0.3: [False], 0.4: [True]})).iloc[0]
    assert (t["lower"], t["upper"], t["inversions"]) == (0.3, 0.4, 1)


def test_outside_the_grid_and_val_acc_threshold():
    runs = pd.DataFrame({"modulus": [31, 31, 59, 59, 97, 97], "train_fraction": [0.3, 0.5] * 3,
                         "val_acc": [0.10, 0.99, 0.96, 1.0, 0.2, 0.45]})  # fmt: skip
    t = critical_fractions(runs).set_index("modulus")
    assert t.loc[31, "status"] == "ok" and t.loc[59, "status"] == "below grid" and t.loc[97, "status"] == "above grid"
    assert np.isnan(t.loc[59, "critical_fraction"]) and t.loc[59, "upper"] == 0.3 and t.loc[97, "lower"] == 0.5
    assert critical_fractions(runs, threshold=0.05).set_index("modulus").loc[31, "status"] == "below grid"
    assert critical_fractions(runs, threshold=0.97).set_index("modulus").loc[59, "status"] == "ok"
    with pytest.raises(UserError, match="2 or more moduli"):  # only M=31 is bracketed
        fit_critical_laws(t.index, t["n_c"])


@pytest.mark.parametrize("runs, match", [
    ([1, 2], "DataFrame"),
    (pd.DataFrame({"modulus": [31]}), "missing column"),
    (pd.DataFrame({"modulus": [], "train_fraction": [], "grokked": []}), "empty"),
    (pd.DataFrame({"modulus": [31], "train_fraction": [0.3]}), "grokked"),
    (pd.DataFrame({"modulus": [31], "train_fraction": ["a"], "grokked": [True]}), "numeric"),
    (pd.DataFrame({"modulus": [31], "train_fraction": [np.nan], "grokked": [True]}), "missing"),
    (pd.DataFrame({"modulus": [1], "train_fraction": [0.3], "grokked": [True]}), "modulus"),
    (pd.DataFrame({"modulus": [31], "train_fraction": [1.2], "grokked": [True]}), "train_fraction"),
    (pd.DataFrame({"modulus": [31], "train_fraction": [0.3], "grokked": [2]}), "grokked"),
])  # fmt: skip
def test_bad_runs_are_user_errors(runs, match):
    with pytest.raises(UserError, match=match):
        critical_fractions(runs)


def test_bad_fit_inputs_are_user_errors():
    with pytest.raises(UserError, match="lengths"):
        fit_critical_laws([31, 59], [1.0])
    with pytest.raises(UserError, match="n_c > 0"):
        fit_critical_laws([31, 59], [1.0, -2.0])
    with pytest.raises(UserError, match="unknown law"):
        predict_n_c("M^3", 1.0, np.nan, [31])


# -- the grokking sweep section -----------------------------------------------------------
def _store_frame(law: str = "M log M") -> tuple[pd.DataFrame, dict]:
    """A store-like frame (config.*, summary.*, seed) of a sweep over group x train_fraction."""
    groups, fractions = ["Z31", "Z59", "Z97"], [0.12, 0.15, 0.18, 0.21, 0.25, 0.3, 0.36, 0.43, 0.5]
    c, a = TRUE[law]
    rows = []
    for g in groups:
        m = int(g[1:])
        fc = predict_n_c(law, c, a, m) / m**2
        for f in fractions:
            for seed in (1, 2):
                rows.append({"config.group": g, "config.train_fraction": f, "config.epochs": 3000, "seed": seed,
                             "summary.final_val_acc": 1.0 if f >= fc else 0.01})  # fmt: skip
    return pd.DataFrame(rows), {"group": groups, "train_fraction": fractions}


def test_sweep_section_tables_the_critical_fractions_and_fits():
    from emergelab.worlds._grokking_scaling import sweep_section

    runs, grid = _store_frame()
    sec = sweep_section(None, runs, grid)
    assert sec["id"] == "critical" and len(sec["figures"]) == 1 and len(sec["tables"]) == 2
    crit, fits = sec["tables"]
    assert [r["cells"][1]["text"] for r in crit["rows"]] == ["31", "59", "97"] * 2  # two thresholds
    assert [r["cells"][-1]["text"] for r in crit["rows"]] == ["ok"] * 6
    best = [r["cells"][1]["text"] for r in fits["rows"] if r["cells"][-1]["text"] == "yes"]
    assert best == ["M log M"] * 2 and "Best one-parameter law: n_c = " in " ".join(sec["paragraphs"])
    assert "<svg" in sec["figures"][0]["svg"]


def test_sweep_section_needs_both_axes_and_survives_one_bracket():
    from emergelab.worlds._grokking_scaling import sweep_section

    runs, grid = _store_frame()
    assert sweep_section(None, runs, {"group": grid["group"]}) is None
    assert sweep_section(None, runs, {"train_fraction": grid["train_fraction"], "group": ["Z31"]}) is None
    few = runs[runs["config.group"] == "Z31"].assign(**{"config.group": "Z5", "summary.final_val_acc": 1.0})  # below grid
    sec = sweep_section(None, pd.concat([runs[runs["config.group"] == "Z31"], few]), grid)
    assert len(sec["tables"]) == 1 and any("no law fitted" in n for n in sec["notes"])


def test_sweep_section_one_analysis_per_other_swept_setting():
    from emergelab.worlds._grokking_scaling import sweep_section

    runs, grid = _store_frame()
    runs = pd.concat([runs.assign(**{"config.betas": [[0.9, 0.999]] * len(runs)}),
                      runs.assign(**{"config.betas": [[0.9, 0.98]] * len(runs), "summary.final_val_acc": 0.0})])
    sec = sweep_section(None, runs, {**grid, "betas": [(0.9, 0.999), (0.9, 0.98)]})
    assert len(sec["tables"]) == 3 and len(sec["figures"]) == 1  # the second setting never generalises
    assert [t["caption"].endswith("betas=[0.9, 0.98]") for t in sec["tables"]] == [False, False, True]
