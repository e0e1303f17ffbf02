"""The familial_models world runs end to end in a few seconds (tiny preset), logs its training
curves and its frontiers over compute, keeps every method's operating points, and a bad config
on the command line is one line, exit 2, with nothing written."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from emergelab.lab.sweep import run_world

METHODS = {"member0", "member1", "family", "family_recompute", "control_stitch", "control_recompute"}


def test_tiny_logs_curves_frontiers_and_summary():
    rec = run_world("familial_models", "tiny")
    names = set(rec.names)
    assert {"train/loss", "train/own", "train/handoff", "train/align", "control/loss", "member0/acc",
            "member1/acc", "handoff1/acc", "control_member0/acc", "control_member1/acc",
            "control_handoff1/acc"} <= names
    assert rec.series("member0/acc")[0].tolist() == [10, 20, 30]
    assert {f"frontier/{m}" for m in METHODS} <= names
    for m in METHODS:  # a frontier over compute: MACs rising, accuracy rising
        steps, acc = rec.series(f"frontier/{m}")
        assert np.all(np.diff(steps) > 0) and np.all(np.diff(acc) > 0), m
        assert np.all((acc >= 0) & (acc <= 1)), m
    curves = rec.artefacts["curves"]
    assert set(curves) >= {"member0_exit", "member0_full", "member1_exit", "member1_full", "family",
                           "family_recompute", "control_stitch", "control_recompute"}
    assert len(curves["member1_exit"]["macs"]) == 3  # one point per threshold
    s = rec.summary
    assert s["macs_member0"] < s["macs_member1"] == s["macs_hi"]
    for k in ("area_family", "area_best_member", "area_control_stitch", "family_acc_at_member1",
              "dominance_family_over_best_member", "align_area_gain_over_stitch"):
        assert np.isfinite(s[k]), k
    assert isinstance(s["family_beats_every_member_at_its_compute"], bool)


def test_without_control_only_the_aligned_family():
    rec = run_world("familial_models", "tiny", control=False)
    assert not any(n.startswith("control") for n in rec.names)
    assert "area_control_stitch" not in rec.summary and "area_family" in rec.summary


@pytest.mark.parametrize("arg,phrase", [
    ("thresholds=0.5,2", "thresholds must each be in (0, 1]"),
    ("widths=", "at least 2 members"),
    ("widths=16,8", "strictly increasing"),
])
def test_bad_input_is_one_line_exit_2(arg, phrase, tmp_path, capsys, monkeypatch):
    from emergelab.cli import main

    monkeypatch.setattr(sys, "argv", ["emergelab", "run", "familial_models", "-p", "tiny",
                                      "--store", str(tmp_path / "store"), "-s", arg])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert phrase in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "store").exists()  # nothing written
