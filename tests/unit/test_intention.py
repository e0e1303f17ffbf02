"""Intention metrics on hand-built cases (uniform logits, rank-k states, separable labels),
the own model's problem format, answer parsing, and the states reader's bad inputs."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.measures import intention as I


# -- intention entropy -------------------------------------------------------------------------
def test_uniform_logits_give_log2_100_bits():
    assert I.intention_entropy(np.zeros(50_000)) == pytest.approx(math.log2(100))
    h = I.intention_entropy(np.full((3, 1000), 2.5))
    assert h.shape == (3,) and np.allclose(h, math.log2(100))


def test_entropy_reads_only_the_top_k_renormalised():
    z = np.full(1000, -1e9)
    z[[3, 7]] = 5.0  # two equal favourites, the rest impossible
    assert I.intention_entropy(z) == pytest.approx(1.0)
    z2 = np.zeros(1000)
    z2[:100] = 10.0  # the top 100 equal; the 900 below are cut before renormalising
    assert I.intention_entropy(z2) == pytest.approx(math.log2(100))
    assert I.intention_entropy(z2, top_k=1000) > math.log2(100)  # the whole vocabulary: the tail adds bits
    one_hot = np.zeros(200)
    one_hot[0] = 100.0
    assert I.intention_entropy(one_hot) == pytest.approx(0.0, abs=1e-9)


def test_small_vocabulary_uses_every_logit_and_accepts_tensors():
    torch = pytest.importorskip("torch")
    assert I.intention_entropy(np.zeros(16)) == pytest.approx(4.0)
    assert I.intention_entropy(torch.zeros(2, 8)).tolist() == pytest.approx([3.0, 3.0])


def test_entropy_bad_input():
    with pytest.raises(UserError, match="NaN"):
        I.intention_entropy(np.array([0.0, np.nan]))
    with pytest.raises(UserError, match="empty"):
        I.intention_entropy(np.zeros((0, 10)))
    with pytest.raises(UserError, match="dimensions"):
        I.intention_entropy(np.zeros((2, 3, 4)))


# -- effective dimensionality ------------------------------------------------------------------
def _rank_k(k: int, n: int = 60, d: int = 32, seed: int = 0) -> np.ndarray:
    """n states in d dimensions spanning exactly k directions with equal variance."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, k))
    z -= z.mean(0)
    z = np.linalg.qr(z)[0] * 3.0  # (n, k) centred, orthogonal columns of equal norm
    basis = np.linalg.qr(rng.standard_normal((d, k)))[0]  # (d, k) orthonormal directions
    return z @ basis.T + rng.standard_normal(d)  # (n, d) plus an offset (PCA centres it away)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_rank_k_states_have_dim_eff_k(k):
    x = _rank_k(k)
    assert I.effective_dim(x) == k
    assert I.participation_ratio(x) == pytest.approx(k)
    assert I.explained_variance(x)[k - 1] == pytest.approx(1.0)


def test_unequal_components_and_threshold():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2000, 3)) * [10.0, 1.0, 1.0]  # variance 100 : 1 : 1
    assert I.effective_dim(x) == 1  # 100/102 = 0.98 >= 0.9
    assert I.effective_dim(x, threshold=0.99) == 2
    assert 1 < I.participation_ratio(x) < 1.1  # (102)^2 / (100^2 + 2) = 1.04
    same = np.ones((5, 4))
    assert I.effective_dim(same) == 0 and I.participation_ratio(same) == 0.0
    with pytest.raises(UserError, match="at least 2"):
        I.effective_dim(np.zeros((1, 4)))
    with pytest.raises(UserError, match="threshold"):
        I.effective_dim(x, threshold=1.5)


# -- recoverability ----------------------------------------------------------------------------
def test_separable_labels_are_recovered():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 10))
    y = x @ rng.standard_normal(10) > 0  # a linear rule
    assert I.recoverability(x, y, seed=0) > 0.97


def test_random_labels_give_chance():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 8))
    y = rng.random(400) < 0.5
    assert abs(I.recoverability(x, y, seed=0) - 0.5) < 0.1


