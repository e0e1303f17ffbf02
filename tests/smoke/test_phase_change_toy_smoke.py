"""The phase-change toy world (Singh et al. 2024's a⊗b⊗c model) runs in milliseconds, logs
what it promises, computes its loss and gradients exactly, pins clamped factors, and is
deterministic given its seed."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world

NAMES = {"train/loss", "train/rel_loss", *(f"{m}/{f}" for m in ("progress", "norm") for f in "abc")}


def _run(preset: str = "tiny", **overrides):
    return run_world("phase_change_toy", preset, **overrides)


def test_tiny_logs_everything():
    rec = _run()
    assert set(rec.names) == NAMES
    cfg = get_world("phase_change_toy").make_config("tiny")
    for name in NAMES:
        steps, v = rec.series(name)
        assert steps.tolist() == list(range(0, cfg.steps + 1, cfg.log_every)) and np.all(np.isfinite(v)), name
    loss, rel = rec.series("train/loss")[1], rec.series("train/rel_loss")[1]
    assert np.allclose(loss, rel / (2 * cfg.d**3))
    assert abs(rel[0] - 1) < 0.01  # a, b, c ~ 0 at the start: the residual is the whole target
    prog = rec.series("progress/a")[1]
    assert np.all((prog >= 0) & (prog <= 1)) and prog[0] > 0.5  # random start: cos^2 ~ 1/d
    s = rec.summary
    assert {"phase_change_step", "phase_change_height", "drop_step", "align_step", "final_loss",
            "final_rel_loss", "final_progress_a"} <= set(s)
    assert set(get_world("phase_change_toy").summarize(rec.wide())) == {
        "phase_change_step", "phase_change_height", "drop_step", "align_step"}


def test_loss_and_gradient_match_the_d3_tensor():
    """The analytic rel_loss equals the explicit tensor's; one GD step equals torch autograd's."""
    import torch

    from emergelab.worlds.phase_change_toy import rel_loss

    rng = np.random.default_rng(3)
    d = 5
    x, t = rng.standard_normal((3, d)), rng.standard_normal((3, d))
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    full = np.einsum("i,j,k->ijk", *x) - np.einsum("i,j,k->ijk", *t)
    assert rel_loss(x, t) == pytest.approx((full**2).sum(), rel=1e-12)
    assert rel_loss(t, t) < 1e-28
    near = rel_loss(t + 1e-9 * rng.standard_normal((3, d)), t)  # ~1e-17: 1 - 1 would round it to 0 or 1e-16
    assert 1e-19 < near < 1e-15

    # the world's first step against autograd on L = ½ mean((a⊗b⊗c − T*)²) with step lr·d³
    cfg = get_world("phase_change_toy").make_config("tiny", {"steps": 1, "log_every": 1, "sigma": 1.0})
    rec = _run(steps=1, log_every=1, sigma=1.0)
    r = np.random.default_rng(cfg.seed)
    tg = r.standard_normal((3, cfg.d))
    tg /= np.linalg.norm(tg, axis=1, keepdims=True)
    x0 = torch.tensor(r.standard_normal((3, cfg.d)) * (cfg.sigma / np.sqrt(cfg.d)), requires_grad=True)
    T = torch.einsum("i,j,k->ijk", *torch.tensor(tg))
    L = 0.5 * ((torch.einsum("i,j,k->ijk", *x0) - T) ** 2).mean()
    L.backward()
    x1 = (x0 - cfg.lr * cfg.d**3 * x0.grad).detach().numpy()
    assert rec.series("train/loss")[1][0] == pytest.approx(float(L.detach()), rel=1e-10)
    assert rec.series("train/rel_loss")[1][1] == pytest.approx(rel_loss(x1, tg), rel=1e-10)


def test_clamped_factors_are_pinned():
    rec = _run(clamp=("a", "b"))
    assert np.all(rec.series("progress/a")[1] < 1e-12) and np.all(rec.series("progress/b")[1] < 1e-12)
    assert np.allclose(rec.series("norm/a")[1], 1.0) and rec.series("progress/c")[1][0] > 0.5
    assert rec.series("train/rel_loss")[1][-1] < 1e-4  # c = c* is a linear problem: (1 - lr)^(2 t)
    late = _run(clamp=("a",), clamp_from=10)
    steps, prog = late.series("progress/a")
    assert np.all(prog[steps < 10] > 0.5) and np.all(prog[steps >= 10] < 1e-12)


@pytest.mark.parametrize("overrides", [{}, {"clamp": ("b",)}])
def test_same_seed_same_numbers_other_seed_other_numbers(overrides):
    a, b, c = (_run(seed=s, **overrides).series("train/rel_loss")[1] for s in (0, 0, 1))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("bad", [{"d": 1}, {"sigma": 0}, {"lr": 0.0}, {"lr": 0.7}, {"steps": 0},
                                 {"clamp": ("d",)}, {"clamp": ("a", "a")}, {"clamp_from": -1}, {"rank": 2}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("phase_change_toy").make_config("tiny", bad)
