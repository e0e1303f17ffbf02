"""Tests for emergelab.measures.ews_classifier (the Bury et al. 2021 bifurcation classifier) and its
training library: the shipped weights on freshly simulated series, bad input, determinism."""

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.measures import _bifurcation_library as lib
from emergelab.measures import ews_classifier as ec

FRESH_SEED = 20261202  # not one of the training script's SeedSequence(0) children
# Measured with the shipped weights: 0.705 on the training script's 1,978 held-out series and 0.677
# on these 158 (chance: 0.25; Hopf recall 35/40 here). The floor sits 3 binomial sd (0.036 at
# n = 158) below 0.705, so a retrained model that is as good passes whatever its seed.
ACCURACY_FLOOR = 0.6


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # The LSTM's per-step matmuls are tiny: on a busy 2-core machine a second torch thread only
    # spins (measured: 25 s wall with 2 threads, 9 s with 1). Restored afterwards.
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


@pytest.fixture(scope="module")
def fresh():
    return lib.simulate(40, FRESH_SEED)  # ~160 series, 40 per class before early tips are dropped


def test_shipped_weights_beat_chance(fresh):
    p = ec.predict_proba(fresh["X"], fresh["lengths"])  # (B, 4)
    pred = p.argmax(1)
    m = lib.confusion(fresh["labels"], pred)
    print("\n" + lib.format_confusion(m))
    acc = np.trace(m) / m.sum()
    assert acc >= ACCURACY_FLOOR, lib.format_confusion(m)
    # Hopf leaves the clearest fingerprint (oscillating fluctuations): it must be found most of the time
    hopf = ec.CLASSES.index("hopf")
    assert m[hopf, hopf] / m[hopf].sum() >= 0.6
    info = ec.model_info()
    assert info["classes"] == list(ec.CLASSES) and np.asarray(info["test_confusion"]).shape == (4, 4)


def test_classify_returns_probabilities_and_is_deterministic(fresh):
    i = int(np.argmax(fresh["labels"] == ec.CLASSES.index("hopf")))
    x = fresh["X"][i, -fresh["lengths"][i] :]
    out = ec.classify(x)
    assert tuple(out) == ec.CLASSES
    assert all(0.0 <= v <= 1.0 for v in out.values()) and sum(out.values()) == pytest.approx(1.0, abs=1e-6)
    assert ec.classify(list(x)) == out  # same input, same answer, whatever the container
    batch = ec.predict_proba(fresh["X"][i : i + 1], fresh["lengths"][i : i + 1])[0]
    np.testing.assert_allclose(list(out.values()), batch, atol=1e-6)


def test_scale_and_offset_do_not_matter(fresh):
    x = fresh["X"][0, -fresh["lengths"][0] :]
    a, b = ec.classify(x), ec.classify(1e3 + 50.0 * x)  # detrended, then normalised by mean |residual|
    np.testing.assert_allclose(list(a.values()), list(b.values()), atol=1e-4)


def test_steps_and_until_crop_like_early_warning(fresh):
    x = fresh["X"][1, -fresh["lengths"][1] :]
    steps = 10 + 3 * np.arange(len(x))  # evenly spaced, not from 0
    k = len(x) - 20
    assert ec.classify(x, steps=steps, until=steps[k]) == ec.classify(x[:k])
    assert ec.classify(np.tile(x, 3)[-700:]) == ec.classify(np.tile(x, 3)[-ec.INPUT_LEN :])  # last 500 read


def test_prepare_ignores_what_lies_left_of_each_series(fresh):
    X = fresh["X"][:5].copy()
    a = ec.prepare(np.nan_to_num(X, nan=0.0), fresh["lengths"][:5])
    X[np.isnan(X)] = 1e9
    b = ec.prepare(X, fresh["lengths"][:5])
    np.testing.assert_array_equal(a, b)
    n = fresh["lengths"][:5]
    assert (a[np.arange(ec.INPUT_LEN)[None, :] < (ec.INPUT_LEN - n)[:, None]] == 0).all()  # zero padding
    live = np.arange(ec.INPUT_LEN)[None, :] >= (ec.INPUT_LEN - n)[:, None]
    np.testing.assert_allclose(np.abs(a).sum(1) / n, 1.0, rtol=1e-5)  # mean |residual| = 1
    assert live.sum() == n.sum()


def test_library_is_reproducible_and_labelled():
    a, b = lib.simulate(5, 7), lib.simulate(5, 7)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert set(np.unique(a["labels"])) <= set(range(len(ec.CLASSES)))
    assert (a["lengths"] >= ec.MIN_LEN).all() and (a["lengths"] <= ec.INPUT_LEN).all()
    right = ~np.isnan(a["X"])
    np.testing.assert_array_equal(right.sum(1), a["lengths"])  # right-aligned, NaN to the left
    assert right[:, -1].all()
    assert not np.array_equal(lib.simulate(5, 8)["X"], a["X"])


def test_confusion_counts():
    m = lib.confusion([0, 0, 1, 3], [0, 1, 1, 2])
    assert m.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]]


@pytest.mark.parametrize(
    "series, kwargs, match",
    [
        (np.random.default_rng(0).standard_normal(50), {}, "too short"),
        (np.r_[np.random.default_rng(0).standard_normal(200), np.nan], {}, "NaN"),
        (np.full(300, 2.5), {}, "constant"),
        (np.linspace(0, 1, 300), {}, "constant"),  # a pure trend leaves nothing after detrending
        (np.zeros((2, 300)), {}, "1-D"),
        (["a"] * 300, {}, "numeric"),
        (np.random.default_rng(0).standard_normal(300), {"steps": np.arange(299)}, "different lengths"),
        (np.random.default_rng(0).standard_normal(300), {"steps": np.arange(300) ** 2}, "evenly spaced"),
        (np.random.default_rng(0).standard_normal(300), {"steps": np.arange(300)[::-1]}, "increasing"),
        (np.random.default_rng(0).standard_normal(300), {"until": 80}, "too short"),
        (np.random.default_rng(0).standard_normal(300), {"until": "end"}, "until"),
    ],
)
def test_bad_input_is_a_user_error(series, kwargs, match):
    with pytest.raises(UserError, match=match):
        ec.classify(series, **kwargs)
