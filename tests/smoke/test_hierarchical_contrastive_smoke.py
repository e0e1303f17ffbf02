"""The hierarchical_contrastive world runs end to end in a second or two (tiny preset) in both
label modes, logs what it promises with values in range, gives bad input one line and exit 2 on
the command line, and its sweep section tabulates the geometry against data size."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from emergelab.lab.sweep import run_world

EVAL = {"orth/angle_deg", "orth/angle_min_deg", "orth/cos", "orth/overlap", "orth/cov_cos",
        "orth/between_share", "variant/fdr",
        "variant/probe_acc", "variant/noise_ratio", "trait/r2", "species/acc", "genus/acc"}


@pytest.mark.parametrize("mode", ["hierarchical", "flat"])
def test_tiny_logs_everything(mode):
    rec = run_world("hierarchical_contrastive", "tiny", label_mode=mode)
    train = {"train/loss", "train/species"} | ({"train/genus"} if mode == "hierarchical" else set())
    assert set(rec.names) == EVAL | train
    assert rec.series("orth/angle_deg")[0].tolist() == [0, 5, 10, 15, 20]
    assert rec.series("train/loss")[0].tolist() == [5, 10, 15, 20]  # nothing trained at step 0
    for name in EVAL | train:
        assert np.all(np.isfinite(rec.series(name)[1])), name
    angle = rec.series("orth/angle_deg")[1]
    assert np.all((angle >= 0) & (angle <= 90))
    for name in ("orth/overlap", "orth/between_share", "orth/cos", "variant/probe_acc", "species/acc",
                 "genus/acc"):
        v = rec.series(name)[1]
        assert np.all((v >= 0) & (v <= 1 + 1e-9)), name
    s = rec.summary
    assert s["label_mode"] == mode and s["n_species"] == 6 and s["data"] == 64
    assert s["variant_chance"] == pytest.approx(0.5) and 0 < s["random_angle_deg"] < 90
    assert {"input_orth_angle_deg", "input_trait_r2", "latent_trait_r2", "final_trait_r2"} <= set(s)


@pytest.mark.parametrize("args,phrase", [
    (["-s", "data=5"], "smaller than the number of species"),
    (["-s", "label_mode=genus"], "choose one of hierarchical, flat"),
    (["-s", "n_genera=-3"], "n_genera must be at least 1"),
])
def test_bad_input_is_one_line_exit_2(args, phrase, tmp_path, capsys, monkeypatch):
    from emergelab.cli import main

    monkeypatch.setattr(sys, "argv", ["emergelab", "run", "hierarchical_contrastive", "-p", "tiny",
                                      "--store", str(tmp_path / "store"), *args])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert phrase in err and len(err.splitlines()) == 1
    assert not (tmp_path / "store").exists()  # nothing written


def test_sweep_section_tabulates_geometry_against_data():
    import pandas as pd

    from emergelab.worlds._hier_sweep import data_table
    from emergelab.lab.registry import get_world

    _sweep_section = get_world("hierarchical_contrastive").sweep_section  # the registered (lazy) hook

    rows = []
    for mode in ("hierarchical", "flat"):
        for data in (128, 1024):
            for seed in (0, 1):
                rows.append({"config.label_mode": mode, "config.data": data, "config.seed": seed,
                             "summary.final_orth_angle_deg": 60 + seed, "summary.final_orth_overlap": 0.2,
                             "summary.final_trait_r2": 0.5 if mode == "hierarchical" else 0.1,
                             "summary.final_variant_fdr": data / 1000, "summary.final_variant_probe_acc": 0.5,
                             "summary.final_species_acc": 0.9})
    runs = pd.DataFrame(rows)
    df = data_table(runs)
    assert len(df) == 4 and df.runs.tolist() == [2, 2, 2, 2]
    row = df[(df.label_mode == "flat") & (df.data == 1024)].iloc[0]
    assert row.final_orth_angle_deg_mean == pytest.approx(60.5)
    assert row.final_trait_r2_mean == pytest.approx(0.1)
    sec = _sweep_section(None, runs, {"data": ["128", "1024"], "label_mode": ["hierarchical", "flat"]})
    assert sec is not None and "data" in str(sec)
    assert _sweep_section(None, runs, {"seed": ["0", "1"]}) is None  # nothing swept that it analyses
