"""Compotypes: recurring, self-preserving compositions in a series of composition vectors.

Effect: in GARD (Segré, Ben-Eli & Lancet 2000, "Compositional genomes: prebiotic
information transfer in mutually catalytic noncovalent assemblies", PNAS 97:4112) an
assembly that grows by mutual catalysis and splits keeps its composition across many
generations ("compositional inheritance"); the long-lived, recurring compositions are the
compotypes. Used as in "Chemical Heredity as Group Selection at the Molecular Level" (2018).

Definitions (C is (G, T): one composition, e.g. molecule counts per type, per generation):
    H(a, b)       cosine similarity of two compositions, in [0, 1] for counts
    consecutive   H(C[t], C[t+1]) for t = 0..G-2
    non-drift     generation t whose mean H with its neighbours (t-1 and t+1; only one at
                  either end) is > threshold (0.9 in the GARD literature); the others drift
    compotypes    k-means clusters of the non-drift compositions (unit-normalised, so the
                  squared distance is 2 - 2H: k-means on the sphere is clustering by H).
                  With k=None, k is the smallest number of clusters at which the non-drift
                  generations have, on average, H >= threshold with the centre of their
                  cluster (the normalised sum of its members): as few compotypes as it
                  takes for a typical member to be as close to its compotype as a
                  non-drift generation is to its neighbours. Two stricter rules fail on
                  GARD: mean *pairwise* H >= threshold (within one long stasis the
                  composition wanders, so its two ends fall below 0.9 of each other) and
                  "every cluster coherent" (a few transitional generations between two
                  compotypes keep some cluster below the threshold at any k); both split
                  one compotype into many.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line


def _compositions(C) -> np.ndarray:
    try:
        X = np.asarray(C, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"compositions must be numeric; could not turn {type(C).__name__} "
                        "into floats") from None
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise UserError(f"compositions must be 2-D (generations, types), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise UserError("compositions contain NaN/inf; drop those generations first")
    zero = ~(np.abs(X).sum(axis=1) > 0)
    if zero.any():
        raise UserError(f"composition {int(np.argmax(zero))} is all zeros, so its similarity is undefined; "
                        "drop empty generations first")
    return X


def _unit(X: np.ndarray) -> np.ndarray:
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def similarity_matrix(C) -> np.ndarray:
    """(G, G) cosine similarities H between all pairs of rows of C (G, T)."""
    U = _unit(_compositions(C))
    return np.clip(U @ U.T, -1.0, 1.0)


def consecutive_similarity(C) -> np.ndarray:
    """(G-1,) H between each generation and the next."""
    U = _unit(_compositions(C))
    return np.clip(np.einsum("gt,gt->g", U[1:], U[:-1]), -1.0, 1.0)


def neighbour_similarity(C) -> np.ndarray:
    """(G,) mean H of each generation with its neighbours (one neighbour at either end)."""
    X = _compositions(C)
    if len(X) < 2:
        raise UserError("need at least 2 generations to compare neighbours")
    h = consecutive_similarity(X)
    out = np.empty(len(X))
    out[0], out[-1] = h[0], h[-1]
    out[1:-1] = 0.5 * (h[1:] + h[:-1])
    return out


def non_drift(C, threshold: float = 0.9) -> np.ndarray:
    """(G,) bool: the generation's mean H with its neighbours is > threshold."""
    return neighbour_similarity(C) > threshold


@dataclass(frozen=True)
class Compotypes:
    labels: np.ndarray      # (G,) compotype index per generation, -1 for drift generations
    centroids: np.ndarray   # (k, T) mean composition of each compotype's members (input units)
    sizes: np.ndarray       # (k,) members per compotype, largest first
    coherence: np.ndarray   # (k,) mean H of each compotype's members with its centre

    @property
    def k(self) -> int:
        return len(self.sizes)


def _fit(U: np.ndarray, labels: np.ndarray) -> float:
    """Mean over rows of H with their own cluster's centre: sum_j |sum_{i in j} u_i| / m."""
    return sum(np.linalg.norm(U[labels == j].sum(axis=0)) for j in np.unique(labels)) / len(U)