def test_recoverability_is_seeded_and_undefined_for_one_class():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 5))
    y = (x[:, 0] + rng.standard_normal(40)) > 0
    assert I.recoverability(x, y, seed=3) == I.recoverability(x, y, seed=3)
    assert math.isnan(I.recoverability(x, np.ones(40, bool)))
    one = np.zeros(40, bool)
    one[0] = True  # a single right answer: no fold could hold it out and still train on one
    assert math.isnan(I.recoverability(x, one))
    two = np.zeros(40, bool)
    two[:3] = True  # 3 of the minority class: 3 folds instead of 5
    assert 0 <= I.recoverability(x, two) <= 1
    with pytest.raises(UserError, match="one entry per item"):
        I.recoverability(x, y[:10])


def test_intention_metrics_bundle():
    x = _rank_k(2, n=40)
    y = x[:, 0] > np.median(x[:, 0])
    m = I.intention_metrics(x, np.zeros((40, 300)), y)
    assert m["dim_eff"] == 2 and m["participation_ratio"] == pytest.approx(2)
    assert m["entropy"] == pytest.approx(math.log2(100)) and m["entropy_sd"] == pytest.approx(0, abs=1e-9)
    assert m["acc"] == 0.5 and m["recov"] > 0.95
    with pytest.raises(UserError, match="one row per item"):
        I.intention_metrics(x, np.zeros((39, 300)), y)


# -- the own model's format and the language models' answers -----------------------------------
def test_own_model_sequences():
    from emergelab.worlds import _intention_own as O

    s = O.encode(np.array([347]), np.array([285]), 3, "scratch")[0]
    chars = "".join("0123456789+=,>DS"[t] for t in s)
    assert chars == "S347+285=12,13,06,>0632"
    d = "".join("0123456789+=,>DS"[t] for t in O.encode(np.array([5]), np.array([7]), 2, "direct")[0])
    assert d == "D05+07=>012"
    lay = O.layout(3, "scratch")
    assert chars[lay.reply] == "=" and chars[lay.answer] == ">" and lay.T == len(chars)
    written = "".join(c for c, f in zip(chars, lay.forced) if not f)
    assert written == "121306" + "0632"  # column sums and the answer; commas and '>' are forced
    dl = O.layout(2, "direct")
    assert dl.reply == dl.answer == d.index(">")


@pytest.mark.parametrize("reply, value", [
    ("19", 19), ("18 + 5 = 23", 23), ("Ann starts with 14, so 14 + 5 = 19.\nAnswer: 19", 19),
    ("The answer is 7.", 7), ("It is 1,000 apples", 1000), ("I do not know.", None), ("", None)])  # fmt: skip
def test_parse_answers(reply, value):
    from emergelab.worlds._intention_llm import parse

    v, start = parse(reply)
    assert v == value
    if value is not None:
        assert reply[start:].replace(",", "").startswith(str(value))
    else:
        assert start == len(reply)


def test_questions_are_seeded_and_well_formed():
    from emergelab.worlds._intention_llm import request, texts

    a, b = np.array([3, 12]), np.array([4, 9])
    q1 = texts(np.random.default_rng(0), a, b, "word")
    assert q1 == texts(np.random.default_rng(0), a, b, "word")
    assert " 3 " in q1[0] and " 4 " in q1[0] and q1[0].endswith("?")
    assert texts(np.random.default_rng(0), a, b, "arithmetic") == ["What is 3 + 4?", "What is 12 + 9?"]
    r = request("What is 3 + 4?", "step", 32)
    assert r.messages[-1]["content"] == "What is 3 + 4?" and "Answer:" in r.messages[2]["content"]
    assert r.temperature == 0 and r.max_tokens == 32


# -- the states reader: bad input --------------------------------------------------------------
class _NoHidden:
    """A causal LM whose output has logits but no hidden states."""

    def __call__(self, input_ids, **kw):
        import torch

        return SimpleNamespace(logits=torch.zeros(*input_ids.shape, 11), hidden_states=None)


