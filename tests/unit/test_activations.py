"""measures.activations: the five-parameter trajectory fit recovers known parameters, the AIC
comparison tells a trajectory from a step, and the probes (lab transformer hooks, Hugging Face
hidden states, local checkpoint folders) agree with measures.probes and fail in one line."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.measures import activations as act

T = np.linspace(0, 1000, 60)
# well-conditioned truths (lam > 0: with lam = 0 the pure logarithm A log(gamma t + t0) + K
# trades gamma and t0 against K and only the curve, not the parameters, is identifiable)
TRUTHS = [dict(A=50.0, lam=0.5, gamma=0.01, t0=1.0, K=5.0), dict(A=20.0, lam=0.1, gamma=0.05, t0=0.5, K=2.0),
          dict(A=30.0, lam=1.0, gamma=0.005, t0=0.2, K=10.0)]


@pytest.mark.parametrize("truth", TRUTHS)
def test_fit_recovers_known_parameters_without_noise(truth):
    y = act.trajectory(T, **truth)
    fit = act.fit_trajectory(T, y)
    assert fit.r2 >= 0.99 and fit.r2 > 1 - 1e-9, fit
    for k, v in truth.items():
        assert fit.params[k] == pytest.approx(v, rel=1e-3), (k, fit.params)
    assert np.allclose(fit.predict(T), y, atol=1e-6 * np.ptp(y))


def test_fit_with_noise_and_shifted_time_axis():
    truth = TRUTHS[0]
    rng = np.random.default_rng(0)
    y = act.trajectory(T, **truth)
    noisy = y + rng.normal(0, 0.02 * np.ptp(y), T.size)
    fit = act.fit_trajectory(T + 500, noisy)  # the same curve starting at step 500
    assert fit.r2 > 0.95
    assert np.allclose(fit.predict(T + 500), y, atol=0.05 * np.ptp(y))


def test_peak_step_is_the_extremum():
    fit = act.fit_trajectory(T, act.trajectory(T, **TRUTHS[0]))
    t = np.linspace(0, 1000, 100_001)
    assert fit.peak_step == pytest.approx(t[np.argmax(fit.predict(t))], abs=0.05)
    flat = act.TrajectoryFit(A=1, lam=0.0, gamma=1, t0=1, K=0, r2=1, rss=0, aic=0, n=10, success=True)
    assert flat.peak_step is None


def test_aic_prefers_the_true_model():
    y = act.trajectory(T, **TRUTHS[1])
    c = act.compare_models(T, y)
    assert c["preferred"] == "trajectory" and c["delta_aic"] > 10
    step = 3.0 + 10.0 / (1.0 + np.exp(-(T - 500) / 20))
    c = act.compare_models(T, step + np.random.default_rng(1).normal(0, 0.05, T.size))
    assert c["preferred"] == "step" and c["delta_aic"] < -10
    assert c["step"].r2 > 0.99 and c["step"].t_mid == pytest.approx(500, abs=10)
    assert c["step"].width == pytest.approx(20, rel=0.3)


def test_aic_is_gaussian_log_likelihood_with_parameter_penalty():
    fit = act.fit_step(T, 3.0 + 10.0 / (1.0 + np.exp(-(T - 500) / 20)) + np.sin(T))
    assert fit.aic == pytest.approx(T.size * np.log(fit.rss / T.size) + 2 * 4)


@pytest.mark.parametrize("t, y, msg", [
    (np.arange(5), np.arange(5.0), "at least 7"),
    (np.arange(10), np.r_[np.arange(9.0), np.nan], "finite"),
    (np.arange(10), np.ones(10), "vary"),
    (np.arange(10), np.arange(9.0), "same length"),
])
def test_bad_series_is_one_clear_line(t, y, msg):
    with pytest.raises(UserError, match=msg) as e:
        act.fit_trajectory(t, y)
    assert "\n" not in str(e.value)


# -- probes ----------------------------------------------------------------------------------


def _lab_model(seed=0):
    import torch

    from emergelab.nn.transformer import Transformer, TransformerConfig

    g = torch.Generator().manual_seed(seed)
    cfg = TransformerConfig(vocab=20, n_ctx=12, d_model=16, n_heads=2, d_mlp=32, n_layers=3, layernorm=True)
    return Transformer(cfg, generator=g), torch.randint(0, 20, (4, 12), generator=g)


def test_hooks_match_the_cached_probe_and_change_nothing():
    import torch

    from emergelab.measures.probes import massive_activation_ratios

    net, x = _lab_model()
    with torch.no_grad():
        net.blocks[1].W_out[:, 3] += 40.0  # one huge feature dimension in layer 1's output
    stats = act.lab_layer_stats(net, x)  # (L, 3)
    assert stats.shape == (3, 3)
    assert np.allclose(stats[:, 0], massive_activation_ratios(net, x).numpy())
    out: dict = {}
    with torch.no_grad():
        plain, hooked = net(x), net(x, hooks=act.resid_hooks(3, out))
    assert torch.equal(plain, hooked) and sorted(out) == [0, 1, 2]
    assert stats[1, 0] > 3 * stats[0, 0]  # the planted dimension shows in r
    assert act.massive_activation_ratio is act.__getattr__("massive_activation_ratio")  # re-exported


def test_massive_count_criterion():
    import torch

    h = torch.ones(10_000)
    h[:3] = 2000.0  # |a| > 100 and ratio 2000 >= 1000: massive
    h[3] = 500.0  # ratio 500: not
    r, mx, n = act._stats(h)
    assert (r, mx, n) == (2000.0, 2000.0, 3)
    assert act._stats(torch.full((100,), 50.0))[2] == 0  # nothing above 100: no second median


def test_lab_model_without_hooks_is_one_line():
    import torch

    with pytest.raises(UserError, match="hooks=") as e:
        act.lab_layer_stats(torch.nn.Linear(4, 4), torch.zeros(2, 4))
    assert "\n" not in str(e.value)


@pytest.fixture(scope="module")
def gpt2_checkpoints(tmp_path_factory):
    """Two randomly initialised tiny GPT-2 checkpoints (no download), the later one with a
    planted outlier dimension in layer 0's MLP output."""
    import torch

    transformers = pytest.importorskip("transformers")  # the [llm] extra
    GPT2Config, GPT2LMHeadModel = transformers.GPT2Config, transformers.GPT2LMHeadModel

    root = tmp_path_factory.mktemp("ckpt")
    cfg = GPT2Config(vocab_size=50, n_positions=32, n_embd=16, n_layer=2, n_head=2)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(cfg)
    model.save_pretrained(root / "step0")
    with torch.no_grad():
        model.transformer.h[0].mlp.c_proj.bias[5] += 200.0
    model.save_pretrained(root / "step1000")
    return root


