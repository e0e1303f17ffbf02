"""The referential game runs end to end in a second or two for every game x training x agent
variant, logs what it promises, keeps its corpus, is deterministic given its seed; its
PettingZoo environment passes PettingZoo's own API tests."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.lab.recorder import Recorder
from emergelab.lab.registry import get_world

ACC = {"train/acc", "holdout/acc"}
TRAIN = {"train/loss", "speaker/entropy"}
LANG = {"lang/topsim", "lang/posdis", "lang/bosdis", "lang/entropy"}
VARIANTS = [{"game": g, "training": t, "agent": a}  # all 8 combinations
            for g in ("reconstruction", "discrimination")
            for t in ("gumbel", "reinforce")
            for a in ("gru", "mlp")]


def _run(**overrides) -> Recorder:
    w = get_world("referential_game")
    rec = Recorder(progress=False)
    w.run(w.make_config("tiny", overrides), rec)
    return rec


def _all_metrics(rec: Recorder) -> dict[str, np.ndarray]:
    return {n: rec.series(n)[1] for n in rec.names}


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(v.values()))
def test_tiny_logs_everything(variant):
    rec = _run(**variant)
    assert set(rec.names) == ACC | TRAIN | LANG
    assert rec.series("train/acc")[0].tolist() == [0, 5, 10, 15, 20]
    assert rec.series("train/loss")[0].tolist() == [5, 10, 15, 20]  # nothing trained at step 0
    assert rec.series("lang/topsim")[0].tolist() == [0, 10, 20]  # every 2nd log, and the last
    for name in ACC:
        assert np.all((rec.series(name)[1] >= 0) & (rec.series(name)[1] <= 1)), name
    for name in ACC | TRAIN | {"lang/entropy"}:
        assert np.all(np.isfinite(rec.series(name)[1])), name

    s = rec.summary
    cfg = get_world("referential_game").make_config("tiny", variant)
    chance = 1 / 3 if variant["game"] == "discrimination" else 1 / 9  # 2 distractors; 3^2 objects
    assert s["chance"] == pytest.approx(chance)
    assert s["n_train"] + s["n_holdout"] == 9 and s["n_holdout"] >= 1
    assert {"final_train_acc", "final_holdout_acc", "final_train_loss", "final_lang_topsim",
            "final_lang_posdis", "final_lang_bosdis", "final_lang_entropy"} <= set(s)

    corpus = rec.artefacts["corpus"]  # every object, its attributes and its greedy message
    assert list(corpus.columns) == ["attr_0", "attr_1", "sym_0", "sym_1", "split"]
    assert len(corpus) == 9 and set(corpus["split"]) == {"train", "holdout"}
    assert corpus[["sym_0", "sym_1"]].to_numpy().max() < cfg.vocab_size
    assert len(corpus.drop_duplicates(["attr_0", "attr_1"])) == 9
    assert set(get_world("referential_game").summarize(rec.wide())) == {"train_fit_step"}


@pytest.mark.parametrize("variant", [VARIANTS[0], VARIANTS[-1]], ids=lambda v: "-".join(v.values()))
def test_same_seed_same_numbers_other_seed_other_numbers(variant):
    a, b = _all_metrics(_run(**variant)), _all_metrics(_run(**variant))
    c = _all_metrics(_run(**variant, seed=1))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)
    assert not np.array_equal(a["train/loss"], c["train/loss"])


def test_held_out_objects_are_new_combinations_of_known_values():
    from emergelab.worlds.referential_game import objects

    cfg = get_world("referential_game").make_config("paper")
    meanings, tr, ho = objects(cfg)
    assert meanings.shape == (256, 4) and len(ho) == round(0.1 * 256)
    assert not set(tr) & set(ho) and len(tr) + len(ho) == 256
    for a in range(4):  # every value of every attribute occurs in training
        assert set(meanings[tr, a]) == set(range(4))


def test_egg_split_matches_eggs_compositionality_zoo():
    """EGG compo_vs_generalization (data.py split_holdout + split_train_test(train, 0.1) with
    RandomState(7)): 4 x 4 objects -> 81 without a 0, 8 of them the uniform holdout; 108 with
    exactly one 0 (an unseen value) the generalization holdout; 67 with two or more 0s unused."""
    from emergelab.worlds.referential_game import eval_sets, objects

    cfg = get_world("referential_game").make_config("egg")
    assert (cfg.n_attributes, cfg.n_values, cfg.vocab_size, cfg.split) == (4, 4, 10, "egg")
    meanings, tr, ho = objects(cfg)
    sets = eval_sets(cfg)
    assert {k: len(v) for k, v in sets.items()} == {"train": 73, "uniform": 8, "generalization": 108}
    assert np.array_equal(ho, sets["uniform"]) and np.array_equal(tr, sets["train"])
    assert not (meanings[tr] == 0).any() and not (meanings[ho] == 0).any()  # value 0 is never trained
    assert ((meanings[sets["generalization"]] == 0).sum(1) == 1).all()
    assert len(set(tr) | set(ho) | set(sets["generalization"])) == 73 + 8 + 108  # disjoint
    # EGG's uniform holdout: the first int(0.1 * 81) of RandomState(7).permutation(81) over the
    # zero-free objects in enumeration order; the same for every run seed
    pool = np.flatnonzero(meanings.min(1) > 0)
    assert np.array_equal(np.sort(pool[np.random.RandomState(7).permutation(81)[:8]]), ho)
    other = get_world("referential_game").make_config("egg", {"seed": 5})
    assert np.array_equal(objects(other)[2], ho) and meanings.shape == (256, 4)


@pytest.mark.parametrize("game", ["reconstruction", "discrimination"])
def test_tiny_egg_split_logs_eggs_three_accuracies(game):
    rec = _run(split="egg", game=game)
    assert set(rec.names) == {"train/acc", "uniform/acc", "generalization/acc"} | TRAIN | LANG
    s = rec.summary
    assert (s["n_train"], s["n_uniform"], s["n_generalization"]) == (3, 1, 4)  # 3 x 3: 4 zero-free, 4 one-0
    assert {"final_uniform_acc", "final_generalization_acc"} <= set(s)
    corpus = rec.artefacts["corpus"]
    assert corpus["split"].value_counts().to_dict() == {"train": 3, "uniform": 1, "generalization": 4,
                                                        "unused": 1}


@pytest.mark.parametrize("bad", [{"holdout_fraction": 0.0}, {"holdout_fraction": 1.0}, {"n_values": 1},
                                 {"game": "discrimination", "n_distractors": 9}, {"log_every": 0},
                                 {"temperature": 0.0}, {"game": "charades"}, {"device": "tpu"},
                                 {"split": "eggs"}, {"split": "egg", "holdout_fraction": 0.2}])
def test_bad_config_is_a_clear_error(bad):
    from emergelab.errors import UserError

    with pytest.raises(UserError):
        get_world("referential_game").make_config("tiny", bad)


@pytest.mark.parametrize("game", ["reconstruction", "discrimination"])
def test_pettingzoo_api(game):
    pytest.importorskip("pettingzoo")
    from pettingzoo.test import parallel_api_test, parallel_seed_test

    from emergelab.worlds.referential_game import make_env

    kw = {"game": game}
    parallel_api_test(make_env(kw, n_rounds=3), num_cycles=50)
    parallel_seed_test(lambda: make_env(kw, n_rounds=3))

    # One round by hand: a speaker that spells out the attributes and a listener that reads
    # them back both get reward 1; the observations are in their spaces.
    env = make_env(kw)
    obs, _ = env.reset(seed=3)
    assert all(env.observation_space(a).contains(obs[a]) for a in env.agents)
    target = obs["speaker"]["target"]  # (4,) attribute values, which are valid symbols too
    obs, rew, term, _, _ = env.step({"speaker": target, "listener": env.action_space("listener").sample()})
    assert obs["listener"]["phase"] == 1 and obs["listener"]["message"].tolist() == target.tolist()
    assert rew == {"speaker": 0.0, "listener": 0.0} and not any(term.values())
    guess = target if game == "reconstruction" else \
        int(np.flatnonzero((obs["listener"]["candidates"] == target).all(1))[0])
    obs, rew, term, _, info = env.step({"speaker": env.action_space("speaker").sample(), "listener": guess})
    assert rew == {"speaker": 1.0, "listener": 1.0} and all(term.values()) and env.agents == []
    assert info["listener"]["success"] is True


def test_make_env_validates_its_config():
    pytest.importorskip("pettingzoo")
    from emergelab.errors import UserError
    from emergelab.worlds.referential_game import make_env

    with pytest.raises(UserError, match="unknown key"):
        make_env({"n_attribute": 3})


def test_env_offers_eggs_holdouts():
    pytest.importorskip("pettingzoo")
    from emergelab.worlds.referential_game import make_env

    env = make_env({"split": "egg"}, split="generalization")
    obs, _ = env.reset(seed=0)
    assert (obs["speaker"]["target"] == 0).sum() == 1  # one attribute shows its unseen value
    with pytest.raises(ValueError, match="generalization"):
        make_env({}, split="generalization")  # the random split has no such holdout
