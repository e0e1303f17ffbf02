"""The Price equation, single-level and multilevel, on any population with a parent -> offspring map.

Effect: evolutionary change of a mean trait splits exactly into selection (covariance of
fitness and trait) and transmission (offspring unlike their parents); with groups, selection
splits again into between-group selection (groups with a higher mean trait leave more
offspring: group selection, favouring cooperators) and within-group change (individual
selection inside groups, favouring "selfish" replicators, plus transmission).

Paper: "Chemical Heredity as Group Selection at the Molecular Level" (2018), which applies
the multilevel Price equation to GARD assemblies (Segré, Ben-Eli & Lancet 2000): molecules
are the individuals, the assemblies they form are the groups.

Population. Individuals i = 1..n (the parents), each with
    g_i   a group label (any hashable values; compared for equality only)
    z_i   a trait
    w_i   an offspring count (>= 0; fractional counts are fine, e.g. an average over
          exchangeable individuals)
    z'_i  the mean trait of i's offspring (default z_i: no transmission bias; may be NaN
          where w_i = 0, as such an individual has no offspring to average over)
All means below are plain means over individuals; a group k of n_k members therefore
weighs n_k / n in every mean over groups (E_k[X_k] = sum_k (n_k/n) X_k). That is the
weighting that makes the group terms add up to the individual-level ones exactly.
    w̄ = mean w,  z̄ = mean z,  z̄' = sum w z' / sum w  (the offspring generation's mean)
    total        w̄ Δz̄ = w̄ (z̄' - z̄)
    single level w̄ Δz̄ = Cov(w, z) + E[w Δz],            Δz_i = z'_i - z_i
    two levels   w̄ Δz̄ = Cov_k(W_k, Z_k) + E_k[W_k Δz_k]
                  W_k, Z_k = mean w, mean z in group k; Δz_k = z̄'_k - Z_k with z̄'_k the
                  mean trait of group k's offspring (W_k Δz_k = 0 when W_k = 0)
                  E_k[W_k Δz_k] = E_k[Cov_{i in k}(w, z)] + E[w Δz]
                                 (within-group selection + transmission)
and Cov(w, z) = Cov_k(W_k, Z_k) + E_k[Cov_{i in k}(w, z)] (the law of total covariance).
Each term is computed from its own definition, never as a difference, so `residual`
= total - (between + within) measures the identity (~1e-16 in double precision).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line


@dataclass(frozen=True)
class PriceTerms:
    n: int                    # individuals (parents)
    n_groups: int
    w_bar: float              # mean offspring count
    z_bar: float              # mean trait of the parents
    z_bar_offspring: float    # mean trait of the offspring, sum w z' / sum w
    delta_z_bar: float        # z_bar_offspring - z_bar
    total: float              # w̄ Δz̄
    between: float            # Cov_k(W_k, Z_k): between-group (group) selection
    within: float             # E_k[W_k Δz_k]: all change inside groups
    within_selection: float   # E_k[Cov_{i in k}(w, z)]: individual selection inside groups
    transmission: float       # E[w Δz]: offspring differ from their parents
    selection: float          # Cov(w, z): single-level selection (= between + within_selection)
    residual: float           # total - (between + within): zero up to rounding

    def to_dict(self) -> dict:
        return asdict(self)


def _column(name: str, a, n: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be numeric; could not turn {type(a).__name__} into floats") from None
    if arr.ndim != 1:
        raise UserError(f"{name} must be 1-D (one value per individual), got shape {arr.shape}")
    if n is not None and len(arr) != n:
        raise UserError(f"{name} has {len(arr)} values but there are {n} individuals; "
                        "pass exactly one value per individual")
    return arr


def price_equation(groups, traits, offspring, offspring_traits=None) -> PriceTerms:
    """The multilevel Price decomposition of one parent -> offspring generation.

    groups: (n,) group label per individual; traits: (n,) z; offspring: (n,) w >= 0;
    offspring_traits: (n,) z' or None (= traits). See the module docstring for the terms.
    """
    z = _column("traits", traits)
    n = len(z)
    if n == 0:
        raise UserError("the population is empty: pass at least one individual")
    w = _column("offspring", offspring, n)
    zo = z if offspring_traits is None else _column("offspring_traits", offspring_traits, n)
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != n:
        raise UserError(f"groups must be 1-D with one label per individual ({n}), got shape {g.shape}")
    for name, arr in (("traits", z), ("offspring", w)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise UserError(f"{name} contains {int(bad.sum())} NaN/inf value(s), the first at index "
                            f"{int(np.argmax(bad))}; drop or fix those individuals")
    if (w < 0).any():
        raise UserError(f"offspring counts must be >= 0; index {int(np.argmax(w < 0))} has "
                        f"{w[np.argmax(w < 0)]}")
    has = w > 0
    bad = has & ~np.isfinite(zo)
    if bad.any():
        raise UserError(f"offspring_traits is NaN/inf at index {int(np.argmax(bad))}, which has offspring; "
                        "z' may be missing only where offspring == 0")
    if not has.any():
        raise UserError("no individual has offspring (all counts are 0): the offspring mean trait is "
                        "undefined")
    zo = np.where(has, zo, 0.0)  # z' of childless parents never counts: w z' = 0 there
    try:
        _, k = np.unique(g, return_inverse=True)  # k: (n,) group index 0..K-1
    except TypeError:
        raise UserError("group labels must be of one comparable kind: use all ints or all strings") from None
    k = k.ravel()

    # individual level
    w_bar, z_bar = w.mean(), z.mean()
    z_bar_o = np.sum(w * zo) / np.sum(w)
    total = w_bar * (z_bar_o - z_bar)
    selection = np.mean((w - w_bar) * (z - z_bar))
    transmission = np.mean(w * (zo - z))  # 0 where w = 0

    # group level: per-group sums, then means weighted by n_k / n
    nk = np.bincount(k).astype(float)  # (K,)
    Wk = np.bincount(k, w) / nk  # (K,) mean offspring count per member
    Zk = np.bincount(k, z) / nk  # (K,) mean trait
    Ok = np.bincount(k, w * zo)  # (K,) offspring trait sum
    frac = nk / n
    between = np.sum(frac * (Wk - w_bar) * (Zk - z_bar))
    dzk = np.zeros_like(Zk)  # Δz_k = z̄'_k - Z_k, 0 for groups without offspring
    alive = Wk > 0
    dzk[alive] = Ok[alive] / (Wk[alive] * nk[alive]) - Zk[alive]
    within = np.sum(frac * Wk * dzk)
    within_sel = np.sum(np.bincount(k, (w - Wk[k]) * (z - Zk[k]))) / n  # sum_k (n_k/n) Cov_k

    return PriceTerms(
        n=n, n_groups=len(nk), w_bar=float(w_bar), z_bar=float(z_bar), z_bar_offspring=float(z_bar_o),
        delta_z_bar=float(z_bar_o - z_bar), total=float(total), between=float(between),
        within=float(within), within_selection=float(within_sel), transmission=float(transmission),
        selection=float(selection), residual=float(total - (between + within)),
    )
