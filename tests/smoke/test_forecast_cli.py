"""`emergelab forecast` and `emergelab mirage`: bad input (one line, exit 2, nothing
written: the tmp dir is snapshotted as in test_bad_inputs.py) and, once the instruments
exist, a back-test and a mirage check on files and on a stored run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.smoke.test_bad_inputs import _snapshot
from tests.unit.test_families import LM_EVAL, synthetic_family

TMP = "{tmp}"


def _files(tmp: Path, store: Path) -> None:
    fam = synthetic_family()
    fam.to_csv(tmp / "fam.csv", index=False)
    fam.drop(columns="item").to_csv(tmp / "noitem.csv", index=False)
    fam.assign(params=-fam["params"]).to_csv(tmp / "negative.csv", index=False)
    fam[fam["params"] <= 3e6].to_csv(tmp / "two.csv", index=False)
    fam[fam["params"] <= 1e7].to_csv(tmp / "three.csv", index=False)
    fam.drop(columns="logprob").assign(correct=0.0).to_csv(tmp / "zeros.csv", index=False)
    fam.drop(columns="logprob").assign(correct=1.0).to_csv(tmp / "ones.csv", index=False)
    fam.drop(columns="params").to_csv(tmp / "nosize.csv", index=False)
    (tmp / "fam.xlsx").write_bytes(b"PK\x03\x04")
    (tmp / "empty").mkdir()
    shutil.copytree(LM_EVAL, tmp / "lmeval")
    for p in (tmp / "lmeval").rglob("samples_mc_task_*.jsonl"):
        p.write_text('{"doc_id": 0}\n{broken\n')
        break
    shutil.copytree(LM_EVAL, tmp / "nosamples")
    for p in (tmp / "nosamples").rglob("samples_*.jsonl"):
        p.unlink()
    # a store with one run that has no family artefact
    d = store / "runs" / "toy-abc"
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"world": "toy", "config": {}}))
    (d / "summary.json").write_text("{}")


F = TMP + "/fam.csv"
CASES = [
    ("missing-file", ["forecast", TMP + "/nope.csv"], "no such file or folder"),
    ("missing-path", ["mirage", TMP + "/no/such"], "no such file or folder"),
    ("no-store-no-file", ["forecast", "somerun", "--store", TMP + "/nostore"], "no such file or folder 'somerun'"),
    ("unknown-run", ["forecast", "nope"], "no run or sweep 'nope'"),
    ("run-without-family", ["mirage", "toy-abc"], "has no artefact 'family'"),
    ("sizes-with-run", ["forecast", "toy-abc", "--sizes", "a=1"], "--sizes and --task go with a FILE"),
    ("task-with-run", ["mirage", "toy-abc", "--task", "x"], "--sizes and --task go with a FILE"),
    ("task-unknown-lmeval", ["mirage", TMP + "/lmeval", "--task", "arc"], "no task arc for EleutherAI/pythia-"),
    ("task-no-column", ["forecast", F, "--task", "arc"], "has no task column: drop --task"),
    ("mixed-tasks-no-pair", ["mirage", str(LM_EVAL)], "pick one with --task NAME"),
    ("unknown-format", ["forecast", TMP + "/fam.xlsx"], "unknown format '.xlsx'"),
    ("missing-columns", ["forecast", TMP + "/noitem.csv"], "has no column(s) item"),
    ("negative-sizes", ["mirage", TMP + "/negative.csv"], "must be a finite number > 0"),
    ("two-sizes", ["forecast", TMP + "/two.csv"], "a scaling fit needs at least 3"),
    ("all-zero", ["forecast", TMP + "/zeros.csv"], "correct = zero for every model"),
    ("all-one", ["mirage", TMP + "/ones.csv"], "correct = one for every model"),
    ("no-sizes", ["forecast", TMP + "/nosize.csv"], "no params known for model(s) m0"),
    ("sizes-unknown-model", ["forecast", TMP + "/nosize.csv", "--sizes", "zz=1e6"], "not in the family: zz"),
    ("sizes-bad-value", ["forecast", TMP + "/nosize.csv", "--sizes", "m0=big"], "bad size 'big' for m0"),
    ("lmeval-broken-line", ["forecast", TMP + "/lmeval"], "line 2 is not valid JSON"),
    ("lmeval-no-samples", ["mirage", TMP + "/nosamples"], "re-run lm_eval with --log_samples"),
    ("empty-folder", ["forecast", TMP + "/empty"], "no samples_*.jsonl files"),
    ("method", ["forecast", F, "--method", "magic"], "unknown --method 'magic'"),
    ("size-axis", ["mirage", F, "--size", "flops"], "unknown --size 'flops'"),
    ("compute-missing", ["forecast", F, "--size", "compute"], "no compute known"),
    ("target-size", ["forecast", F, "--target-size", "huge"], "bad size 'huge' for --target-size"),
    ("target-size-negative", ["forecast", F, "-t", "-5"], "bad size '-5'"),
    ("boot-negative", ["forecast", F, "--boot", "-1"], "--boot must be 0 or more"),
    ("backtest-three-sizes", ["forecast", TMP + "/three.csv"], "needs at least 4 model sizes"),
    ("target-too-small", ["forecast", F, "-t", "3.05e6"], "only 1 model size(s) below --target-size 3e+06"),
    ("out-format", ["forecast", F, "-o", TMP + "/t.xlsx"], "use a .csv, .parquet or .json"),
    ("out-missing-dir", ["mirage", F, "-o", TMP + "/no/t.csv"], "does not exist"),
]


@pytest.mark.parametrize("args, phrase", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_forecast_cli_bad_input(run_cli, tmp_path, args, phrase):
    store = tmp_path / "store"
    _files(tmp_path, store)
    args = [a.format(tmp=tmp_path) for a in args]
    before = _snapshot(tmp_path)
    rc, out, err = run_cli(*args)
    assert rc == 2, (rc, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert phrase in lines[0], lines[0]
    assert "Traceback" not in out + err and out == "", out
    assert _snapshot(tmp_path) == before


# ------------------------------------------------------------------ with the instruments
def _needs(module: str, name: str):
    mod = pytest.importorskip(f"emergelab.measures.{module}")
    if not hasattr(mod, name):
        pytest.skip(f"emergelab.measures.{module}.{name} not written yet")


def test_forecast_backtest_on_lm_eval_folder(run_cli, tmp_path):
    _needs("forecast", "backtest")
    rc, out, err = run_cli("forecast", str(LM_EVAL), "--boot", "5", "-o", str(tmp_path / "t.csv"))
    assert rc == 0, err
    assert "leave-largest-out" in out and "powerlaw" in out and "cod" in out
    t = pd.read_csv(tmp_path / "t.csv")
    assert list(t["method"]) == ["cod", "passuntil", "powerlaw"]
    assert (t.loc[t["method"] != "passuntil", "actual"] == 8 / 9).all()  # passuntil: no pass rate to compare
    assert t["note"].str.contains("n_pass").iloc[1]  # lm-eval has no pass counts: passuntil says why


def test_forecast_and_mirage_stored_with_a_run(run_cli, tmp_path):
    _needs("forecast", "forecast")
    _needs("scaling", "mirage_check")
    from emergelab.lab.store import Store

    rc, out, err = run_cli("run", "toy", "-p", "quick", "-x", "serial")
    assert rc == 0, err
    rid = "toy-" + out.split("toy-")[1].split()[0]
    st = Store(tmp_path / "store")
    st.update_run(rid, st.run_meta(rid)["summary"], {"family": synthetic_family(n_items=60)})
    rc, out, err = run_cli("forecast", rid, "--target-size", "1e8", "--boot", "5")
    assert rc == 0, err
    assert "stored with the run" in out and "actual" in out
    rc, out, err = run_cli("mirage", rid)
    assert rc == 0, err
    summ = st.run_meta(rid)["summary"]
    assert summ["forecast"]["target"] == 1e8 and summ["mirage"]["rows"]
    rows = summ["forecast"]["rows"]
    assert np.isfinite([r["actual"] for r in rows if r["method"] != "passuntil"]).all()
    assert all(r["actual"] is not None for r in rows if r["method"] == "passuntil" and not r.get("note"))
    from emergelab.report.html import _render
    from emergelab.report.scaling import run_section

    sec = run_section(st, rid, summ)  # the report section on what the instruments really stored
    assert len(sec["figures"]) == 1 and len(sec["tables"]) == 2 and "Across scale" in _render("t", "s", [sec])
