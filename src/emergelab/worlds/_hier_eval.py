"""The hierarchical_contrastive world's read-outs of an embedding of the evaluation grid (every
species x variant, `n_eval_per_cell` fresh individuals): numpy only, through
measures.embedding_geometry, so the same numbers can be taken of the raw observations, of the
true latents and of the untrained encoder (step 0)."""

from __future__ import annotations

import numpy as np

from emergelab.measures import embedding_geometry as eg


def ranks(n_species: int, n_variants: int, dim: int, between_rank: int) -> tuple[int, int]:
    """(k_within, k_between): the variant subspace has V - 1 directions (offsets sum to zero per
    species); the species subspace keeps its top `between_rank` directions, capped so that both
    fit in `dim` together (else orthogonality is impossible by counting) and by S - 1."""
    kw = min(n_variants - 1, dim - 1)
    return kw, max(1, min(between_rank, dim - kw, n_species - 1))


def geometry(E: np.ndarray, sp: np.ndarray, var: np.ndarray, traits: np.ndarray, folds: np.ndarray,
             n_variants: int, between_rank: int, ridge: float) -> dict[str, float]:
    """E (N, d) embeddings of the grid with species sp (N,) and variants var (N,); traits (S, T);
    folds (S,) the species' probe folds. Returns the orth/*, variant/* and trait/* metrics."""
    S, d = len(traits), E.shape[1]
    means, _, offsets, resid = eg.decompose(E, sp, var, S, n_variants)  # (S, d), _, (S, V, d), (N, d)
    between = means - means.mean(0)  # (S, d) species differences
    within = offsets.reshape(-1, d)  # (S * V, d) variant differences inside each species
    kw, kb = ranks(S, n_variants, d, between_rank)
    Qw, Qb = eg.pca_basis(within, kw), eg.pca_basis(between, kb)  # (d, kw), (d, kb)
    a = eg.angle_summary(Qw, Qb)
    out = {"orth/angle_deg": a["angle_mean_deg"], "orth/angle_min_deg": a["angle_min_deg"],
           "orth/cos": a["cos_mean"],
           # share of the variant offsets' energy inside the top-kb species subspace (random: kb / d)
           "orth/overlap": eg.variance_share(within, Qb),
           "orth/cov_cos": eg.covariance_cosine(within, between),
           # how concentrated the species differences are in their top kb directions (kb / d: isotropic,
           # then "orthogonal to the species subspace" has little room to mean anything)
           "orth/between_share": eg.variance_share(between, Qb)}
    # Variants inside a species: Fisher ratio per species (variant means vs individuals), averaged
    fdr = [eg.fisher_ratio(E[sp == s], var[sp == s]) for s in range(S)]
    out["variant/fdr"] = float(np.mean(fdr))
    # ... and a probe that reads the life stage off species-centred embeddings of species it was not
    # fitted on (works only if a life stage points the same way in every species)
    centred, f = E - means[sp], folds[sp]
    accs = [eg.ridge_classify_acc(centred[f != k], var[f != k], centred[f == k], var[f == k], n_variants,
                                  ridge) for k in np.unique(folds)]
    out["variant/probe_acc"] = float(np.mean(accs))
    # spread of individuals around their (species, variant) cell relative to the variant offsets
    out["variant/noise_ratio"] = float(np.sqrt((within ** 2).sum(1).mean() / (resid ** 2).sum(1).mean()))
    out["trait/r2"] = eg.cv_ridge_r2(means, traits, folds, ridge)
    return out


def random_baseline(n_species: int, n_variants: int, dim: int, between_rank: int,
                    seed: int) -> dict[str, float]:
    """orth/angle_deg and orth/overlap of random subspaces of the same ranks in the same dimension."""
    kw, kb = ranks(n_species, n_variants, dim, between_rank)
    return {"angle_deg": eg.random_angle_baseline(dim, kw, kb, n=100, seed=seed), "overlap": kb / dim}
