"""Tests for emergelab.measures.compotypes on hand-made compositions with known answers."""

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.measures.compotypes import (
    choose_k_silhouette,
    consecutive_similarity,
    cosine_kmeans,
    find_compotypes,
    kmeans,
    neighbour_similarity,
    non_drift,
    silhouette_cosine,
    similarity_matrix,
)

A = np.array([4.0, 4, 2, 0, 0, 0, 0, 0])  # two made-up compotypes on 8 types, orthogonal
B = np.array([0.0, 0, 0, 0, 5, 3, 2, 0])


def jitter(base, n, seed, scale=0.3):
    rng = np.random.default_rng(seed)
    return np.abs(base + rng.normal(scale=scale, size=(n, len(base))) * (base > 0))


def test_similarity_by_hand():
    C = np.array([[1.0, 0, 0], [1, 1, 0], [0, 0, 2]])
    S = similarity_matrix(C)
    assert S.shape == (3, 3) and np.allclose(np.diag(S), 1.0)
    assert S[0, 1] == pytest.approx(1 / np.sqrt(2)) and S[0, 2] == 0.0 and S[1, 2] == 0.0
    assert np.allclose(S, S.T)
    assert np.allclose(consecutive_similarity(C), [1 / np.sqrt(2), 0.0])
    # neighbour mean: ends have one neighbour, the middle averages both
    assert np.allclose(neighbour_similarity(C), [1 / np.sqrt(2), 0.5 / np.sqrt(2), 0.0])
    assert similarity_matrix(3 * C)[0, 1] == pytest.approx(S[0, 1])  # scale-free


def test_non_drift_marks_stasis_and_not_the_jumps():
    # 10 generations near A, one random generation, 10 near B
    C = np.vstack([jitter(A, 10, 0), [[1.0, 0, 1, 1, 0, 0, 1, 3]], jitter(B, 10, 1)])
    nd = non_drift(C, 0.9)
    assert nd.shape == (21,)
    assert nd[:9].all() and nd[12:].all()  # inside each stasis
    assert not nd[9:12].any()  # the generation before, at and after the jump
    assert non_drift(C, 0.999).sum() < nd.sum()


def test_two_compotypes_found_with_their_centres():
    C = np.vstack([jitter(A, 30, 2), jitter(B, 20, 3), jitter(A, 15, 4)])
    ct = find_compotypes(C, threshold=0.9)
    assert ct.k == 2 and ct.sizes.tolist()[0] >= ct.sizes.tolist()[1]
    a, b = ct.labels[0], ct.labels[35]
    assert a != b and a >= 0 and b >= 0
    assert (ct.labels[ct.labels >= 0][:28] == a).all()  # A's stasis, interior
    assert ct.labels[-5] == a  # A recurs: the same compotype
    assert similarity_matrix(np.vstack([ct.centroids[a], A]))[0, 1] > 0.99
    assert similarity_matrix(np.vstack([ct.centroids[b], B]))[0, 1] > 0.99
    assert (ct.coherence > 0.9).all() and ct.centroids.shape == (2, 8)


def test_one_stasis_is_one_compotype_and_pure_drift_none():
    ct = find_compotypes(jitter(A, 40, 5))
    assert ct.k == 1 and (ct.labels == 0).all()
    drift = np.random.default_rng(6).integers(0, 3, size=(40, 50)).astype(float) + np.eye(40, 50) * 5
    ct = find_compotypes(drift)
    assert ct.k == 0 and (ct.labels == -1).all() and ct.centroids.shape == (0, 50)


def test_fixed_k_and_seeded_kmeans_is_deterministic():
    C = np.vstack([jitter(A, 20, 7), jitter(B, 20, 8)])
    assert find_compotypes(C, k=1).k == 1
    X = np.vstack([np.zeros((5, 2)), np.ones((5, 2)) * 10])
    lab, M = kmeans(X, 2, seed=0)
    assert len(set(lab[:5])) == 1 and len(set(lab[5:])) == 1 and lab[0] != lab[5]
    assert np.allclose(np.sort(M[:, 0]), [0, 10])
    lab2, _ = kmeans(X, 2, seed=0)
    assert np.array_equal(lab, lab2)


@pytest.mark.parametrize("C, match", [
    (np.ones(5), "2-D"),
    (np.array([[1.0, np.nan], [1, 1]]), "NaN"),
    (np.array([[1.0, 1], [0, 0]]), "all zeros"),
])
def test_bad_compositions_are_user_errors(C, match):
    with pytest.raises(UserError, match=match):
        similarity_matrix(C)


def test_bad_arguments_are_user_errors():
    C = np.vstack([jitter(A, 20, 9)])
    with pytest.raises(UserError, match="threshold"):
        find_compotypes(C, threshold=1.5)
    with pytest.raises(UserError, match="k must be"):
        find_compotypes(C, k=100)
    with pytest.raises(UserError, match="at least 2 generations"):
        non_drift(C[:1])


# -- the GARD authors' rule: cosine k-means, k with the best mean silhouette ------------------
def slow_silhouette(X, labels):
    """Rousseeuw's definition point by point, cosine distance; one cluster: b = 1 (see the doc)."""
    U = [x / np.linalg.norm(x) for x in np.asarray(X, float)]
    out = []
    for i, li in enumerate(labels):
        own = [1 - U[i] @ U[j] for j in range(len(U)) if labels[j] == li and j != i]
        if not own:
            out.append(0.0)
            continue
        a = sum(own) / len(own)
        others = {lj for lj in labels if lj != li}
        b = min(np.mean([1 - U[i] @ U[j] for j in range(len(U)) if labels[j] == lj]) for lj in others) \
            if others else 1.0
        out.append((b - a) / max(a, b))
    return np.array(out)


