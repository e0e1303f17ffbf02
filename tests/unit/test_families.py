"""Readers of a model family's results (lab/families.py, lab/lmeval.py) and the report's
'Across scale' section. The lm-eval fixtures under tests/data/lm_eval/family were written
by lm_eval's own EvaluationTracker (see tests/data/lm_eval/make_fixtures.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emergelab.errors import UserError
from emergelab.lab.families import (
    OUTCOMES,
    check_frame,
    parse_number,
    parse_sizes,
    read_family,
    read_family_run,
    size_from_name,
)

LM_EVAL = Path(__file__).resolve().parents[1] / "data" / "lm_eval" / "family"


def synthetic_family(sizes=(1e6, 3e6, 1e7, 3e7, 1e8), n_items=30, seed=0) -> pd.DataFrame:
    """Per-item accuracy rising with log size (item difficulty spread), plus a logprob."""
    rng = np.random.default_rng(seed)
    diff = rng.uniform(6.0, 8.0, n_items)
    rows = []
    for k, n in enumerate(sizes):
        lp = -np.exp(diff - np.log10(n))  # smooth per-item log-probability of the target
        for i in range(n_items):
            rows.append({"model": f"m{k}", "params": n, "item": f"q{i}", "logprob": lp[i],
                         "correct": float(rng.random() < np.exp(lp[i]))})  # fmt: skip
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ lm-eval
def test_lm_eval_folder_written_by_lm_eval():
    df = read_family(LM_EVAL)
    sizes = df.groupby("model")["params"].first().to_dict()
    assert sizes == {"EleutherAI/pythia-70m": 70426624.0,  # recorded by lm_eval's HF backend
                     "EleutherAI/pythia-160m": 1.6e8,  # parsed from the name
                     "EleutherAI/pythia-410m": 405334016.0, "EleutherAI/pythia-1b": 1e9}  # fmt: skip
    assert len(df) == 4 * 18 and df.groupby("model")["item"].nunique().eq(18).all()
    assert set(df["task"]) == {"mc_task", "ll_task", "gen_task"}
    # tasks mixed: only the outcome every task has (a family has no holes)
    assert [c for c in df.columns if c in OUTCOMES] == ["correct"] and df["correct"].isin([0.0, 1.0]).all()
    assert df.groupby("params")["correct"].mean().idxmax() == 1e9  # the best model, as the fakes were made
    mc = read_family(LM_EVAL, tasks=["mc_task"])
    assert {"logprob", "brier", "mc_correct", "target_prob"} <= set(mc.columns) and len(mc) == 24
    assert mc["brier"].between(0, 2).all() and mc["target_prob"].between(0, 1).all() and (mc["logprob"] <= 0).all()
    ll = read_family(LM_EVAL, tasks=["ll_task"])
    assert {"logprob", "target_prob"} <= set(ll.columns) and "brier" not in ll.columns
    gen = read_family(LM_EVAL, tasks=["gen_task"])  # one filter kept (strict-match: the task has no "none")
    assert len(gen) == 24 and (gen["edit_distance"][gen["correct"] == 1] == 0).all()
    assert (gen["edit_distance"][gen["correct"] == 0] > 0).all()
    with pytest.raises(UserError, match="no task nope for .* \\(tasks: gen_task, ll_task, mc_task\\)"):
        read_family(LM_EVAL, tasks=["nope"])


def test_instruments_accept_what_the_readers_give():
    scaling = pytest.importorskip("emergelab.measures.scaling")
    if not hasattr(scaling, "check_family"):
        pytest.skip("emergelab.measures.scaling.check_family not written yet")
    for tasks in (None, ["mc_task"], ["ll_task"], ["gen_task"]):
        scaling.check_family(read_family(LM_EVAL, tasks=tasks))
    scaling.check_family(check_frame(synthetic_family()))


def test_lm_eval_sizes_override(tmp_path):
    df = read_family(LM_EVAL, sizes=parse_sizes("EleutherAI/pythia-70m=7e7,EleutherAI/pythia-1b=1.01b"))
    s = df.groupby("model")["params"].first()
    assert s["EleutherAI/pythia-70m"] == 7e7 and s["EleutherAI/pythia-1b"] == 1.01e9


def _copy(tmp_path) -> Path:
    dst = tmp_path / "family"
    shutil.copytree(LM_EVAL, dst)
    return dst


@pytest.mark.parametrize("break_it, phrase", [
    (lambda d: [p.unlink() for p in d.rglob("samples_*.jsonl")], "re-run lm_eval with --log_samples"),
    (lambda d: next(d.rglob("samples_mc_task_*.jsonl")).write_text('{"doc_id": 0}\n{broken\n'), "line 2 is not valid JSON"),
    (lambda d: next(d.rglob("samples_ll_task_*.jsonl")).write_text('{"x": 1}\n'), "not an lm-eval sample record"),
    (lambda d: next(d.rglob("samples_ll_task_*.jsonl")).write_text(""), "is empty"),
    (lambda d: next(d.rglob("results_*.json")).write_text("{nope"), "not a valid lm-eval results JSON"),
    (lambda d: [shutil.rmtree(p) for p in sorted(d.iterdir())[:2]], "2 model size(s)"),
], ids=["no-samples", "broken-line", "no-doc-id", "empty", "broken-results", "two-models"])
def test_malformed_lm_eval_folder(tmp_path, break_it, phrase):
    d = _copy(tmp_path)
    break_it(d)
    with pytest.raises(UserError, match=None) as e:
        read_family(d)
    assert phrase in str(e.value) and "\n" not in str(e.value)


def test_lm_eval_rerun_newest_samples_win(tmp_path):
    d = _copy(tmp_path)
    old = next((d / "EleutherAI__pythia-70m").glob("samples_mc_task_*.jsonl"))
    recs = [json.loads(x) for x in old.read_text().splitlines()]
    for r in recs:  # the re-run gets every item right
        r["acc"] = r["acc_norm"] = 1.0
    (old.parent / "samples_mc_task_2099-01-01T00-00-00.000000.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in recs))
    df = read_family(d, tasks=["mc_task"])
    assert df[df["model"] == "EleutherAI/pythia-70m"]["correct"].eq(1.0).all() and len(df) == 24


def test_lm_eval_model_without_size(tmp_path):
    d = _copy(tmp_path)
    p = d / "EleutherAI__pythia-160m"
    r = next(p.glob("results_*.json"))
    res = json.loads(r.read_text())
    res["model_name"] = "EleutherAI/pythia-small"
    r.write_text(json.dumps(res))
    with pytest.raises(UserError, match=r"no params known for model\(s\) EleutherAI/pythia-small: pass --sizes"):
        read_family(d)
    df = read_family(d, sizes={"EleutherAI/pythia-small": 1.6e8})
    assert "EleutherAI/pythia-small" in set(df["model"])


# ------------------------------------------------------------------------------ names and sizes
@pytest.mark.parametrize("name, n", [
    ("EleutherAI/pythia-160m", 1.6e8), ("pythia-1.4b-deduped", 1.4e9), ("Qwen/Qwen2.5-0.5B", 5e8),
    ("70b", 7e10), ("meta-llama/Llama-3.1-8B-Instruct", 8e9), ("facebook/opt-125m", 1.25e8),
    ("gpt2", None), ("mistralai/Mixtral-8x7B-v0.1", None), ("microsoft/Phi-3-mini-4k-instruct", None),
    ("llama-4bit", None), ("distill-70b-to-8b", None),
])  # fmt: skip
def test_size_from_name(name, n):
    assert size_from_name(name) == n


def test_parse_number_and_sizes(tmp_path):
    assert parse_number("1.2e8", "x") == 1.2e8 and parse_number("160m", "x") == 1.6e8 and parse_number("7B", "x") == 7e9
    for bad in ("-3", "abc", "0", "1e999"):
        with pytest.raises(UserError):
            parse_number(bad, "x")
    assert parse_sizes("a=1e6, b=2m,") == {"a": 1e6, "b": 2e6}
    f = tmp_path / "sizes.csv"
    f.write_text("model,n_params\na,1e6\nb,3e6\n")
    assert parse_sizes(str(f)) == {"a": 1e6, "b": 3e6}
    with pytest.raises(UserError, match="bad --sizes entry"):
        parse_sizes("a=1e6,b")
    with pytest.raises(UserError, match="give model=size pairs"):
        parse_sizes(str(tmp_path / "nope.csv"))


# ------------------------------------------------------------------------------ tidy files
@pytest.mark.parametrize("ext", ["csv", "parquet", "jsonl"])
def test_tidy_formats_and_aliases(tmp_path, ext):
    fam = synthetic_family().rename(columns={"params": "n_params", "correct": "acc", "item": "doc_id"})
    p = tmp_path / f"fam.{ext}"
    {"csv": lambda: fam.to_csv(p, index=False), "parquet": lambda: fam.to_parquet(p),
     "jsonl": lambda: fam.to_json(p, orient="records", lines=True)}[ext]()  # fmt: skip
    df = read_family(p)
    assert {"model", "params", "item", "correct", "logprob"} <= set(df.columns) and len(df) == len(fam)
    assert df["params"].is_monotonic_increasing


def test_tidy_sizes_from_names_and_tasks(tmp_path):
    fam = synthetic_family()
    fam["model"] = fam["params"].map({1e6: "x-1m", 3e6: "x-3m", 1e7: "x-10m", 3e7: "x-30m", 1e8: "x-100m"})
    fam = fam.drop(columns="params").assign(task="t")
    p = tmp_path / "f.csv"
    fam.to_csv(p, index=False)
    df = read_family(p)
    assert sorted(df["params"].unique()) == [1e6, 3e6, 1e7, 3e7, 1e8] and df["item"].str.startswith("t/").all()


def test_sizes_written_as_text(tmp_path):
    fam = synthetic_family()
    fam["params"] = fam["params"].map({1e6: "1m", 3e6: "3M", 1e7: "10m", 3e7: "30m", 1e8: "0.1b"})
    fam.to_csv(tmp_path / "f.csv", index=False)
    assert sorted(read_family(tmp_path / "f.csv")["params"].unique()) == [1e6, 3e6, 1e7, 3e7, 1e8]
    fam.loc[0, "params"] = "huge"
    fam.to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(UserError, match="bad size 'huge' for model 'm0'"):
        read_family(tmp_path / "f.csv")


@pytest.mark.parametrize("make, phrase", [
    (lambda f: f.drop(columns="item"), "has no column(s) item"),
    (lambda f: f.drop(columns=["correct", "logprob"]), "has no outcome column"),
    (lambda f: f.assign(params=-f["params"]), "must be a finite number > 0"),
    (lambda f: f.assign(params=np.where(f["model"] == "m0", 0.0, f["params"])), "model 'm0' has 0"),
    (lambda f: f[f["params"] <= 3e6], "2 model size(s): a scaling fit needs at least 3"),
    (lambda f: f.drop(columns="logprob").assign(correct=0.0), "correct = zero for every model"),
    (lambda f: f.drop(columns="logprob").assign(correct=1.0), "correct = one for every model"),
    (lambda f: f.assign(correct=1.0, logprob=-0.5), "correct = one for every model"),
    (lambda f: f.assign(logprob=np.where(f.index == 4, np.nan, f["logprob"])), "'logprob' of the family has 1 empty"),
    (lambda f: pd.concat([f, f.iloc[:1]]), "appears twice for model 'm0'"),
    (lambda f: f.assign(correct=f["correct"] * 2), "must be 0 or 1"),
    (lambda f: f.assign(params=f["params"].astype(object).where(f.index > 0, "big")), "non-numeric values"),
    (lambda f: f.assign(params=np.where(f.index == 0, 5.0, f["params"])), "several params values"),
    (lambda f: f.assign(n_pass=3), "n_pass but no n_samples"),
    (lambda f: f.assign(n_pass=5, n_samples=4), "n_pass must lie in 0..n_samples"),
])  # fmt: skip
def test_check_frame_rejects(make, phrase):
    with pytest.raises(UserError) as e:
        check_frame(make(synthetic_family()))
    assert phrase in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_constant_grade_beside_a_varying_outcome_is_left_out():
    # the PassUntil case: greedy exact match reads 0 everywhere, the pass counts do not
    fam = synthetic_family().assign(correct=0.0, n_samples=1000)
    fam["n_pass"] = (np.exp(fam["logprob"]) * 1000).round()
    df = check_frame(fam)
    assert "correct" not in df.columns and {"logprob", "n_pass"} <= set(df.columns)
    assert df.attrs["notes"] == ["correct is zero for every model and item: left out"]


def test_file_errors(tmp_path):
    (tmp_path / "f.xlsx").write_bytes(b"PK\x03\x04")
    (tmp_path / "bin.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 20)
    for p, phrase in [(tmp_path / "nope.csv", "no such file or folder"), (tmp_path / "f.xlsx", "unknown format '.xlsx'"),
                      (tmp_path / "bin.csv", "cannot read")]:  # fmt: skip
        with pytest.raises(UserError, match=None) as e:
            read_family(p)
        assert phrase in str(e.value) and "\n" not in str(e.value)


# ------------------------------------------------------------------------------ a run's family
def _run_with_family(store, fam, summary=None):
    """A run folder holding only what the family reader and the report section read."""
    d = store.root / "runs" / "fam-run"
    (d / "artefacts").mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"world": "scaling_family", "config": {}}))
    (d / "summary.json").write_text(json.dumps(summary or {}))
    fam.to_parquet(d / "artefacts" / "family.parquet")
    return "fam-run"


def test_read_family_run(store):
    rid = _run_with_family(store, synthetic_family())
    df = read_family_run(store, rid)
    assert df["params"].nunique() == 5 and len(df) == 150
    (store.root / "runs" / rid / "artefacts" / "family.parquet").unlink()
    with pytest.raises(UserError, match="has no artefact 'family'"):
        read_family_run(store, rid)


def test_scaling_report_section(store):
    from emergelab.report.scaling import run_section

    fc = {"size": "params", "target": 1e8, "backtest": True,
          "rows": [{"method": "cod", "predicted": 0.5, "lo": 0.4, "hi": 0.6, "actual": 0.55, "abs_error": 0.05},
                   {"method": "powerlaw", "predicted": 0.3, "lo": None, "hi": None, "actual": 0.55, "abs_error": 0.25}]}
    mi = {"size": "params", "rows": [{"metric": "correct", "partners": "logprob", "verdict": "metric artefact",
                                      "sharpness": 12.0, "sharpness_logprob": 1.0, "n_items": 30,
                                      "sizes": [1e6, 1e7, 1e8], "means": [0, 0, 1]}]}
    rid = _run_with_family(store, synthetic_family(), {"forecast": fc, "mirage": mi})
    sec = run_section(store, rid, {"forecast": fc, "mirage": mi})
    assert sec["title"] == "Across scale" and len(sec["figures"]) == 1 and "<svg" in str(sec["figures"][0]["svg"])
    assert len(sec["tables"]) == 2 and "correct: metric artefact (sharpness 12; partners: logprob 1)." in sec["paragraphs"]
    assert sec["tables"][1]["columns"] == ["metric", "verdict", "sharpness", "partners' sharpness", "items"]
    assert run_section(store, rid, {}) is not None  # the family alone: curves across scale
    (store.root / "runs" / rid / "artefacts" / "family.parquet").unlink()
    assert run_section(store, rid, {}) is None