def _loaded(model):
    import threading

    torch = pytest.importorskip("torch")
    from emergelab.llm.local import _Loaded

    return _Loaded(None, model, torch.device("cpu"), torch.tensor([0]), 0, 64, "past_key_values", None, 0.0,
                   "test", threading.Lock())  # fmt: skip


def test_model_without_hidden_states_is_refused():
    pytest.importorskip("transformers")
    from emergelab.llm.states import last_states

    with pytest.raises(UserError, match="no hidden states"):
        last_states(_loaded(_NoHidden()), [[1, 2, 3], [4, 5]], name="stub")
    with pytest.raises(UserError, match="no prompts"):
        last_states(_loaded(_NoHidden()), [])
    with pytest.raises(UserError, match="empty prompt"):
        last_states(_loaded(_NoHidden()), [[1], []])


def test_checkpoint_that_is_not_a_model(tmp_path):
    from emergelab.llm.states import CheckpointBackend, load_checkpoint

    with pytest.raises(UserError, match="not a folder"):
        CheckpointBackend(str(tmp_path / "missing"))
    with pytest.raises(UserError, match="not a model: it has no config.json"):
        CheckpointBackend(str(tmp_path))
    pytest.importorskip("transformers")
    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}')
    with pytest.raises(UserError, match="not a causal LM transformers can load"):
        load_checkpoint(tmp_path)


# -- the question-only baseline ----------------------------------------------------------------
def test_char_counts_and_gain():
    x = I.char_counts(["ab a", "b"])
    assert x.tolist() == [[1, 2, 1], [0, 0, 1]]  # ' ', 'a', 'b'
    assert I.char_counts(["xyz"], alphabet="zq").tolist() == [[1, 0]]
    rng = np.random.default_rng(0)
    q = rng.standard_normal((200, 3))
    y = q[:, 0] > 0  # decided by the question
    states = np.concatenate([q, rng.standard_normal((200, 20))], 1)  # a state that encodes the question
    g = I.recoverability_gain(states, q, y, seed=0)
    assert g["recov"] > 0.9 and g["recov_question"] > 0.95 and abs(g["recov_gain"]) < 0.08
    assert g["recov_gain"] == g["recov"] - g["recov_question"]


def _own_questions(n_items=400, digits=3, seed=0):
    from emergelab.worlds import _intention_own as O

    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 10**digits, n_items), rng.integers(0, 10**digits, n_items)
    return a, b, O.question_features(a, b, digits)


def _llm_questions(n_items=400, seed=0):
    from emergelab.worlds import _intention_llm as L

    rng = np.random.default_rng(seed)
    a, b = rng.integers(1, 21, n_items), rng.integers(1, 10, n_items)
    q = L.texts(rng, a, b, "mix")
    return a, b, q, L.question_features(q, a, b)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_question_baseline_is_chance_when_correctness_ignores_the_question(seed):
    *_, fo = _own_questions(seed=seed)
    *_, fl = _llm_questions(seed=seed)
    y = np.random.default_rng(seed + 10).random(400) < 0.4  # right or wrong at random
    assert abs(I.recoverability(fo, y, seed=seed) - 0.5) < 0.1
    assert abs(I.recoverability(fl, y, seed=seed) - 0.5) < 0.1


def test_question_baseline_reads_a_question_feature():
    from emergelab.worlds import _intention_own as O

    a, b, fo = _own_questions()
    # the own model's questions: wrong exactly when the sum needs two carries or more
    carries = ((a % 10 + b % 10) >= 10).astype(int)
    assert fo[:, 9].tolist() == carries.tolist()  # the units column's carry
    two = fo[:, 12] >= 2  # the number of carries
    assert I.recoverability(fo, ~two, seed=0) > 0.97
    assert O.question_features(np.array([999]), np.array([1]), 3)[0, 12:14].tolist() == [3, 3]
    a, b, q, fl = _llm_questions()
    word = np.array([not s.startswith("What is") for s in q])
    assert I.recoverability(fl, word, seed=0) > 0.97  # right exactly on word problems
    assert I.recoverability(fl, a + b < 10, seed=0) > 0.97  # right exactly on small sums
