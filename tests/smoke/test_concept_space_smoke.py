"""The concept_space world runs end to end in a second or two (tiny preset) for any held-out
class, logs what it promises, fills its summary, and rejects bad input with one line (exit 2)."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world

CLASSES = ("00", "01", "10", "11")
TRAJ = {f"concept/p_{c}_{k}" for c in ("colour", "size") for k in CLASSES}
ACC = {f"{g}/{a}" for g in ("heldout", "train", "over", "steer") for a in ("acc_colour", "acc_size", "acc")}
POS = {f"{g}/p_{c}" for g in ("over", "steer") for c in ("colour", "size")}
LEARN = {f"learn_step_{k}" for k in ("colour", "size", "heldout", "over", "over_colour", "over_size", "steer",
                                     "steer_colour", "steer_size", "train", "train_colour", "train_size")}


@pytest.mark.parametrize("held", [(1, 1), (0, 1)], ids=["11", "01"])
def test_tiny_logs_everything(held):
    rec = run_world("concept_space", "tiny", held_out=held)
    assert set(rec.names) == TRAJ | ACC | POS | {"train/loss"}
    assert rec.series("heldout/acc")[0].tolist() == [0, 5, 10, 15, 20, 25, 30]
    assert rec.series("train/loss")[0].tolist() == [5, 10, 15, 20, 25, 30]  # nothing trained at step 0
    for name in TRAJ | ACC | POS:
        v = rec.series(name)[1]
        assert np.all((v >= 0) & (v <= 1)), name
    assert np.all(np.isfinite(rec.series("train/loss")[1]))
    s = rec.summary
    assert LEARN | {"first_learned", "hidden_gap_over", "hidden_gap_steer", "turn_step", "turn_depth",
                    "data_acc_colour", "data_acc_size"} <= set(s)
    assert s["held_out"] == "".join(map(str, held))
    assert s["first_learned"] in ("colour", "size", "tie", "neither")
    for k in LEARN:
        assert s[k] is None or 0 <= s[k] <= 30, k
    # the held-out class's curves are its own column of the trajectory
    lab = s["held_out"]
    assert s["turn_step"] in rec.series(f"concept/p_colour_{lab}")[0].tolist()


def test_no_over_prompt_and_no_steer_reproduce_plain_prompting():
    rec = run_world("concept_space", "tiny", over_prompt=0.0, steer_scale=0.0)
    for k in ("acc_colour", "acc_size", "acc"):
        assert np.array_equal(rec.series(f"over/{k}")[1], rec.series(f"heldout/{k}")[1])
        assert np.array_equal(rec.series(f"steer/{k}")[1], rec.series(f"heldout/{k}")[1])
    s = rec.summary
    assert s["learn_step_over"] == s["learn_step_heldout"]
    assert s["hidden_gap_over"] in (None, 0)


@pytest.mark.parametrize("bad,match", [({"colour_sep": "0"}, "colour_sep and size_sep must be > 0"),
                                       ({"size_sep": "-1"}, "colour_sep and size_sep must be > 0"),
                                       ({"held_out": "1,2"}, "held_out must be two values"),
                                       ({"held_out": "1"}, "held_out must be two values"),
                                       ({"threshold": "0.4"}, "threshold must be in")])
def test_bad_config_is_a_user_error(bad, match):
    with pytest.raises(UserError, match=match):
        get_world("concept_space").make_config("tiny", bad)


def test_cli_bad_input_is_one_line_and_exit_2(run_cli, tmp_path):
    rc, out, err = run_cli("run", "concept_space", "-p", "tiny", "-s", "held_out=1,1,0")
    assert rc == 2
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "held_out" in lines[0], err
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").rglob("config.json"))
