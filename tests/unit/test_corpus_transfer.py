"""The corpus-transfer world's pieces, by hand: scene walks, rendering, the controls, the toy
target language, the transfer of weights, and its bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.measures.language import meaning_grid, topsim
from emergelab.worlds import _corpus_data as cd


def test_walks_change_one_attribute_per_step():
    w = cd.walks(np.random.default_rng(0), 50, 6, 4, 3)  # (D, K, A)
    assert w.shape == (50, 6, 4) and w.min() >= 0 and w.max() < 3
    assert ((w[:, 1:] != w[:, :-1]).sum(-1) == 1).all()  # exactly one attribute differs


def test_object_ids_follow_the_meaning_grid():
    grid = meaning_grid(3, 4)
    assert np.array_equal(cd.object_ids(grid, 4), np.arange(64))


def test_render_names_every_object_and_separates_them():
    grid = meaning_grid(2, 3)  # 9 objects
    table = np.arange(18).reshape(9, 2)  # object i -> message (2i, 2i+1)
    walk = np.array([[[0, 0], [0, 2], [1, 2]]])  # objects 0, 2, 5
    docs = cd.render(walk, table, sep=99)
    assert docs.tolist() == [[0, 1, 99, 4, 5, 99, 10, 11, 99]]
    assert np.array_equal(cd.message_table(grid, table, 3), table)


def test_message_table_needs_every_object():
    grid = meaning_grid(2, 3)
    with pytest.raises(UserError, match="names 8 of the 9"):
        cd.message_table(grid[:8], np.zeros((8, 2), int), 3)


def test_controls_keep_the_symbol_counts():
    rng = np.random.default_rng(1)
    table = rng.integers(5, size=(16, 2))
    docs = cd.render(cd.walks(rng, 30, 4, 2, 4), table, sep=5)
    for how in ("between", "within"):
        sh = cd.shuffled(docs, 5, np.random.default_rng(2), how)
        assert np.array_equal(np.bincount(sh.ravel()), np.bincount(docs.ravel()))
        assert np.array_equal(sh == 5, docs == 5) and not np.array_equal(sh, docs)
    within = cd.shuffled(docs, 5, np.random.default_rng(2), "within").reshape(30, 4, 3)
    assert np.array_equal(np.sort(within, -1), np.sort(docs.reshape(30, 4, 3), -1))  # each message's bag
    rnd = cd.random_tokens(docs, 5, 5, np.random.default_rng(3))
    assert np.array_equal(rnd == 5, docs == 5) and rnd.max() == 5
    hol = cd.holistic_table(table, np.random.default_rng(4))
    assert sorted(map(tuple, hol)) == sorted(map(tuple, table))


def test_holistic_names_lose_the_compositional_structure():
    grid = meaning_grid(3, 4)
    compositional = grid + np.array([0, 4, 8])  # one symbol per attribute value: topsim 1
    hol = cd.holistic_table(compositional, np.random.default_rng(0))
    assert topsim(grid, compositional) == pytest.approx(1.0)
    assert abs(topsim(grid, hol)) < 0.2


def test_target_language_is_compositional_with_a_word_class_per_attribute():
    sentences, words = cd.target_language(4, 4, np.random.default_rng(0))
    grid = meaning_grid(4, 4)
    assert sentences.shape == (256, 4) and len(words) == 17 and words[-1] == "."
    assert topsim(grid, sentences) == pytest.approx(1.0)
    assert {"red", "ball", "big", "glass"} <= set(words)
    # slot j names one attribute throughout: its words come from one class of 4
    for j in range(4):
        assert len(set(sentences[:, j] // 4)) == 1
    assert len(cd.target_language(7, 9, np.random.default_rng(0))[1]) == 64  # beyond the lexicon


def test_corpus_frame_reads_the_game_artefact_and_rejects_an_empty_one():
    import pandas as pd

    f = pd.DataFrame({"attr_0": [0, 1], "attr_1": [1, 0], "sym_0": [3, 4], "sym_1": [5, 6],
                      "split": ["a", "b"]})
    m, x = cd.corpus_frame(f)
    assert m.tolist() == [[0, 1], [1, 0]] and x.tolist() == [[3, 5], [4, 6]]
    with pytest.raises(UserError, match="empty"):
        cd.corpus_frame(f.iloc[:0])


def test_transfer_moves_the_body_and_leaves_the_token_tables():
    torch = pytest.importorskip("torch")
    from emergelab.lab.registry import get_world
    from emergelab.worlds import _corpus_lm as lm

    cfg = get_world("corpus_transfer").make_config("tiny")
    src = lm.make_model(cfg, 5, 9, 0, "cpu")
    dst = lm.make_model(cfg, 7, 9, 1, "cpu")
    fresh = {k: v.clone() for k, v in dst.state_dict().items()}
    lm.transfer(src, dst)
    for k, v in dst.state_dict().items():
        if k in ("W_E", "W_U"):
            assert torch.equal(v, fresh[k]), k
        else:
            assert torch.equal(v, src.state_dict()[k]), k
    assert lm.perplexity(dst, np.zeros((4, 9), int), "cpu") > 1.0


@pytest.mark.parametrize("bad", [{"pretrain_steps": -1}, {"finetune_steps": -5}, {"n_sentences": 1},
                                 {"corpora": "emergent,klingon"}, {"corpora": "none,none"},
                                 {"shuffle": "sideways"}, {"game_preset": "huge"}, {"game_set": "steps"},
                                 {"game_set": "colour=3"}, {"d_model": 30, "n_heads": 4}, {"device": "tpu"}])
def test_bad_config_is_a_clear_error(bad):
    from emergelab.lab.registry import get_world

    with pytest.raises(UserError):
        get_world("corpus_transfer").make_config("tiny", bad)


def test_unknown_source_run_is_a_clear_error(tmp_path):
    from emergelab.lab.registry import get_world
    from emergelab.worlds.corpus_transfer import check

    w = get_world("corpus_transfer")
    cfg = w.make_config("tiny", {"source_run": "referential_game-nope", "source_store": str(tmp_path)})
    (tmp_path / "runs").mkdir()
    with pytest.raises(UserError, match="no run or sweep"):
        check([cfg])
    missing = w.make_config("tiny", {"source_run": "x", "source_store": str(tmp_path / "absent")})
    with pytest.raises(UserError, match="no store"):
        check([missing])
