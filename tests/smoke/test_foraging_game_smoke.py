"""The foraging game's tiny preset runs end to end in about a second, logs everything it promises
within range, summarises, and is deterministic given its seed; `emergelab worlds` still does
not import torch or pettingzoo because of it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from emergelab.lab.recorder import Recorder
from emergelab.lab.registry import get_world

SUCCESS = {"success/selfplay", "success/no_message", "success/crossplay", "success/random", "success/holdout"}
LANG = {"lang/topsim", "lang/posdis", "lang/value_r2", "lang/value_r2_holdout", "lang/first_words"}
TRAIN = {"train/value_loss", "train/entropy", "train/success", "train/success_no_message"}


def _run(**overrides) -> Recorder:
    w = get_world("foraging_game")
    rec = Recorder(progress=False)
    w.run(w.make_config("tiny", overrides), rec)
    return rec


def test_tiny_logs_everything():
    rec = _run()
    assert set(rec.names) == SUCCESS | LANG | TRAIN
    assert rec.series("success/selfplay")[0].tolist() == [0, 1, 2, 3]
    assert rec.series("train/success")[0].tolist() == [1, 2, 3]  # nothing trained before step 1
    for name in SUCCESS | {"train/success"}:
        v = rec.series(name)[1]
        assert np.all((v >= 0) & (v <= 1)), name
    assert np.all(np.isfinite(rec.series("lang/value_r2")[1]))
    words = rec.series("lang/first_words")[1]
    assert np.all((words >= 1) & (words <= 11))  # 10 words and silence
    s = rec.summary
    assert s["n_train_values"] == 20 and s["n_holdout_values"] == 80
    assert s["selfplay_minus_crossplay"] == s["final_success_selfplay"] - s["final_success_crossplay"]
    assert set(get_world("foraging_game").summarize(rec.wide())) == {"selfplay_fit_step"}


def test_without_control_and_with_one_pair_those_metrics_are_absent():
    rec = _run(no_message_control=False, n_pairs=1)
    assert not {"success/no_message", "success/crossplay", "train/success_no_message"} & set(rec.names)
    assert rec.summary["selfplay_minus_crossplay"] is None


def test_same_seed_same_numbers_other_seed_other_numbers():
    a, b, c = _run(), _run(), _run(seed=1)
    same = all(np.array_equal(a.series(n)[1], b.series(n)[1], equal_nan=True) for n in a.names)
    assert same and a.summary == b.summary
    assert not np.array_equal(a.series("train/value_loss")[1], c.series("train/value_loss")[1])


def test_listing_worlds_imports_neither_torch_nor_pettingzoo():
    code = ("import sys; from emergelab.lab.registry import worlds; assert 'foraging_game' in worlds(); "
            "print('torch' in sys.modules, 'pettingzoo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
