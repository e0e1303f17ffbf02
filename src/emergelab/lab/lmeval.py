"""Reader of lm-evaluation-harness `--log_samples` output for several models: a family frame.

`lm_eval --output_path OUT --log_samples` writes, per model, `OUT/<model>/results_<date>.json`
(aggregates and a `config` with `model_args`, and for the HF backend `model_num_parameters`)
and `OUT/<model>/samples_<task>_<date>.jsonl`: one record per (document, filter) with
`doc_id`, `target`, `resps`/`filtered_resps` (stringified: log-likelihood pairs
`["-1.2", "False"]` or generated text) and one field per metric (`acc`, `exact_match`, ...).

Per (model, task, doc) we keep one filter ("none" when the task has it, else the first the
task logged: e.g. gsm8k's strict-match) so an item is counted once, and derive the
continuous partners the mirage check needs: the target's log-probability (log-likelihood
tasks), Brier score over the choices (multiple choice), character edit distance of the
answer to the target (generative tasks).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from emergelab.errors import UserError

_CORRECT = ("acc", "exact_match", "em", "acc_norm", "pass@1")  # first found is `correct`
_OUTCOMES = ("correct", "score", "mc_correct", "logprob", "target_prob", "brier", "edit_distance")
_MAX_EDIT = 400  # characters: longer answers are cut (edit distance is O(n·m) array steps)


def _edit_distances(pairs: list[tuple[str, str]]):
    """Character edit distances of (generated, target) pairs, all in one dynamic programme."""
    import numpy as np

    from emergelab.measures.language import paired_edit_distances

    def codes(texts):  # (P, L) code points, -1 past each text's length (never read)
        texts = [t[:_MAX_EDIT] for t in texts]
        out = np.full((len(texts), max(1, *map(len, texts))), -1, dtype=np.int64)
        for k, t in enumerate(texts):
            out[k, : len(t)] = [ord(c) for c in t]
        return out, np.array([len(t) for t in texts])

    (a, la), (b, lb) = codes([g for g, _ in pairs]), codes([t for _, t in pairs])
    return paired_edit_distances(a, b, la, lb)


def _ll_pairs(resps) -> list[float] | None:
    """[[ll, is_greedy], ...] (as lm_eval stringifies them) -> the log-likelihoods, else None."""
    try:
        out = [float(p[0]) for p in resps]
        return out if out and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in resps) else None
    except (TypeError, ValueError, IndexError):
        return None


def _record(rec: dict, where: str) -> dict:
    """One sample record -> the family columns it supports."""
    if not isinstance(rec, dict) or "doc_id" not in rec:
        raise UserError(f"{where} is not an lm-eval sample record (no doc_id): point at the folder "
                        "`lm_eval --output_path ... --log_samples` wrote")  # fmt: skip
    row: dict = {}
    for name in rec.get("metrics") or [m for m in _CORRECT if m in rec]:
        v = rec.get(name)
        if isinstance(v, (int, float)):  # bools too; lists (e.g. bleu's (ref, pred)) are corpus-level
            row[name] = float(v)
    correct = next((m for m in _CORRECT if m in row), None)
    if correct is not None:  # a graded value (e.g. a partial-credit exact_match) is a score, not a grade
        row["correct" if row[correct] in (0.0, 1.0) else "score"] = row[correct]
    filt = rec.get("filtered_resps")
    lls = _ll_pairs(filt) if isinstance(filt, list) else None
    target = str(rec.get("target", ""))
    if lls is not None and len(lls) == 1:  # loglikelihood task: the target continuation's
        row["logprob"] = lls[0]
        row["target_prob"] = math.exp(min(lls[0], 0.0))
    elif lls is not None and target.strip().lstrip("-").isdigit() and 0 <= int(target) < len(lls):
        gold, top = int(target), max(lls)  # multiple choice: softmax over the choices
        z = [math.exp(x - top) for x in lls]
        p = [x / sum(z) for x in z]
        row["logprob"] = lls[gold]
        row["target_prob"] = p[gold]
        row["brier"] = sum((q - (i == gold)) ** 2 for i, q in enumerate(p))
        if "acc" in row:
            row["mc_correct"] = row["acc"]
    elif isinstance(filt, list) and filt and isinstance(filt[0], str):  # generated text
        row["_texts"] = (filt[0].strip(), target.strip())  # edit distance: for all records at once
    return row


def _read_samples(path: Path) -> list[dict]:
    recs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                recs.append(json.loads(line))
            except json.JSONDecodeError:
                raise UserError(f"{path} line {n} is not valid JSON: re-run lm_eval for this model or "
                                "delete the broken file") from None  # fmt: skip
    return recs


def _model_info(folder: Path) -> tuple[str, float | None]:
    """(model name, parameter count lm_eval recorded or None) from the newest results JSON;
    the folder's name when there is none."""
    results = sorted(folder.glob("results_*.json"))
    if not results:
        return folder.name.replace("__", "/"), None
    try:
        res = json.loads(results[-1].read_text(encoding="utf-8"))
        cfg = res.get("config") or {}
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        raise UserError(f"{results[-1]} is not a valid lm-eval results JSON: re-run lm_eval or delete it") from None
    name = res.get("model_name") or cfg.get("model_name")
    if not name:
        args = str(cfg.get("model_args") or "")
        for key in ("pretrained=", "model=", "path=", "engine="):
            if key in args:
                name = args.split(key, 1)[1].split(",")[0]
                break
    n = cfg.get("model_num_parameters")
    n = float(n) if isinstance(n, (int, float)) and n > 0 else None  # -1 when unknown
    return str(name or folder.name.replace("__", "/")), n