def _coherence(U: np.ndarray) -> float:
    """Mean H of unit rows U (m, T) with their centre sum(u)/|sum(u)|: |sum u| / m."""
    return float(np.linalg.norm(U.sum(axis=0)) / len(U))


def kmeans(X, k: int, seed: int = 0, n_init: int = 4, iters: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Plain Lloyd k-means with k-means++ seeding, best of n_init by inertia.

    X (m, T), 1 <= k <= m. Returns labels (m,) and centres (k, T). Seeded: the same seed
    gives the same clusters.
    """
    X = np.asarray(X, dtype=float)
    m = len(X)
    if not 1 <= k <= m:
        raise UserError(f"k must be between 1 and the number of points ({m}), got {k}")
    rng = np.random.default_rng(seed)
    sq = np.einsum("mt,mt->m", X, X)  # (m,) |x|^2, for fast distances
    best = (np.inf, None, None)
    for _ in range(n_init):
        centres = [X[rng.integers(m)]]
        d2 = np.maximum(sq - 2 * X @ centres[0] + centres[0] @ centres[0], 0.0)
        for _ in range(1, k):  # k-means++: far points are likelier new centres
            p = d2 / d2.sum() if d2.sum() > 0 else np.full(m, 1.0 / m)
            c = X[rng.choice(m, p=p)]
            centres.append(c)
            d2 = np.minimum(d2, np.maximum(sq - 2 * X @ c + c @ c, 0.0))
        M = np.array(centres)  # (k, T)
        labels = np.full(m, -1)
        for _ in range(iters):
            D = sq[:, None] - 2 * X @ M.T + np.einsum("kt,kt->k", M, M)[None, :]  # (m, k)
            new = D.argmin(axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            count = np.bincount(labels, minlength=k)  # (k,)
            sums = np.eye(k)[labels].T @ X  # (k, T) per-cluster sums
            full = count > 0  # an emptied cluster keeps its old centre
            M[full] = sums[full] / count[full, None]
        inertia = float(np.min(D, axis=1).sum())
        if inertia < best[0]:
            best = (inertia, labels.copy(), M.copy())
    return best[1], best[2]


def find_compotypes(C, threshold: float = 0.9, k: int | None = None, seed: int = 0,
                    k_max: int = 20) -> Compotypes:
    """Cluster the non-drift generations of C (G, T) into compotypes.

    k=None picks the smallest k <= k_max at which the members' mean H with their own
    cluster's centre is >= threshold (k_max if none is). Clusters are numbered by size, largest first.
    """
    X = _compositions(C)
    if not 0 < threshold < 1:
        raise UserError(f"threshold must be in (0, 1), got {threshold}")
    keep = np.flatnonzero(non_drift(X, threshold))
    labels = np.full(len(X), -1)
    if len(keep) == 0:
        T = X.shape[1]
        return Compotypes(labels, np.empty((0, T)), np.empty(0, int), np.empty(0))
    U = _unit(X[keep])  # (m, T) on the sphere: squared distance = 2 - 2H
    if k is not None:
        if not 1 <= k <= len(keep):
            raise UserError(f"k must be between 1 and the number of non-drift generations "
                            f"({len(keep)}), got {k}")
        lab, _ = kmeans(U, k, seed)
    else:
        for kk in range(1, min(k_max, len(keep)) + 1):
            lab, _ = kmeans(U, kk, seed)
            if _fit(U, lab) >= threshold:
                break
    used = [j for j in np.unique(lab)]
    used.sort(key=lambda j: -int((lab == j).sum()))  # largest compotype first
    new = np.full(lab.shape, -1)
    for i, j in enumerate(used):
        new[lab == j] = i
    labels[keep] = new
    centroids = np.array([X[keep][new == i].mean(axis=0) for i in range(len(used))])
    sizes = np.array([int((new == i).sum()) for i in range(len(used))])
    coherence = np.array([_coherence(U[new == i]) for i in range(len(used))])
    return Compotypes(labels, centroids, sizes, coherence)
