"""The vq_symbols world's parts: config validation, code statistics against hand-computed values,
the rounds of the game, the VQ-VAE speaker (nearest code, straight-through gradient) and what
each listener variant can read."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emergelab.lab.registry import get_world
from emergelab.worlds.vq_symbols import VQSymbolsConfig, chance, code_stats, usage_fit


def _cfg(**kw) -> VQSymbolsConfig:
    return get_world("vq_symbols").make_config("tiny", kw)


@pytest.mark.parametrize("bad", [{"n_codes": 1}, {"n_slots": 0}, {"n_values": 1}, {"obs_noise": -0.1},
                                 {"lr": 0.0}, {"zipf": -1.0}, {"codebook_scale": 0.0}, {"n_distractors": 0},
                                 {"n_attributes": 0}, {"n_values": 1000, "n_attributes": 4}])
def test_bad_config_is_a_value_error(bad):
    with pytest.raises(ValueError):
        VQSymbolsConfig(**bad)


def test_code_stats_by_hand():
    ids = np.array([[0, 0], [0, 1], [2, 0]])  # tokens: 0 x4, 1 x1, 2 x1 over 4 codes
    counts, s = code_stats(ids, 4)
    assert counts.tolist() == [4, 1, 1, 0]
    p = np.array([4, 1, 1]) / 6
    assert s["codes/perplexity"] == pytest.approx(math.exp(-(p * np.log(p)).sum()))
    assert s["codes/usage"] == pytest.approx(0.75)
    assert s["codes/top10_share"] == pytest.approx(4 / 6)  # ceil(0.4) = 1 code: the most used
    _, uniform = code_stats(np.arange(8), 8)
    assert uniform["codes/perplexity"] == pytest.approx(8.0)  # uniform over K codes: perplexity K


def test_usage_fit_needs_ten_codes_and_finds_a_planted_power_law():
    assert all(math.isnan(v) for v in usage_fit(np.array([5, 3, 0, 1])).values())
    rng = np.random.default_rng(0)
    counts = rng.zipf(2.5, 3000)  # counts of 3,000 "codes", P(count = x) ~ x^-2.5
    fit = usage_fit(np.append(counts, 0))  # a dead code is dropped, not an error
    assert fit["codes/alpha"] == pytest.approx(2.5, abs=0.15)
    assert fit["codes/llr_exp"] > 0 and fit["codes/p_exp"] < 0.1  # heavier than exponential


def test_rounds_put_the_target_at_pos_and_never_among_distractors():
    import torch

    from emergelab.worlds._vq_agents import draw_round

    for zipf in (0.0, 2.0):
        cfg = _cfg(obs_noise=0.0, n_attributes=2, n_values=2, n_distractors=3, zipf=zipf)  # 4 objects only
        objs, x, cands, pos = draw_round(500, 3, cfg, torch.Generator().manual_seed(0))
        assert objs.shape == (500, 2) and x.shape == (500, 4) and cands.shape == (500, 4, 4)
        assert torch.equal(cands[torch.arange(500), pos], x)  # noiseless: the target's view is the speaker's
        same = (cands == x[:, None]).all(-1)  # (500, 4)
        assert same.sum(1).eq(1).all()  # exactly one candidate is the target
    # Zipf: value 0 is drawn more often than value 1 (p = 1 : 2^-2)
    assert (objs == 0).float().mean() > 0.7


def test_speaker_picks_the_nearest_code_and_passes_gradients_straight_through():
    import torch

    from emergelab.worlds._vq_agents import build

    cfg = _cfg()
    speaker, _ = build(cfg, torch.device("cpu"))
    x = torch.randn(7, cfg.n_attributes * cfg.n_values, generator=torch.Generator().manual_seed(1))
    ids, z, recon, vq = speaker(x)
    assert ids.shape == (7, cfg.n_slots) and z.shape == (7, cfg.n_slots, cfg.code_dim)
    assert recon.shape == x.shape
    z_e = speaker.enc(x).view(7, cfg.n_slots, cfg.code_dim)
    brute = torch.cdist(z_e.reshape(-1, cfg.code_dim), speaker.codebook).argmin(1).view(7, -1)
    assert torch.equal(ids, brute)
    assert torch.allclose(z, speaker.codebook[ids])  # the value is the code vector ...
    z.sum().backward()  # ... the gradient goes to the encoder (straight-through)
    assert speaker.enc[0].weight.grad.abs().sum() > 0
    assert vq.item() >= 0


@pytest.mark.parametrize("reads,channel,reaches_speaker", [("codebook", "codes", True),
                                                           ("indices", "codes", False),
                                                           ("codebook", "none", False)])
def test_what_the_listener_reads(reads, channel, reaches_speaker):
    import torch

    from emergelab.worlds._vq_agents import build, draw_round

    cfg = _cfg(listener_reads=reads, channel=channel)
    speaker, listener = build(cfg, torch.device("cpu"))
    _, x, cands, pos = draw_round(16, cfg.n_distractors, cfg, torch.Generator().manual_seed(2))
    ids, z, _, _ = speaker(x)
    scores = listener(ids, z, cands)
    assert scores.shape == (16, cfg.n_distractors + 1)
    torch.nn.functional.cross_entropy(scores, pos).backward()
    got = speaker.enc[0].weight.grad
    assert (got is not None and got.abs().sum() > 0) == reaches_speaker
    if channel == "none":  # another message changes nothing
        assert torch.equal(listener(ids.roll(1, 0), z.roll(1, 0), cands), scores)
    assert chance(cfg) == pytest.approx(1 / 3)
