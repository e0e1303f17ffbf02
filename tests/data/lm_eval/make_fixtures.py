"""Regenerate the lm-evaluation-harness fixtures with lm_eval's OWN writer.

    python3 -m venv /tmp/lmeval-venv && /tmp/lmeval-venv/bin/pip install lm-eval==0.4.13
    /tmp/lmeval-venv/bin/python tests/data/lm_eval/make_fixtures.py

Fake results for four fake "pythia" models on three tiny tasks, one per request type: a
4-way multiple-choice task (loglikelihood over choices, metrics acc/acc_norm), a
loglikelihood task (lambada-like: perplexity + acc) and a generative task with two filters
(gsm8k-like: exact_match under strict-match and flexible-extract). The sample records are
built as `lm_eval.evaluator.evaluate` builds them; `EvaluationTracker.save_results_*` then
writes `family/<model>/results_<date>.json` and `samples_<task>_<date>.jsonl` exactly as
`lm_eval --output_path family --log_samples` does. Not run by the tests (they need no lm_eval).
"""

import math
import random
from pathlib import Path

from lm_eval.loggers import EvaluationTracker
from lm_eval.utils import hash_string

OUT = Path(__file__).parent / "family"
# (model, params recorded by the HF backend's get_model_info, or None as other backends)
MODELS = [("EleutherAI/pythia-70m", 70426624), ("EleutherAI/pythia-160m", None),
          ("EleutherAI/pythia-410m", 405334016), ("EleutherAI/pythia-1b", None)]
N_DOCS = 6


def sample(doc_id, doc, target, args, resps, filt, filter_key, metrics):
    ex = {"doc_id": doc_id, "doc": doc, "target": target, "arguments": args, "resps": resps,
          "filtered_resps": filt, "filter": filter_key, "metrics": list(metrics),
          "doc_hash": hash_string(str(doc)), "prompt_hash": hash_string(str(args[0][0])),
          "target_hash": hash_string(str(target))}
    ex.update(metrics)
    return ex


def fake(rank, rng):
    skill = rank / (len(MODELS) - 1)  # 0 for the smallest model, 1 for the largest
    samples = {"mc_task": [], "ll_task": [], "gen_task": []}
    for d in range(N_DOCS):
        gold = d % 4
        lls = [-2.0 - rng.random() for _ in range(4)]
        lls[gold] = min(-0.05, lls[gold] + 2.5 * skill - 0.8 * d / N_DOCS)  # log-probabilities are <= 0
        acc = float(max(range(4), key=lambda i: lls[i]) == gold)
        doc = {"question": f"q{d}", "choices": ["a", "b", "c", "d"], "label": gold}
        args = [(f"Question: q{d}\nAnswer:", f" {c}") for c in "abcd"]
        samples["mc_task"].append(sample(d, doc, gold, args, [[(ll, False)] for ll in lls],
                                         [(ll, False) for ll in lls], "none", {"acc": acc, "acc_norm": acc}))
        ll = -4.0 + 3.5 * skill - 0.3 * d + 0.1 * rng.random()
        greedy = ll > -1.5
        samples["ll_task"].append(sample(d, {"text": f"context {d} word"}, " word", [(f"context {d}", " word")],
                                         [[(ll, greedy)]], [(ll, greedy)], "none",
                                         {"perplexity": ll, "acc": float(greedy)}))
        target = str(10 + d)
        right = skill * N_DOCS > d
        text = f"The answer is {target}." if right else f"The answer is {target[:-1]}{(d + 3) % 10}."
        for fk, out in (("strict-match", target if right and rank % 2 else "[invalid]"),
                        ("flexible-extract", text.split()[-1].rstrip("."))):
            samples["gen_task"].append(sample(d, {"question": f"{d}+10?", "answer": target}, target,
                                              [(f"Q: {d}+10?\nA:", {"until": ["\n"]})], [[text]], [out], fk,
                                              {"exact_match": float(out == target)}))
    return samples


def results_dict(model, n_params, samples):
    res = {}
    for task, ss in samples.items():
        keys = [k for k in ss[0]["metrics"]]
        for fk in dict.fromkeys(s["filter"] for s in ss):
            sub = [s for s in ss if s["filter"] == fk]
            res.setdefault(task, {"alias": task})
            for k in keys:
                v = [s[k] for s in sub]
                res[task][f"{k},{fk}"] = sum(v) / len(v)
                res[task][f"{k}_stderr,{fk}"] = math.sqrt(max(1e-12, 0.25 / len(v)))
    cfg = {"model": "hf", "model_args": f"pretrained={model},dtype=float32", "batch_size": 1,
           "batch_sizes": [], "device": "cpu", "use_cache": None, "limit": None, "bootstrap_iters": 0,
           "gen_kwargs": None, "random_seed": 0, "numpy_seed": 1234, "torch_seed": 1234, "fewshot_seed": 1234}
    if n_params:
        cfg.update({"model_num_parameters": n_params, "model_dtype": "torch.float32",
                    "model_revision": "main", "model_sha": ""})
    return {"results": res, "group_subtasks": {t: [] for t in samples},
            "configs": {t: {"task": t, "output_type": {"mc_task": "multiple_choice", "ll_task": "loglikelihood",
                                                       "gen_task": "generate_until"}[t]} for t in samples},
            "versions": {t: 1.0 for t in samples}, "n-shot": {t: 0 for t in samples},
            "higher_is_better": {t: {"acc": True} for t in samples},
            "n-samples": {t: {"original": N_DOCS, "effective": N_DOCS} for t in samples},
            "config": cfg, "git_hash": None, "date": 0.0}


def main():
    rng = random.Random(0)
    for rank, (model, n_params) in enumerate(MODELS):
        tracker = EvaluationTracker(output_path=str(OUT))
        tracker.general_config_tracker.log_experiment_args(
            model_source="hf", model_args=f"pretrained={model},dtype=float32", system_instruction=None,
            chat_template=None, fewshot_as_multiturn=False)
        samples = fake(rank, rng)
        tracker.save_results_aggregated(results=results_dict(model, n_params, samples), samples=samples)
        for task in samples:
            tracker.save_results_samples(task_name=task, samples=samples[task])


if __name__ == "__main__":
    main()
