"""The grokking world runs end to end in a second or two, logs what it promises, and is
deterministic given its seed."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.lab.recorder import Recorder
from emergelab.lab.sweep import run_world
from emergelab.lab.registry import get_world

BASE = {"train/loss", "train/acc", "val/loss", "val/acc", "weight/norm"}
LI2 = {"li2/diag_offdiag_ratio", "li2/gram_fit_dist", "li2/grad_norm"}
FOURIER = {"fourier/key_frac", "fourier/restricted_loss", "fourier/excluded_loss"}
TINY_TRANSFORMER = {"model": "transformer", "group": "Z7", "epochs": 3, "log_every": 1, "diag_every": 2,
                    "d_model": 16, "n_heads": 2, "d_mlp": 32, "optimizer": "adamw", "warmup_steps": 2}


def _run(preset: str = "tiny", **overrides) -> Recorder:
    return run_world("grokking", preset, **overrides)


def _all_metrics(rec: Recorder) -> dict[str, np.ndarray]:
    return {n: rec.series(n)[1] for n in rec.names}


def test_tiny_li2_logs_everything():
    rec = _run()
    assert set(rec.names) == BASE | LI2 | FOURIER
    steps, acc = rec.series("train/acc")
    assert steps[0] == 0 and steps[-1] == 20 and np.all((acc >= 0) & (acc <= 1))
    assert rec.series("li2/grad_norm")[0].tolist() == [0, 10, 20]
    for name, values in _all_metrics(rec).items():
        assert np.all(np.isfinite(values)), name
    s = rec.summary
    assert s["epochs"] == 20 and s["device"] in ("cpu", "cuda", "cuda:0")
    assert {"final_train_acc", "final_val_acc", "final_train_loss", "final_val_loss"} <= set(s)
    assert set(get_world("grokking").summarize(rec.wide())) == {"grokking_delay", "train_fit_step", "val_fit_step"}


def test_tiny_transformer_logs_everything():
    rec = _run(**TINY_TRANSFORMER)
    assert set(rec.names) == BASE | FOURIER  # Li_2 diagnostics are for the li2 model only
    assert rec.series("val/acc")[0].tolist() == [0, 1, 2, 3]
    assert rec.series("fourier/excluded_loss")[0].tolist() == [0, 2, 3]
    assert len(rec.summary["key_frequencies"]) == 3  # Z7 has only frequencies 1..3


@pytest.mark.parametrize("overrides", [{}, {"group": "S3", "activation": "relu", "loss": "mse"}, TINY_TRANSFORMER])
def test_same_seed_same_numbers_other_seed_other_numbers(overrides):
    a, b = _all_metrics(_run(**overrides)), _all_metrics(_run(**overrides))
    c = _all_metrics(_run(**{**overrides, "seed": 1}))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["train/loss"], c["train/loss"])


def test_non_cyclic_groups_skip_fourier_measures():
    rec = _run(group="Z2xZ4", activation="silu")
    assert set(rec.names) == BASE | LI2


@pytest.mark.parametrize("bad", [{"train_fraction": 1.0}, {"group": "Q8"}, {"betas": (0.9,)},
                                 {"model": "transformer", "d_model": 30, "n_heads": 4}, {"log_every": 0}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="invalid config"):  # a UserError
        get_world("grokking").make_config("tiny", bad)


def test_summarize_finds_the_delay():
    import pandas as pd

    steps = np.arange(0, 200, 10)
    frame = pd.DataFrame({"train/acc": np.where(steps >= 30, 1.0, 0.1),
                          "val/acc": np.where(steps >= 150, 0.99, 0.01)}, index=steps)
    out = get_world("grokking").summarize(frame)
    assert out == {"grokking_delay": 120.0, "train_fit_step": 30.0, "val_fit_step": 150.0}


def test_fourier_measures_split_key_frequencies_from_the_rest():
    import math

    import torch

    from emergelab.worlds.grokking import _fourier_measures, _loss_fn

    for N, ks in ((13, (2, 5)), (12, (2, 6))):  # odd and even N (k = N/2 has no sine)
        x, pair = torch.arange(N).float(), torch.arange(N * N)
        a, b, c = pair // N, pair % N, torch.arange(N)
        embed = torch.stack([f(2 * math.pi * k * x / N) for f in (torch.cos, torch.sin) for k in ks], dim=1)
        clean = 5 * sum(torch.cos(2 * math.pi * k * (a[:, None] + b[:, None] - c[None, :]) / N) for k in ks)
        noise = torch.randn(N * N, N, generator=torch.Generator().manual_seed(0))
        table, tr, loss = (a + b) % N, torch.arange(0, N * N, 3), _loss_fn("ce", N)
        m, key = _fourier_measures(clean + noise + 3.0, embed, table, tr, loss, n_key=2)
        assert sorted(key.tolist()) == list(ks) and m["fourier/key_frac"] > 0.999
        assert abs(m["fourier/restricted_loss"] - loss(clean, table)) < 0.05  # noise projected out
        assert abs(m["fourier/excluded_loss"] - loss(noise[tr], table[tr])) < 0.3  # only noise left


def test_li2_diagnostics_match_their_definitions():
    import torch

    from emergelab.worlds.grokking import _li2_diagnostics

    g = torch.Generator().manual_seed(0)
    n, K, N = 60, 16, 7
    F, V, y = torch.randn(n, K, generator=g).square(), torch.randn(K, N, generator=g), torch.arange(n) % N
    out = _li2_diagnostics(F, V, y, N)
    Fd, Vd = F.double(), V.double()
    C = (Fd - Fd.mean(0)).T @ (Fd - Fd.mean(0))  # (K, K)
    ratio = C.diagonal().abs().mean() / C[~torch.eye(K, dtype=torch.bool)].abs().mean()
    G = Fd @ Fd.T  # (n, n), formed explicitly here
    basis = torch.stack([torch.eye(n, dtype=torch.double).flatten(), torch.ones(n * n, dtype=torch.double)], 1)
    coef = torch.linalg.lstsq(basis, G.flatten()[:, None]).solution[:, 0]
    dist = (G.flatten() - basis @ coef).norm() / G.norm()
    Y = torch.nn.functional.one_hot(y, N).double() - 1.0 / N
    grad = ((Y - Fd @ Vd) @ Vd.T).norm() / n**0.5
    for name, ref in (("diag_offdiag_ratio", ratio), ("gram_fit_dist", dist), ("grad_norm", grad)):
        assert abs(float(out[f"li2/{name}"]) / float(ref) - 1) < 1e-4, name


def test_scaling_sweep_report_has_the_critical_fraction_section(run_cli, tmp_path):
    # tiny groups learn fast at a high learning rate: Z13 and Z17 both fail at half the pairs
    # and generalise at 90 % (seed-checked), so each M is bracketed and a law can be fitted
    fast = ["-s", "epochs=100", "-s", "lr=0.03", "-s", "weight_decay=0.001", "-s", "hidden=64", "-s", "diag_every=0"]
    rc, out, err = run_cli("sweep", "grokking", "-p", "tiny", *fast, "-g", "group=Z13,Z17",
                           "-g", "train_fraction=0.5,0.9", "-n", "1", "-x", "serial", "-o", str(tmp_path / "s.html"))
    assert rc == 0, err
    html = (tmp_path / "s.html").read_text()
    assert "Critical data size" in html and "Best one-parameter law" in html
    assert html.count("<svg") >= 2  # the section's figure besides the sweep's own
    assert get_world("grokking").make_config("scaling").epochs == 3000
