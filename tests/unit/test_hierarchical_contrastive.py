"""The hierarchical_contrastive world's parts: config validation, the synthetic taxonomy and its
labels, the two label-text towers and their loss, and the world's geometry read-out on
constructed embeddings whose subspaces are known (orthogonal variants -> 90 deg, variants inside
the species subspace -> ~0 deg)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.worlds.hierarchical_contrastive import HierarchicalContrastiveConfig


def _cfg(**kw) -> HierarchicalContrastiveConfig:
    return get_world("hierarchical_contrastive").make_config("tiny", kw)


@pytest.mark.parametrize("bad", [{"n_genera": -1}, {"species_per_genus": 1}, {"n_variants": 0}, {"data": 63},
                                 {"data": -5}, {"label_mode": "genus"}, {"steps": 0}, {"obs_noise": -0.1},
                                 {"temperature": 0.0}, {"probe_folds": 1}, {"nuisance_dim": -1},
                                 {"embed_dim": 1}, {"device": "tpu"}])
def test_bad_config_is_a_value_error(bad):
    with pytest.raises(ValueError):
        HierarchicalContrastiveConfig(**bad)


@pytest.mark.parametrize("override,phrase", [({"data": 5}, "smaller than the number of species (6)"),
                                             ({"label_mode": "genus"}, "choose one of hierarchical, flat"),
                                             ({"n_variants": -2}, "n_variants must be at least 1")])
def test_bad_overrides_are_one_line_user_errors(override, phrase):
    with pytest.raises(UserError, match=re.escape(phrase)) as e:
        _cfg(**override)
    assert "\n" not in str(e.value)


def test_taxonomy_has_genera_species_variants_and_traits():
    from emergelab.worlds._hier_data import eval_labels, make_taxonomy, render, training_labels

    cfg = get_world("hierarchical_contrastive").make_config("quick")
    tax = make_taxonomy(cfg, np.random.default_rng(0))
    S, V = cfg.n_species, cfg.n_variants
    assert tax.genus_of.tolist() == np.repeat(np.arange(8), 8).tolist()
    assert tax.species.shape == (S, cfg.latent_dim) and tax.variants.shape == (S, V, cfg.variant_dim)
    assert tax.traits.shape == (S, cfg.n_traits) and np.abs(tax.traits).max() < 1  # tanh
    # species of a genus sit closer together than species of different genera
    d = np.linalg.norm(tax.species[:, None] - tax.species[None], axis=-1)
    same = tax.genus_of[:, None] == tax.genus_of[None]
    assert d[same & ~np.eye(S, dtype=bool)].mean() < 0.6 * d[~same].mean()
    # a life stage is shared: variant m of two species is closer than variants m != m' of one species
    v = tax.variants
    assert np.linalg.norm(v[0, 0] - v[1, 0]) < np.linalg.norm(v[0, 0] - v[0, 1])
    sp, var = training_labels(200, S, V, np.random.default_rng(1))
    assert np.bincount(sp, minlength=S).min() == 3 and set(var) == set(range(V))  # floor(200 / 64) each
    ev_sp, ev_var = eval_labels(S, V, 4)
    assert np.all(np.bincount(ev_sp * V + ev_var) == 4)  # every cell 4 times
    x = render(tax, ev_sp, ev_var, cfg, np.random.default_rng(2))
    assert x.shape == (S * V * 4, cfg.obs_dim) and x.dtype == np.float32 and np.isfinite(x).all()


def test_label_texts_share_the_genus_only_in_the_hierarchical_mode():
    import torch

    from emergelab.worlds._hier_model import build, contrastive_loss

    for mode in ("hierarchical", "flat"):
        cfg = get_world("hierarchical_contrastive").make_config("quick", {"label_mode": mode})
        genus_of = np.repeat(np.arange(cfg.n_genera), cfg.species_per_genus)
        enc, texts = build(cfg, genus_of, torch.device("cpu"))
        T = texts.species_texts()  # (S, d) unit rows
        assert T.shape == (cfg.n_species, cfg.embed_dim) and torch.allclose(T.norm(dim=1), torch.ones(len(T)))
        cos = (T @ T.T).detach().numpy()
        same = (genus_of[:, None] == genus_of[None]) & ~np.eye(len(T), dtype=bool)
        gap = cos[same].mean() - cos[genus_of[:, None] != genus_of[None]].mean()
        x = torch.randn(32, cfg.obs_dim, generator=torch.Generator().manual_seed(0))
        img = enc(x)
        assert torch.allclose(img.norm(dim=1), torch.ones(32), atol=1e-5)
        loss, parts = contrastive_loss(img, torch.arange(32) % cfg.n_species, texts, cfg.temperature, 1.0)
        loss.backward()
        if mode == "hierarchical":  # "genus species": same-genus texts start ~0.5 apart; a genus term
            assert gap > 0.3 and "genus" in parts and texts.genus_tok.grad.abs().sum() > 0
        else:  # one token per species: no genus structure, no genus parameters
            assert abs(gap) < 0.1 and "genus" not in parts and texts.genus_tok is None
        assert texts.species_tok.grad.abs().sum() > 0 and enc.net[0].weight.grad.abs().sum() > 0


def _planted(within_axes, S=12, V=3, per=5, d=10, seed=0):
    """Embeddings with species means in span(e0..e3) and variant offsets along `within_axes`."""
    rng = np.random.default_rng(seed)
    species = rng.standard_normal((S, 4)) @ np.eye(d)[:4]  # (S, d)
    stage = rng.standard_normal((V, len(within_axes))) @ np.eye(d)[list(within_axes)]  # shared life stages
    stage -= stage.mean(0)
    sp, var = np.repeat(np.arange(S), V * per), np.tile(np.repeat(np.arange(V), per), S)
    E = species[sp] + stage[var] + 0.01 * rng.standard_normal((len(sp), d))
    traits = species[:, :2] @ np.array([[1.0, 0.5], [-0.5, 1.0]])  # linear in the species position
    return E, sp, var, traits


def test_geometry_reads_planted_subspaces():
    from emergelab.worlds._hier_eval import geometry, random_baseline

    folds = np.arange(12) % 3
    look = dict(n_variants=3, between_rank=4, ridge=1e-3)
    orth = geometry(*_planted((6, 7)), folds, **look)
    assert orth["orth/angle_deg"] == pytest.approx(90, abs=1) and orth["orth/overlap"] < 1e-3
    assert orth["orth/cov_cos"] < 1e-3
    assert orth["variant/probe_acc"] == 1.0 and orth["variant/fdr"] > 100  # stages far apart vs noise 0.01
    assert orth["trait/r2"] > 0.99
    inside = geometry(*_planted((1, 2)), folds, **look)
    assert inside["orth/angle_deg"] < 2 and inside["orth/overlap"] > 0.99
    base = random_baseline(12, 3, 10, 4, seed=0)
    assert base["overlap"] == pytest.approx(0.4) and 30 < base["angle_deg"] < 80
