"""Readers of training logs (lab/imports/): real TensorBoard event files written by torch's
SummaryWriter, real and hand-written MLflow runs, W&B-shaped exports and plain tables, read
back exactly; the rules (NaN rejected, repeated steps keep the last) and transitions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from emergelab.errors import UserError
from emergelab.lab.imports import long_frame, plan_import, read_source

pytest.importorskip("tensorboard")  # torch's SummaryWriter needs it (the [import] extra)


def jump(n=200, at=120, seed=0):
    """A sharp rise at step `at`, with a little noise: a curve with one transition."""
    s = np.arange(n)
    return s, 1 / (1 + np.exp(-(s - at) / 3.0)) + 0.02 * np.random.default_rng(seed).standard_normal(n)


def write_tb(folder, series: dict, new_style=False):
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(folder))
    for name, (steps, values) in series.items():
        for s, v in zip(steps, values):
            w.add_scalar(name, float(v), int(s), new_style=new_style)
    w.close()


def by_metric(frame, run=None):
    f = frame if run is None else frame[frame["run_id"] == run]
    return {str(n): g.sort_values("step") for n, g in f.groupby("name", observed=True)}


def test_tensorboard_round_trip_float32_and_runs(tmp_path):
    s, y = jump()
    write_tb(tmp_path / "logs" / "a", {"train/loss": (s, 1 - y), "val/acc": (s[::10], y[::10])})
    write_tb(tmp_path / "logs" / "b", {"train/loss": (s[:50], y[:50])}, new_style=True)  # tf2-style tensors
    src = read_source(tmp_path / "logs")
    assert src.format == "tensorboard" and [r.name for r in src.runs] == ["a", "b"]
    f = long_frame(src)
    assert list(f.columns) == ["run_id", "step", "name", "value", "wall_time"]
    a = by_metric(f, "a")
    assert np.array_equal(a["train/loss"]["value"], (1 - y).astype(np.float32).astype(np.float64))
    assert np.array_equal(a["val/acc"]["step"], s[::10])
    b = by_metric(f, "b")
    assert np.array_equal(b["train/loss"]["value"], y[:50].astype(np.float32).astype(np.float64))
    assert (f["wall_time"] > 1.5e9).all()
    runs = plan_import(src)
    trans = runs[0].summary["transitions"]
    assert len(trans["val/acc"]) == 1 and 110 <= trans["val/acc"][0]["midpoint"] <= 130
    assert len(trans["train/loss"]) == 1 and 115 <= trans["train/loss"][0]["midpoint"] <= 125
    assert runs[0].meta["world"] == "imported" and runs[0].meta["config"]["format"] == "tensorboard"
    assert runs[0].run_id != runs[1].run_id and runs[0].run_id == plan_import(read_source(tmp_path / "logs"))[0].run_id


def test_tensorboard_single_file_and_bad_files(tmp_path):
    write_tb(tmp_path / "one", {"x": (range(5), range(5))})
    f = next((tmp_path / "one").glob("events.out.tfevents*"))
    assert read_source(f).runs[0].metrics == ["x"]
    fake = tmp_path / "fake" / "events.out.tfevents.123.host"
    fake.parent.mkdir()
    fake.write_bytes(b"this is not a tfrecord file at all" * 3)
    with pytest.raises(UserError, match="is not a TensorBoard event file"):
        read_source(fake)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="neither TensorBoard event files nor MLflow runs"):
        read_source(tmp_path / "empty")
    with pytest.raises(UserError, match="no TensorBoard event files"):
        read_source(tmp_path / "empty", "tensorboard")
    # a job killed mid-write: the cut record is dropped with a note, the rest is read
    cut = tmp_path / "cut" / f.name
    cut.parent.mkdir()
    cut.write_bytes(f.read_bytes()[:-7])
    src = read_source(cut)
    assert len(src.runs[0].values) == 4 and "cut short" in " ".join(src.notes)


def test_array_decoder_matches_protobuf(tmp_path, monkeypatch):
    """The array decoder of add_scalar's records gives what protobuf decodes, point for point:
    step 0 (omitted on the wire), negative and huge steps, non-ASCII and long tags, a value 0."""
    from emergelab.lab.imports import tensorboard as tb

    long_tag = "ü/" + "x" * 200  # longer than the array decoder takes: protobuf's
    write_tb(tmp_path / "m", {"a": ([0, 5, -3, 2**40], [0.0, 1.5, -2.25, 1e30]), "é/b": ([1, 2], [3.0, 4.0]),
                              long_tag: ([7], [0.125])})  # fmt: skip
    f = next((tmp_path / "m").glob("events*"))
    fast = tb.read_file(f, [])
    nf = tb._fast_scalars(np.frombuffer(f.read_bytes(), np.uint8), *tb._records(f.read_bytes(), f, []), f)[0]
    assert nf.tolist() == [False, True, True, False, False, True, True, False]  # version, steps < 2**35, tags < 128 B
    monkeypatch.setattr(tb, "_fast_scalars", lambda a, offs, lens, path: (
        np.zeros(len(offs), bool), (np.empty(0, np.int64),) * 2 + (np.empty(0),) * 2, []))
    slow = tb.read_file(f, [])
    assert fast["name"].tolist() == slow["name"].tolist() == ["a"] * 4 + ["é/b"] * 2 + [long_tag]
    for k in ("step", "value", "wall_time"):
        assert np.array_equal(fast[k], slow[k]), k
    assert fast["step"][:4].tolist() == [0, 5, -3, 2**40]


def test_tensorboard_nan_rejected_and_repeated_steps_keep_last(tmp_path):
    write_tb(tmp_path / "nan", {"loss": (range(10), [1.0] * 5 + [float("nan")] + [1.0] * 4)})
    with pytest.raises(UserError, match=r"metric 'loss'.*1 NaN or infinite value\(s\), the first at step 5"):
        read_source(tmp_path / "nan")
    write_tb(tmp_path / "dup", {"loss": ([0, 1, 2, 1, 2, 3], [10.0, 11, 12, 21, 22, 23])})  # resumed at step 1
    src = read_source(tmp_path / "dup")
    r = src.runs[0]
    assert r.steps.tolist() == [0, 1, 2, 3] and r.values.tolist() == [10.0, 21, 22, 23]
    assert "2 repeated step(s)" in src.notes[-1] and "kept the value logged last" in src.notes[-1]


def test_mlflow_real_client_round_trip(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the file store behind this
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    mlflow.set_experiment("grok")
    s, y = jump(seed=1)
    with mlflow.start_run(run_name="seed-1"):
        for i in range(len(s)):
            mlflow.log_metric("val/acc", float(y[i]), step=int(s[i]))
        mlflow.log_metric("lr", 0.1, step=0)
    src = read_source(tmp_path / "mlruns")
    assert src.format == "mlflow" and [r.name for r in src.runs] == ["grok/seed-1"]
    m = by_metric(long_frame(src))
    assert np.array_equal(m["val/acc"]["value"], y) and np.array_equal(m["val/acc"]["step"], s)  # float64 exact
    runs = plan_import(src)
    assert len(runs[0].summary["transitions"]["val/acc"]) == 1
    assert runs[0].meta["config"]["mlflow_run_id"] == src.runs[0].extra["mlflow_run_id"]


def _mlrun(root, exp, run, metrics: dict, name=None, deleted=False):
    """A run in MLflow's documented file layout, written by hand."""
    (root / exp).mkdir(parents=True, exist_ok=True)
    (root / exp / "meta.yaml").write_text(f"experiment_id: '{exp}'\nlifecycle_stage: active\nname: exp{exp}\n")
    d = root / exp / run
    (d / "metrics").mkdir(parents=True)
    (d / "tags").mkdir()
    stage = "deleted" if deleted else "active"
    (d / "meta.yaml").write_text(f"run_id: {run}\nrun_name: {name or run}\nlifecycle_stage: {stage}\nstatus: 3\n")
    for k, (steps, vals) in metrics.items():
        f = d / "metrics" / k
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("".join(f"{1700000000000 + int(s)} {float(v)!r} {int(s)}\n" for s, v in zip(steps, vals)))
    return d