def blobs(centres, n, seed, scale=0.15):
    """n noisy non-negative compositions around each centre (rows of `centres`)."""
    rng = np.random.default_rng(seed)
    return np.vstack([np.abs(c * (1 + rng.normal(scale=scale, size=(n, len(c))))) + 0.01 for c in centres])


# four overlapping compositions on 12 types: they share types, so none is orthogonal to another
CENTRES = np.array([[5.0, 4, 3, 1, 1, 0, 0, 0, 0, 0, 0, 1],
                    [1.0, 0, 0, 5, 4, 3, 1, 0, 0, 0, 0, 0],
                    [0.0, 1, 0, 0, 0, 1, 5, 4, 3, 0, 0, 0],
                    [1.0, 0, 1, 0, 0, 0, 0, 0, 1, 5, 4, 3]])


def test_silhouette_matches_sklearn_and_a_slow_loop():
    from sklearn.metrics import silhouette_samples

    X = blobs(CENTRES[:3], 12, seed=0)
    labels = np.repeat([0, 1, 2], 12)
    labels[5] = 2  # a misplaced point: negative silhouette
    labels = np.append(labels, 7)  # and a cluster of one (s = 0)
    X = np.vstack([X, CENTRES[3]])
    s = silhouette_cosine(X, labels)
    assert np.allclose(s, silhouette_samples(X, labels, metric="cosine"), atol=1e-12)
    assert np.allclose(s, slow_silhouette(X, labels), atol=1e-12)
    assert s[5] < 0 < s[0] and s[-1] == 0.0
    assert np.allclose(silhouette_cosine(3 * X, labels + 10), s)  # scale- and name-free


def test_one_cluster_scores_the_mean_similarity_with_the_others():
    X = blobs(CENTRES[:2], 10, seed=1)
    s = silhouette_cosine(X, np.zeros(20, dtype=int))
    S = similarity_matrix(X)
    assert np.allclose(s, (S.sum(axis=1) - 1) / 19)  # 1 - a_i with b_i = 1
    assert np.allclose(s, slow_silhouette(X, [0] * 20))


def test_silhouette_rule_picks_the_true_number_of_clusters():
    for k_true in (2, 3, 4):
        X = blobs(CENTRES[:k_true], 25, seed=k_true)
        ch = choose_k_silhouette(X, seed=0)
        assert ch.k == k_true, (k_true, ch.scores)
        assert len(set(ch.labels[:25])) == 1 and len(set(ch.labels)) == k_true  # the blobs themselves
        assert ch.scores.shape == (10,) and np.nanargmax(ch.scores) == k_true - 1


def test_silhouette_rule_keeps_one_blob_whole():
    ch = choose_k_silhouette(blobs(CENTRES[:1], 60, seed=5, scale=0.3), seed=0)
    assert ch.k == 1 and (ch.labels == 0).all()
    assert ch.scores[0] > np.nanmax(ch.scores[1:])
    # the authors' early stop (4 k in a row without a better score) left k > 5 untried
    assert np.isnan(ch.scores[5:]).all()
    assert not np.isnan(choose_k_silhouette(blobs(CENTRES[:1], 60, seed=5), patience=None).scores).any()


def test_cosine_kmeans_finds_the_blobs_and_keeps_every_cluster():
    X = blobs(CENTRES, 15, seed=6)
    lab, M, sumd = cosine_kmeans(X, 4, seed=3)
    assert all(len(set(lab[i * 15:(i + 1) * 15])) == 1 for i in range(4)) and len(set(lab)) == 4
    assert np.allclose(np.linalg.norm(M, axis=1), 1.0) and sumd >= 0
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    assert sumd == pytest.approx((1 - np.einsum("mt,mt->m", U, M[lab])).sum())
    assert np.array_equal(lab, cosine_kmeans(X, 4, seed=3)[0])  # seeded
    # two distinct points asked for three clusters: the emptied one takes a point (singleton)
    lab, _, _ = cosine_kmeans(np.vstack([np.tile(CENTRES[0], (5, 1)), np.tile(CENTRES[1], (5, 1))]), 3)
    assert (np.bincount(lab, minlength=3) > 0).all()


def test_find_compotypes_under_both_rules():
    C = np.vstack([jitter(A, 30, 10), jitter(B, 20, 11), jitter(A, 15, 12)])
    for rule in ("silhouette", "threshold"):
        ct = find_compotypes(C, rule=rule)
        assert ct.k == 2 and ct.sizes[0] >= ct.sizes[1] and ct.silhouette > 0.9, rule
    assert find_compotypes(jitter(A, 40, 13), rule="silhouette").k == 1
    assert find_compotypes(C, rule="silhouette", k=3).k == 3


def test_bad_silhouette_inputs_are_user_errors():
    X = blobs(CENTRES[:2], 5, seed=7)
    with pytest.raises(UserError, match="labels must be"):
        silhouette_cosine(X, np.zeros(3, dtype=int))
    with pytest.raises(UserError, match="rule must be"):
        find_compotypes(X, rule="gap")
    with pytest.raises(UserError, match="ks must be"):
        choose_k_silhouette(X, ks=[0, 1])
    with pytest.raises(UserError, match="k must be"):
        cosine_kmeans(X, 11)