def _task_of(path: Path) -> str:
    """samples_<task>_<date>.jsonl -> task (task names may contain underscores; the date
    lm_eval appends is an ISO stamp without underscores)."""
    return path.stem[len("samples_"):].rsplit("_", 1)[0]


def read_lm_eval(folder: Path, tasks: list[str] | None = None):
    """Frame (model, item, task, n_params_recorded, outcome columns) of every model folder
    under `folder` (only `tasks`, when given); sizes are attached by the caller. An outcome
    only some tasks have (log-probabilities of multiple-choice tasks, edit distances of
    generative ones) is dropped when tasks are mixed: a family has no holes."""
    import pandas as pd

    by_model: dict[Path, list[Path]] = {}
    for p in sorted(folder.rglob("samples_*.jsonl")):
        by_model.setdefault(p.parent, []).append(p)
    if not by_model:
        hint = (" (it has results_*.json: re-run lm_eval with --log_samples to keep per-item results)"
                if any(folder.rglob("results_*.json")) else "")  # fmt: skip
        raise UserError(f"no samples_*.jsonl files under {folder}{hint}: point at lm_eval's --output_path "
                        "of a --log_samples run, or give a CSV with model, params, item, correct")  # fmt: skip
    rows = []
    for mdir, files in by_model.items():
        name, n_params = _model_info(mdir)
        newest: dict[str, Path] = {}
        for p in files:  # a re-run of a task writes a newer file: keep the newest
            newest[_task_of(p)] = p
        if tasks:
            unknown = sorted(set(tasks) - set(newest))
            if unknown:
                raise UserError(f"no task {', '.join(unknown)} for {name} under {folder} "
                                f"(tasks: {', '.join(sorted(newest))}): check --task")  # fmt: skip
            newest = {t: newest[t] for t in tasks}
        for task, p in sorted(newest.items()):
            recs = _read_samples(p)
            if not recs:
                raise UserError(f"{p} is empty: re-run lm_eval for {name} or delete the file")
            filters = list(dict.fromkeys(str(r.get("filter", "none")) for r in recs if isinstance(r, dict)))
            keep = "none" if "none" in filters else filters[0] if filters else "none"
            for i, r in enumerate(recs):
                if isinstance(r, dict) and str(r.get("filter", "none")) != keep:
                    continue
                row = _record(r, f"{p} line {i + 1}")
                row.update(model=name, item=f"{task}/{r['doc_id']}", task=task, n_params_recorded=n_params)
                rows.append(row)
    gen = [r for r in rows if "_texts" in r]
    if gen:
        for r, d in zip(gen, _edit_distances([r.pop("_texts") for r in gen])):
            r["edit_distance"] = float(d)
    df = pd.DataFrame(rows)
    outcomes = [c for c in _OUTCOMES if c in df.columns and df[c].notna().all()]
    if not outcomes:
        raise UserError(f"the samples under {folder} have no acc/exact_match metric or log-likelihoods: "
                        "export a CSV with model, params, item, correct instead")  # fmt: skip
    return df[["model", "item", "task", "n_params_recorded", *outcomes]]