def test_mlflow_hand_written_layout(tmp_path):
    root = tmp_path / "mlruns"
    s, y = jump()
    _mlrun(root, "1", "aaa", {"train/loss": (s, 1 - y), "acc": (s, y)}, name="first")
    _mlrun(root, "1", "bbb", {"acc": (s, y)}, deleted=True)
    d = _mlrun(root, "2", "ccc", {"acc": ([0, 1], [0.5, float("nan")])})
    src = read_source(root / "1")  # one experiment
    assert [r.name for r in src.runs] == ["exp1/first"] and "deleted" in src.notes[0]
    m = by_metric(long_frame(src))
    assert np.array_equal(m["train/loss"]["value"], 1 - y)
    assert np.allclose(m["acc"]["wall_time"], 1700000000 + s / 1000)
    with pytest.raises(UserError, match="metric 'acc' of run 'exp2/ccc' has 1 NaN"):
        read_source(root)  # the whole folder: run ccc's NaN stops it
    with pytest.raises(UserError, match="not 'timestamp value step' lines"):
        (d / "metrics" / "acc").write_text("1 2 3 4\n")
        read_source(d)
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "meta.yaml").write_text("name: x\n")
    with pytest.raises(UserError, match="no MLflow runs under"):
        read_source(tmp_path / "exp")


