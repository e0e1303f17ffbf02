"""The corpus-transfer world runs end to end in about a second on its tiny preset, logs what it
promises, is deterministic given its seed, reads the corpus of a stored referential_game run,
and turns bad input into one line and exit code 2."""

from __future__ import annotations

import os

import numpy as np

from emergelab.lab.recorder import Recorder
from emergelab.lab.registry import get_world
from emergelab.worlds.corpus_transfer import CORPORA


def _run(**overrides) -> Recorder:
    w = get_world("corpus_transfer")
    rec = Recorder(progress=False)
    w.run(w.make_config("tiny", overrides), rec)
    return rec


def test_tiny_logs_everything_and_is_deterministic():
    rec = _run()
    assert set(rec.names) == {f"target/ppl_{c}" for c in CORPORA} | \
        {f"pretrain/loss_{c}" for c in CORPORA if c != "none"}
    assert rec.series("target/ppl_none")[0].tolist() == [0, 5, 10]
    for n in rec.names:
        assert np.all(np.isfinite(rec.series(n)[1])), n
    s = rec.summary
    for c in CORPORA:
        assert s[f"ppl_{c}_mean"] > 1.0 and s[f"ppl_{c}_sd"] >= 0, c
        assert c == "none" or np.isfinite(s[f"gain_{c}_mean"]), c
    assert s["topsim_target"] == 1.0 and -1 <= s["topsim_emergent"] <= 1
    assert (s["n_objects"], s["message_len"], s["vocab_size"], s["target_vocab"]) == (9, 2, 4, 7)
    res = rec.artefacts["results"]
    assert len(res) == 2 * len(CORPORA) and set(res.corpus) == set(CORPORA)
    assert (res[res.corpus == "none"]["gain"] == 0).all()
    assert "target" in rec.artefacts["samples"]
    finals = get_world("corpus_transfer").summarize(rec.wide())
    assert set(finals) == {f"final_target_ppl_{c}" for c in CORPORA}

    again, other = _run(), _run(seed=1)
    assert again.summary == s
    assert other.summary["ppl_emergent_mean"] != s["ppl_emergent_mean"]


def test_a_subset_of_conditions_and_no_steps():
    rec = _run(corpora="emergent,random", pretrain_steps=0, finetune_steps=0, shuffle="between")
    assert set(rec.names) == {"target/ppl_emergent", "target/ppl_random"}  # nothing trained: no loss curve
    assert "gain_emergent_mean" not in rec.summary  # no 'none' to compare with


def test_reads_a_stored_game_run_and_rejects_bad_input(run_cli, tmp_path):
    rc, out, err = run_cli("run", "referential_game", "-p", "tiny", "-x", "serial")
    assert rc == 0, err
    from emergelab.lab.store import Store

    rid = Store(tmp_path / "store").runs(world="referential_game")["run_id"].iloc[0]
    rc, out, err = run_cli("run", "corpus_transfer", "-p", "tiny", "-x", "serial", "-s", f"source_run={rid}")
    assert rc == 0, err
    runs = Store(tmp_path / "store").runs(world="corpus_transfer")
    assert len(runs) == 1 and runs["summary.source"].iloc[0] == f"run {rid}"

    n_runs = len(os.listdir(tmp_path / "store" / "runs"))
    for bad, what in ((["-s", "source_run=referential_game-nope"], "no run or sweep"),
                      (["-s", f"source_run={runs['run_id'].iloc[0]}"], "must be a referential_game run"),
                      (["-s", "pretrain_steps=-3"], "pretrain_steps")):
        rc, out, err = run_cli("run", "corpus_transfer", "-p", "tiny", "-x", "serial", *bad)
        assert rc == 2 and what in err and len(err.strip().splitlines()) == 1, err
    assert len(os.listdir(tmp_path / "store" / "runs")) == n_runs  # nothing written


def test_messages_longer_than_sentences_still_transfer():
    rec = _run(game_set="max_len=3", corpora="emergent,none")  # messages of 3, sentences of 2 words
    assert rec.summary["message_len"] == 3 and np.isfinite(rec.summary["gain_emergent_mean"])
