"""The hierarchical_contrastive world's synthetic tree of life: genera -> species -> variants
("life stages"), observations rendered from latents through a fixed random nonlinear map, and
ecological traits that are a smooth function of the species latent (never seen in training).
Pure numpy, seeded; no torch here so the data can be tested and inspected on its own."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Taxonomy:
    genus_of: np.ndarray  # (S,) genus index of each species
    species: np.ndarray  # (S, Ls) species latents (genus centre + species offset)
    variants: np.ndarray  # (S, V, Lv) variant latents: a shared life-stage effect + a species-specific part
    traits: np.ndarray  # (S, T) ecological traits, a smooth function of `species`
    A1: np.ndarray  # (Ls + Lv, H) the rendering map's first layer
    b1: np.ndarray  # (H,)
    A2: np.ndarray  # (H, D) its second layer

    @property
    def n_species(self) -> int:
        return len(self.genus_of)

    @property
    def n_variants(self) -> int:
        return self.variants.shape[1]


def make_taxonomy(cfg, rng: np.random.Generator) -> Taxonomy:
    G, S_per, V = cfg.n_genera, cfg.species_per_genus, cfg.n_variants
    Ls, Lv = cfg.latent_dim, cfg.variant_dim
    genus_of = np.repeat(np.arange(G), S_per)  # (S,)
    centres = rng.standard_normal((G, Ls))  # genus centres
    species = centres[genus_of] + cfg.species_spread * rng.standard_normal((G * S_per, Ls))  # (S, Ls)
    # A life stage is a shared concept ("larva" looks alike across species) that each species
    # expresses a little differently: variant_specific scales the species' own part.
    shared = rng.standard_normal((V, Lv))
    own = rng.standard_normal((G * S_per, V, Lv))
    variants = cfg.variant_scale * (shared[None] + cfg.variant_specific * own)  # (S, V, Lv)
    # Traits: tanh of random projections of the species latent (smooth, monotone per direction,
    # mildly nonlinear): beak size or habitat as functions of what the species is.
    Wt = rng.standard_normal((Ls, cfg.n_traits)) / np.sqrt(Ls)
    traits = np.tanh(cfg.trait_gain * (species @ Wt))  # (S, T)
    dz = Ls + Lv + cfg.nuisance_dim
    # The "camera": a random one-hidden-layer tanh network from latents to observations, gain
    # > 1 so tanh saturates and a linear read-out of x cannot undo it.
    A1 = cfg.map_gain * rng.standard_normal((dz, cfg.map_hidden)) / np.sqrt(dz)
    b1 = 0.5 * rng.standard_normal(cfg.map_hidden)
    A2 = rng.standard_normal((cfg.map_hidden, cfg.obs_dim)) / np.sqrt(cfg.map_hidden)
    return Taxonomy(genus_of, species, variants, traits, A1, b1, A2)


def render(tax: Taxonomy, sp: np.ndarray, var: np.ndarray, cfg, rng: np.random.Generator) -> np.ndarray:
    """Observations (N, D) of individuals of species `sp` (N,) in variant `var` (N,): each
    individual's latent jitters by individual_sd and gets nuisance_dim nuisance coordinates
    (N(0, nuisance_sd)), then the map, then obs_noise."""
    n = len(sp)
    z = np.concatenate([tax.species[sp], tax.variants[sp, var]], 1)  # (N, Ls + Lv)
    z = z + cfg.individual_sd * rng.standard_normal(z.shape)
    # nuisance (pose, background, light): per individual, unrelated to the taxonomy
    z = np.concatenate([z, cfg.nuisance_sd * rng.standard_normal((n, cfg.nuisance_dim))], 1)  # (N, dz)
    x = np.tanh(z @ tax.A1 + tax.b1) @ tax.A2  # (N, D)
    return (x + cfg.obs_noise * rng.standard_normal((n, x.shape[1]))).astype(np.float32)


def training_labels(n: int, n_species: int, n_variants: int, rng: np.random.Generator):
    """`n` (species, variant) labels: every species at least floor(n / S) times (the first
    n mod S species once more, in shuffled order), variants uniform: (N,), (N,)."""
    sp = rng.permutation(np.arange(n) % n_species)
    return sp, rng.integers(0, n_variants, n)


def eval_labels(n_species: int, n_variants: int, per_cell: int):
    """A balanced grid: `per_cell` individuals of every (species, variant): (N,), (N,)."""
    sp, var = np.meshgrid(np.arange(n_species), np.arange(n_variants), indexing="ij")
    return np.repeat(sp.ravel(), per_cell), np.repeat(var.ravel(), per_cell)


def species_folds(n_species: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """(S,) fold index per species (k folds of near-equal size, random assignment): the probes
    are always scored on species whose rows they were not fitted on."""
    return rng.permutation(np.arange(n_species) % k)