def test_wandb_history_exports(tmp_path):
    s, y = jump()
    loss = np.where(s % 2 == 0, 1 - y, np.nan)  # W&B logs metrics at different steps: gaps
    hist = pd.DataFrame({"_step": s, "_runtime": s * 0.5, "_timestamp": 1.7e9 + s * 0.5, "val/acc": y,
                         "train/loss": loss, "media": ["img"] * len(s)})
    hist.to_csv(tmp_path / "h.csv", index=False)
    # as run.history() records dump with the json module (pandas' to_json would round to 10 digits)
    recs = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in json.loads(hist.to_json(orient="records"))]  # the row layout
    for r, yi, li in zip(recs, y, loss):  # ... with the exact values
        r["val/acc"], r["train/loss"] = float(yi), None if np.isnan(li) else float(li)
    (tmp_path / "h.json").write_text(json.dumps(recs))
    for f in ("h.csv", "h.json"):
        src = read_source(tmp_path / f)
        m = by_metric(long_frame(src))
        assert set(m) == {"val/acc", "train/loss"} and "non-numeric column(s) skipped: media" in src.notes[0]
        assert np.array_equal(m["val/acc"]["value"], y) and np.array_equal(m["train/loss"]["step"], s[::2])
        assert np.array_equal(m["val/acc"]["wall_time"], 1.7e9 + s * 0.5)
    ui = pd.DataFrame({"Step": s, "seed1 - val/acc": y, "seed1 - val/acc__MIN": y, "seed2 - val/acc": 1 - y})
    ui.to_csv(tmp_path / "ui.csv", index=False)
    src = read_source(tmp_path / "ui.csv")
    assert [r.name for r in src.runs] == ["seed1", "seed2"] and src.runs[1].metrics == ["val/acc"]


def test_long_and_wide_tables(tmp_path):
    s, y = jump()
    long = pd.DataFrame({"run": ["r1"] * len(s) + ["r2"] * len(s), "step": np.r_[s, s],
                         "name": "val/acc", "value": np.r_[y, 1 - y]})  # fmt: skip
    long.to_parquet(tmp_path / "l.parquet")
    (tmp_path / "l.jsonl").write_text("".join(json.dumps(r) + "\n" for r in long.to_dict("records")))
    for f in ("l.parquet", "l.jsonl"):
        src = read_source(tmp_path / f)
        assert [r.name for r in src.runs] == ["r1", "r2"] and np.array_equal(src.runs[1].values, 1 - y)
    pd.DataFrame({"step": s, "acc": y}).to_csv(tmp_path / "w.csv", index=False)
    assert np.array_equal(read_source(tmp_path / "w.csv").runs[0].values, y)
    for frame, msg in [
        (pd.DataFrame({"epoch": [1.0], "acc": [1.0]}), "nor a step column"),
        (pd.DataFrame({"step": [0.5, 1], "acc": [1.0, 2]}), "whole numbers"),
        (pd.DataFrame({"step": [0, 1], "name": ["a", "a"], "value": [1.0, np.nan]}), "metric 'a' has 1 NaN"),
        (pd.DataFrame({"step": [0, 1], "name": ["a", "a"], "value": ["1", "x"]}), "non-numeric"),
        (pd.DataFrame({"step": [0, 1], "word": ["a", "b"]}), "no numeric metric columns"),
    ]:
        frame.to_csv(tmp_path / "bad.csv", index=False)
        with pytest.raises(UserError, match=msg):
            read_source(tmp_path / "bad.csv")
    (tmp_path / "x.txt").write_text("1")
    with pytest.raises(UserError, match="cannot tell the format"):
        read_source(tmp_path / "x.txt")
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(UserError, match="cannot read .* as a training-log table .not valid JSON"):
        read_source(tmp_path / "b.json")


def test_long_curves_are_block_averaged_for_detection():
    from emergelab.lab.imports import DETECT_MAX_POINTS, SourceRun, detect

    n = 5 * DETECT_MAX_POINTS + 3
    s = np.arange(n)
    y = 1 / (1 + np.exp(-(s - 0.6 * n) / (n / 400)))
    r = SourceRun("", s, np.zeros(n, np.int32), ["acc"], y, None)
    (t,) = detect(r)["acc"]
    assert abs(t["midpoint"] - 0.6 * n) < n / 200
    assert json.dumps(detect(SourceRun("", s[:3], np.zeros(3, np.int32), ["acc"], y[:3], None)))  # error dict
