"""The concept_space world's parts: config validation, the learning-step criterion and the
trajectory's corner by hand, the data-generating process and its fixed classifier (exact
Gaussian log-odds), the Euler sampler, the steering directions and the evaluation's bookkeeping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emergelab.lab.registry import get_world
from emergelab.worlds.concept_space import ConceptSpaceConfig, learn_step, trajectory_turn


def _cfg(**kw) -> ConceptSpaceConfig:
    return get_world("concept_space").make_config("tiny", kw)


@pytest.mark.parametrize("bad", [{"colour_sep": 0.0}, {"size_sep": -1.0}, {"noise_sd": 0.0}, {"lr": 0.0},
                                 {"held_out": (2, 1)}, {"held_out": (1,)}, {"held_out": (0, 1, 1)},
                                 {"threshold": 0.5}, {"threshold": 1.0}, {"over_prompt": -0.1},
                                 {"steer_scale": -1.0}, {"obs_dim": 1}, {"patience": 0}, {"sample_steps": 0},
                                 {"device": "tpu"}])
def test_bad_config_is_a_value_error(bad):
    with pytest.raises(ValueError):
        ConceptSpaceConfig(**bad)


def test_learn_step_needs_patience_consecutive_evaluations_strictly_above():
    steps = [0, 10, 20, 30, 40, 50, 60]
    acc = [0.1, 0.9, 0.9, 0.5, 0.85, 0.9, 0.95]  # a two-point spike at 10-20 does not count
    assert learn_step(steps, acc, 0.8, 3) == 40
    assert learn_step(steps, acc, 0.8, 2) == 10
    assert learn_step(steps, acc, 0.8, 1) == 10
    assert learn_step(steps, [0.8] * 7, 0.8, 3) is None  # "over" the threshold: equal is not enough
    assert learn_step(steps, acc, 0.99, 3) is None
    assert learn_step([0, 10], [0.9, 0.9], 0.8, 3) is None  # shorter than the patience


def test_trajectory_turn_by_hand():
    straight = np.linspace([0.5, 0.5], [1.0, 1.0], 5)
    i, depth = trajectory_turn(straight, (1, 1))
    assert depth == pytest.approx(0.0, abs=1e-12)
    # detour via (1, 0), the memorised training class 10, then up to 11
    i, depth = trajectory_turn([[0.5, 0.5], [0.8, 0.2], [1.0, 0.0], [1.0, 0.6], [1.0, 1.0]], (1, 1))
    assert i == 2 and depth == pytest.approx(math.sqrt(0.5))  # |(0.5,-0.5) x (0.5,0.5)| / |(0.5,0.5)|


def test_data_and_classifier_are_the_gaussian_bayes_rule():
    import torch

    from emergelab.worlds._concept_flow import basis, concept_logits, data_accuracy, sample_data

    cfg = _cfg(obs_dim=6, colour_sep=2.0, size_sep=1.0, noise_sd=0.5)
    Q = basis(cfg)
    assert torch.allclose(Q.T @ Q, torch.eye(2), atol=1e-5)  # orthonormal concept directions
    g = torch.Generator().manual_seed(0)
    c = torch.randint(0, 2, (20000, 2), generator=g).float()
    x = sample_data(c, cfg, Q, g)  # (20000, 6)
    z = x @ Q  # concept coordinates: means +-sep/2, sd noise_sd
    assert torch.allclose(z[c[:, 0] == 1, 0].mean(), torch.tensor(1.0), atol=0.02)
    assert torch.allclose(z[c[:, 1] == 0, 1].mean(), torch.tensor(-0.5), atol=0.02)
    assert z[:, 0][c[:, 0] == 1].std().item() == pytest.approx(0.5, abs=0.01)
    # logit = log N(x; mu_1, s^2 I) - log N(x; mu_0, s^2 I), computed directly for the colour concept
    mu1 = torch.tensor([1.0, 0.0]) @ Q.T
    mu0 = torch.tensor([-1.0, 0.0]) @ Q.T
    direct = (-(x - mu1).pow(2).sum(1) + (x - mu0).pow(2).sum(1)) / (2 * 0.25)
    logits = concept_logits(x, cfg, Q)
    assert torch.allclose(logits[:, 0], direct, atol=1e-3)
    acc = ((logits > 0).float() == c).float().mean(0)
    want = data_accuracy(cfg)  # Phi(2), Phi(1)
    assert want == pytest.approx((0.97725, 0.84134), abs=1e-4)
    assert acc.tolist() == pytest.approx(want, abs=0.01)


def test_euler_sampler_integrates_a_known_field():
    import torch

    from emergelab.worlds._concept_flow import generate

    class Field(torch.nn.Module):  # v(x, t, e) = e + 2 t; the exact flow ends at x0 + e + 1
        def forward(self, x, t, e):
            return e + 2 * t[:, None]

    x0 = torch.zeros(3, 2)
    e = torch.ones(3, 2)
    for n in (1, 4, 10):
        x = generate(Field(), x0, e, n)
        # forward Euler reads t at the left end of each step: sum_k 2 (k/n) / n = 1 - 1/n
        assert torch.allclose(x, torch.full((3, 2), 1 + (1 - 1 / n)))


@pytest.mark.parametrize("held", [(1, 1), (0, 0), (0, 1)])
def test_steering_uses_training_classes_only(held):
    import torch

    from emergelab.worlds._concept_flow import build, steering

    cfg = _cfg(held_out=held)
    model = build(cfg, torch.device("cpu"))
    e = lambda a, b: model.embed(torch.tensor([[a, b]], dtype=torch.float32))[0]  # noqa: E731
    h0, h1 = held
    want = (e(h0, 1 - h1) - e(1 - h0, 1 - h1)) + (e(1 - h0, h1) - e(1 - h0, 1 - h1))
    assert torch.allclose(steering(model, held, torch.device("cpu")), want, atol=1e-6)
    used = {(h0, 1 - h1), (1 - h0, 1 - h1), (1 - h0, h1)}
    assert tuple(held) not in used  # the held-out class's own embedding is never read


def test_evaluate_without_over_prompt_or_steer_equals_plain_prompting():
    import torch

    from emergelab.worlds._concept_flow import basis, build
    from emergelab.worlds._concept_train import evaluate

    cfg = _cfg(over_prompt=0.0, steer_scale=0.0, held_out=(0, 1))
    model = build(cfg, torch.device("cpu"))
    x0 = torch.randn(cfg.n_eval, cfg.obs_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        out = evaluate(cfg, model, basis(cfg), x0)
    for k in ("acc_colour", "acc_size", "acc"):
        assert out[f"over/{k}"] == out[f"heldout/{k}"] == out[f"steer/{k}"]
    assert out["over/p_size"] == pytest.approx(out["concept/p_size_01"])
    assert all(0 <= v <= 1 for v in out.values())
    # the held-out class's accuracies count the held-out targets: colour 0, size 1
    with torch.no_grad():
        over = evaluate(_cfg(over_prompt=3.0, held_out=(0, 1)), model, basis(cfg), x0)
    assert over["heldout/acc"] == out["heldout/acc"]  # plain prompting untouched ...
    assert over["over/p_colour"] != out["over/p_colour"]  # ... the over-prompted samples moved


def test_sweep_order_table_by_hand():
    import pandas as pd

    from emergelab.worlds._concept_sweep import order_table

    runs = pd.DataFrame({
        "config.colour_sep": [3.0, 3.0, 3.0, 3.0], "config.size_sep": [1.5, 1.5, 3.0, 4.5],
        "summary.learn_step_colour": [500, 600, 700, 900], "summary.learn_step_size": [800, None, 650, 600],
        "summary.hidden_gap_over": [100, None, 0, 50], "summary.hidden_gap_steer": [50, 150, 25, 75],
        "summary.first_learned": ["colour", "colour", "size", "size"]})
    t = order_table(runs).set_index("size_sep")
    assert t.loc[1.5, "runs"] == 2 and t.loc[1.5, "learn_step_colour"] == 550
    assert t.loc[1.5, "learn_step_size"] == 800  # the run that never learned size is left out of the median
    assert t.loc[1.5, "stronger_first"] == 1.0 and t.loc[4.5, "stronger_first"] == 1.0
    assert math.isnan(t.loc[3.0, "stronger_first"])  # equal signals: no stronger concept
    assert t.loc[1.5, "gap_positive"] == 0.5  # never learned counts as no
    assert t.loc[3.0, "gap_positive"] == 0.0 and t.loc[1.5, "hidden_gap_steer"] == 100
