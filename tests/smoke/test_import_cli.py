"""`emergelab import` and `analyze --tensorboard/--mlflow/--table`: a real TensorBoard log
in, a run with its transitions out, the same report as a lab run (user text escaped), and
bad input that writes nothing (the _snapshot pattern of test_bad_inputs.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.smoke.test_bad_inputs import _snapshot
from tests.unit.test_imports import _mlrun, jump, write_tb

pytest.importorskip("tensorboard")

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def tblog(tmp_path):
    s, y = jump()
    write_tb(tmp_path / "logs" / f"run{EVIL}", {"val/acc": (s, y), f"{EVIL}/loss": (s, 1 - y)})
    return tmp_path / "logs"


def test_import_tensorboard_then_report_analyze_export(run_cli, tmp_path, tblog):
    rc, out, err = run_cli("import", str(tblog), "--name", "mylog")
    assert rc == 0, err
    rid = out.split("imported-")[1].split()[0]
    rid = f"imported-{rid}"
    assert "val/acc @ 12" in out  # the transition, detected at import (midpoint ~120)
    rc, out, err = run_cli("runs", "--world", "imported")
    assert rc == 0 and rid in out
    rc, out, err = run_cli("show", rid)
    assert rc == 0 and "val/acc" in out and "midpoint 12" in out
    import pyarrow.parquet as pq

    t = pq.read_table(tmp_path / "store" / "runs" / rid / "metrics.parquet")
    assert t.column_names == ["run_id", "step", "name", "value", "wall_time"]
    rc, out, err = run_cli("export", rid, "-o", str(tmp_path / "m.csv"))
    m = pd.read_csv(tmp_path / "m.csv")
    acc = m[m["name"] == "val/acc"].sort_values("step")["value"].to_numpy()
    assert rc == 0 and np.array_equal(acc, jump()[1].astype(np.float32).astype(np.float64))
    # EWS: an imported run has no world; by default the metrics with a transition are tested
    rc, out, err = run_cli("analyze", rid, "--surrogates", "20")
    assert rc == 0, err
    assert "val/acc" in out and "stored with the run" in out
    rc, out, err = run_cli("report", rid, "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    html = (tmp_path / "r.html").read_text()
    assert "<script" not in html.lower()  # run and metric names are user text: escaped everywhere
    assert "&lt;script&gt;" in html and "<svg" in html and "Transitions" in html and "Early warnings" in html
    assert "mylog/run" in html and str(tblog.resolve()) in html  # the source, in the config table
    # importing again finds the same runs: skipped, or replaced with --force
    rc, out, err = run_cli("import", str(tblog), "--name", "mylog")
    assert rc == 0 and "skipped" in out
    rc, out, err = run_cli("import", str(tblog), "--name", "mylog", "--force")
    assert rc == 0 and rid in out


def test_import_mlflow_and_wandb_and_duplicates_note(run_cli, tmp_path):
    s, y = jump()
    _mlrun(tmp_path / "mlruns", "1", "abc", {"val/acc": (s, y)}, name="first")
    rc, out, err = run_cli("import", str(tmp_path / "mlruns"))
    assert rc == 0 and "mlruns/exp1/first" in out and "val/acc @ 1" in out, err
    hist = pd.DataFrame({"_step": np.r_[s, s[-5:]], "_runtime": 0.0, "acc": np.r_[y, y[-5:] + 1]})
    hist.to_csv(tmp_path / "wandb.csv", index=False)
    rc, out, err = run_cli("import", str(tmp_path / "wandb.csv"))
    assert rc == 0 and "5 repeated step(s)" in out and "kept the value logged last" in out
    rc, out, err = run_cli("query", "SELECT count(*) AS n FROM runs WHERE world = 'imported'")
    assert rc == 0 and out.split()[-1] == "2"


def test_analyze_logs_directly(run_cli, tmp_path, tblog):
    rc, out, err = run_cli("analyze", "--tensorboard", str(tblog), "-m", "val/acc", "--surrogates", "20",
                           "-o", str(tmp_path / "ews.csv"))  # fmt: skip
    assert rc == 0, err
    t = pd.read_csv(tmp_path / "ews.csv")
    assert set(t["metric"]) == {"val/acc"} and set(t["indicator"]) == {"var", "ac1"}
    s, y = jump()
    pd.DataFrame({"step": s, "acc": y}).to_parquet(tmp_path / "w.parquet")
    rc, out, err = run_cli("analyze", "--table", str(tmp_path / "w.parquet"), "--surrogates", "20")
    assert rc == 0 and "acc" in out, err
    _mlrun(tmp_path / "mlruns", "1", "abc", {"val/acc": (s, y)})
    rc, out, err = run_cli("analyze", "--mlflow", str(tmp_path / "mlruns"), "--surrogates", "20")
    assert rc == 0 and "val/acc" in out, err
    assert not (tmp_path / "store").exists()  # analyzing a log stores nothing


def _bad_sources(tmp):
    (tmp / "empty").mkdir()
    notev = tmp / "notev" / "events.out.tfevents.1.host"
    notev.parent.mkdir()
    notev.write_bytes(b"\x00" * 64)
    write_tb(tmp / "nan", {"val/loss": (range(10), [1.0] * 3 + [float("nan")] * 7)})
    (tmp / "mlexp").mkdir()
    (tmp / "mlexp" / "meta.yaml").write_text("experiment_id: '3'\nname: e\n")
    pd.DataFrame({"step": [0, 1], "name": ["a", "a"], "value": [1.0, np.inf]}).to_csv(tmp / "inf.csv", index=False)


BAD = [
    (["import", "{t}/nope"], "no such file or folder"),
    (["import", "{t}/empty"], "neither TensorBoard event files nor MLflow runs"),
    (["import", "{t}/empty", "--format", "tensorboard"], "no TensorBoard event files"),
    (["import", "{t}/notev"], "is not a TensorBoard event file"),
    (["import", "{t}/nan"], "metric 'val/loss' has 7 NaN or infinite value(s), the first at step 3"),
    (["import", "{t}/mlexp"], "no MLflow runs under"),
    (["import", "{t}/inf.csv"], "metric 'a' has 1 NaN or infinite"),
    (["import", "{t}/empty", "--format", "csv"], "unknown format 'csv'"),
    (["analyze", "--tensorboard", "{t}/nan", "-m", "val/loss"], "metric 'val/loss' has 7 NaN"),
    (["analyze", "--mlflow", "{t}/mlexp"], "no MLflow runs under"),
    (["analyze", "somerun", "--tensorboard", "{t}/nan"], "give one source"),
]


@pytest.mark.parametrize("args,phrase", BAD, ids=[f"{a[0]}:{p[:24]}" for a, p in BAD])
def test_bad_input_writes_nothing(run_cli, tmp_path, args, phrase):
    _bad_sources(tmp_path)
    before = _snapshot(tmp_path)
    rc, out, err = run_cli(*[a.format(t=tmp_path) for a in args])
    assert rc == 2, (out, err)
    assert phrase in err and len(err.strip().splitlines()) == 1, err
    assert _snapshot(tmp_path) == before  # nothing written, nothing touched