def test_checkpoint_folders_give_ratios_per_layer(gpt2_checkpoints):
    import torch

    ids = torch.randint(0, 50, (2, 16), generator=torch.Generator().manual_seed(0))
    cs = act.checkpoint_stats([gpt2_checkpoints / "step1000", gpt2_checkpoints / "step0"], input_ids=ids)
    assert cs.steps.tolist() == [0, 1000] and cs.ratio.shape == (2, 2) and cs.folders[0].endswith("step0")
    assert cs.ratio[1, 0] > 10 * cs.ratio[0, 0] and cs.max_abs[1, 0] > 100
    assert cs.count[1, 0] == 0 or cs.ratio[1, 0] >= 1000  # the criterion needs both thresholds


def test_not_a_model_folder_is_one_line(gpt2_checkpoints, tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "config.json").write_text("{}")
    for folder in (tmp_path, tmp_path / "junk", tmp_path / "missing"):
        with pytest.raises(UserError, match="config.json") as e:
            act.checkpoint_stats([folder], input_ids=[[1, 2, 3]])
        assert "\n" not in str(e.value)
    with pytest.raises(UserError, match="tokenizer"):  # save_pretrained of a model writes none
        act.checkpoint_stats([gpt2_checkpoints / "step0"], text="def f(): pass")


def test_model_without_hidden_states_is_one_line():
    import torch

    class NoStates(torch.nn.Module):
        def forward(self, input_ids=None, output_hidden_states=False):
            return type("Out", (), {"logits": torch.zeros(1), "hidden_states": None})()

    with pytest.raises(UserError, match="no hidden states") as e:
        act.hf_layer_stats(NoStates(), torch.zeros(1, 3, dtype=torch.long))
    assert "\n" not in str(e.value)
