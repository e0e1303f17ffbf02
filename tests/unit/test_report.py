"""The report layer on a synthetic store: no world is run, curves are made up."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from emergelab.errors import UserError
from emergelab.lab.recorder import Recorder
from emergelab.lab.store import Store
from emergelab.report import curves_figure, group_metrics, run_report, sweep_figure, sweep_report, to_svg
from emergelab.report import write_report

SWEEP = "sweep-grokking-0123456789"


def _sigmoid(x, mid, width):
    return 1.0 / (1.0 + np.exp(-(x - mid) / width))


def _write_grokking_run(store: Store, run_id: str, train_fraction: float, seed: int, grok_mid: float | None):
    """A grokking-like run: train acc saturates early, val acc jumps at grok_mid (or never)."""
    rec = Recorder(progress=False)
    for step in range(0, 1000, 10):
        tr = 0.01 + 0.99 * _sigmoid(step, 100, 15)
        va = 0.01 + (0.99 * _sigmoid(step, grok_mid, 25) if grok_mid else 0.0)
        rec.log(step, **{"train/acc": tr, "val/acc": va, "train/loss": 5.0 * np.exp(-step / 60) + 1e-4,
                         "val/loss": 5.0 * (1 - va) + 1e-3, "weight/norm": 30 - step / 50})  # fmt: skip
    fit = {"height": 0.98, "sharpness": 0.05, "method": "sigmoid", "r2": 0.99}
    trans = {"train/acc": [{"onset": 60, "midpoint": 100, "end": 140, "start_level": 0.01, "end_level": 1.0,
                            **fit}]}  # fmt: skip
    trans["val/acc"] = [] if grok_mid is None else [
        {"onset": grok_mid - 110, "midpoint": grok_mid, "end": grok_mid + 110, "start_level": 0.02,
         "end_level": 1.0, **fit}]  # fmt: skip
    meta = {"run_id": run_id, "world": "grokking", "preset": "quick", "seed": seed,
            "config_hash": run_id[-6:], "overrides": {"train_fraction": str(train_fraction)},
            "config": {"modulus": 127, "train_fraction": train_fraction, "lr": 1e-3, "seed": seed},
            "created": f"2024-01-01T00:00:0{seed}", "host": "testhost",
            "emergelab_version": "0.1.0"}  # fmt: skip
    summary = {"transitions": trans, "grokking_delay": (grok_mid - 100) if grok_mid else None,
               "final_val_acc": 1.0 if grok_mid else 0.01, "wall_s": 1.0}  # fmt: skip
    store.write_run(run_id, meta, rec, summary)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    _write_grokking_run(s, "grokking-aaa111", 0.2, 1, 700.0)
    _write_grokking_run(s, "grokking-aaa222", 0.2, 2, None)  # never grokked
    _write_grokking_run(s, "grokking-bbb111", 0.3, 1, 410.0)
    # grokking-bbb222 is planned but not run yet
    s.write_sweep(SWEEP, {"world": "grokking", "preset": "quick", "overrides": {},
                          "grid": {"train_fraction": ["0.2", "0.3"]}, "seeds": 2,
                          "run_ids": ["grokking-aaa111", "grokking-aaa222", "grokking-bbb111",
                                      "grokking-bbb222"],
                          "created": "2024-01-01T00:00:00"})  # fmt: skip
    return s


def _no_external(html: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(?!#)", html)  # only in-document refs (SVG clip paths)


def test_run_report(store):
    html = run_report(store, "grokking-bbb111")
    assert html.count("<svg") >= 3  # */acc, */loss, weight/*
    assert "val/acc rose from 0.02 to 1.00 between step 300 and 520 (midpoint 410)" in html
    assert "grokking delay was 310 steps" in html
    for key in ("modulus", "train_fraction", "lr"):
        assert f"<td>{key}</td>" in html
    assert "testhost" in html and "grokking-bbb111" in html
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    _no_external(html)


def test_run_report_never_grokked(store):
    html = run_report(store, "grokking-aaa222")
    assert "val/acc showed no sharp transition" in html
    assert "never reached 0.95" in html


def test_group_metrics():
    panels = dict(group_metrics(["val/acc", "train/acc", "train/loss", "val/loss", "weight/norm",
                                 "li2/grad_norm", "li2/diag", "lr"]))  # fmt: skip
    assert panels["*/acc"] == ["train/acc", "val/acc"]
    assert panels["*/loss"] == ["train/loss", "val/loss"]
    assert panels["weight/*"] == ["weight/norm"] and panels["li2/*"] == ["li2/diag", "li2/grad_norm"]
    assert panels["other"] == ["lr"]
    assert list(panels)[:2] == ["*/acc", "*/loss"]


def test_curves_figure_marks_transitions_and_logs_losses():
    steps = np.arange(0, 1000, 10)
    frame = pd.DataFrame({"train/loss": 10 * np.exp(-steps / 50) + 1e-5, "val/acc": _sigmoid(steps, 400, 20)},
                         index=steps)  # fmt: skip
    t = {"val/acc": [{"onset": 300, "midpoint": 400, "end": 500}], "train/loss": {"error": "too short"}}
    fig = curves_figure(frame, ["train/loss"], None, "loss")
    assert fig.axes[0].get_yscale() == "log"
    fig = curves_figure(frame, ["val/acc", "missing/name"], t, "acc")
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear"
    assert len(ax.patches) == 1  # the shaded onset–end span
    assert any(ln.get_linestyle() == "--" and list(ln.get_xdata()) == [400, 400] for ln in ax.lines)
    svg = to_svg(fig)
    assert svg.startswith("<svg") and "val/acc" in svg


def test_sweep_figure_counts_missing_and_handles_categories():
    runs = pd.DataFrame({"config.train_fraction": [0.1, 0.1, 0.3, 0.3, 1.5, 1.5],
                         "summary.grokking_delay": [None, 900.0, 300.0, 320.0, None, None],
                         "config.group": ["Z59", "Z59", "S5", "S5", "Z97", "Z97"]})  # fmt: skip
    fig = sweep_figure(runs, "train_fraction", "grokking_delay")
    ax = fig.axes[0]
    assert "3 of 6 runs never grokked" in ax.get_title(loc="left")
    assert ax.get_xscale() == "log"
    fig = sweep_figure(runs, "config.group", "summary.grokking_delay")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["Z59", "S5", "Z97"]
    with pytest.raises(UserError):
        sweep_figure(runs, "no_such_param", "grokking_delay")
    fig = sweep_figure(runs.assign(**{"summary.grokking_delay": None}), "train_fraction", "grokking_delay")
    assert "6 of 6" in fig.axes[0].get_title(loc="left")
    to_svg(fig)


def test_sweep_report(store):
    html = sweep_report(store, SWEEP)
    assert "3 of 4 planned runs complete" in html
    assert "grokking_delay vs train_fraction" in html  # a figure per swept parameter
    assert "1 of 3 runs never grokked" in html
    row = re.search(r"<tr class=\"muted\">(.*?)</tr>", html, re.S).group(1)
    assert "grokking-bbb222" in row and "not yet run" in row
    _no_external(html)


def test_write_report_atomic(store, tmp_path):
    out = tmp_path / "r.html"
    assert write_report(store, "bbb1", out) == out  # unique prefix of the hash part
    assert out.read_text().startswith("<!doctype html>")
    assert write_report(store, SWEEP, tmp_path) == tmp_path / f"{SWEEP}.html"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    bad = tmp_path / "bad.html"
    with pytest.raises(UserError):
        write_report(store, "nothing-like-this", bad)
    with pytest.raises(UserError):
        write_report(store, "grokking-aaa", bad)  # ambiguous prefix
    assert not bad.exists()
    with pytest.raises(UserError):
        write_report(store, "bbb1", tmp_path / "no" / "such" / "dir.html")


def test_failed_build_leaves_old_file(store, tmp_path, monkeypatch):
    out = tmp_path / "r.html"
    out.write_text("old")
    import emergelab.report.html as h

    def boom(*a, **k):
        raise RuntimeError("build failed")

    monkeypatch.setattr(h, "run_report", boom)  # fails mid-build, after resolving the ref
    with pytest.raises(RuntimeError):
        write_report(store, "grokking-bbb111", out)
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
