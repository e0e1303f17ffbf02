"""Readers of a model family's results: one row per (model, item), whatever the source.

Sources: a tidy CSV / TSV / Parquet / JSON / JSONL file (read by lab/tables.py); a folder
that lm-evaluation-harness wrote with `--log_samples` for several models (`lab/lmeval.py`); a
run of the lab's store whose artefact `family` holds the frame. Every reader ends in
`check_frame`, which rejects what no instrument can use with one line saying what to do, so
the errors are the same (and clear) whatever the instruments downstream check again.

Model sizes: a `params`/`compute` column, else the `sizes` mapping the user passes
(`--sizes pythia-70m=7e7,...` or a CSV of model, params), else the count lm_eval recorded
(HF backend), else the size the name carries ("pythia-160m", "Qwen2.5-0.5B", "70b").
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from emergelab.errors import UserError
from emergelab.lab.tables import read_table, rename_aliases

OUTCOMES = ("correct", "score", "logprob", "target_prob", "edit_distance", "mc_correct", "brier", "n_pass")
# common spellings -> the family's column names (applied only when the canonical one is absent)
ALIASES = {
    "model": ("model_name", "name", "checkpoint"),
    "params": ("n_params", "num_params", "parameters", "model_num_parameters", "n_parameters", "N", "size"),
    "compute": ("flops", "train_flops", "training_compute", "C"),
    "item": ("item_id", "doc_id", "question_id", "example_id", "id", "problem"),
    "correct": ("acc", "accuracy", "exact_match", "em", "is_correct"),
    "logprob": ("log_prob", "loglik", "loglikelihood", "log_likelihood", "ll"),
    "n_samples": ("k", "num_samples", "attempts", "n_attempts"),
    "n_pass": ("passes", "n_correct", "num_correct", "num_pass"),
}
_UNITS = {"m": 1e6, "b": 1e9}
# a number with an m/b unit standing alone in the name: "-160m", "-0.5B", "70b"; not the
# "7B" of "8x7B" (a mixture: the total is not 8·7B), not "4bit", not Qwen's "2.5"
_SIZE_RE = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)([mMbB])(?![A-Za-z0-9])")


def size_from_name(name: str) -> float | None:
    """Parameter count a model name carries ("pythia-160m" -> 1.6e8), or None when it
    carries none or several different ones (the user must say)."""
    hits = {float(n) * _UNITS[u.lower()] for n, u in _SIZE_RE.findall(str(name).rsplit("/", 1)[-1])}
    return hits.pop() if len(hits) == 1 else None


def parse_number(text: str, what: str) -> float:
    """'1.2e8', '160m', '1.4B', '7e9' -> float > 0, else a UserError naming `what`."""
    t = str(text).strip()
    m = re.fullmatch(r"(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*([kKmMbBtT]?)", t)
    if not m:
        raise UserError(f"bad size '{text}' for {what}: write a positive number like 1.2e8 or 160m")
    v = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[m.group(2).lower()]
    if not v > 0 or not math.isfinite(v):
        raise UserError(f"size of {what} must be > 0, got '{text}': sizes are parameter counts or FLOPs")
    return v


def parse_sizes(spec: str | None) -> dict[str, float]:
    """`--sizes`: 'a=1.2e8,b=160m' or the path of a CSV with columns model and params
    (or compute) -> {model: size}."""
    if not spec:
        return {}
    if "=" not in spec:
        p = Path(spec)
        if not p.is_file():
            raise UserError(f"--sizes '{spec}': give model=size pairs (a=1.2e8,b=3e8) or a CSV of model, params")
        df = _normalise(read_table(p, "a sizes table"))
        col = "params" if "params" in df.columns else "compute" if "compute" in df.columns else None
        if "model" not in df.columns or col is None:
            raise UserError(f"sizes file {p} needs columns model and params (or compute)")
        return {str(m): parse_number(v, str(m)) for m, v in zip(df["model"], df[col])}
    out = {}
    for part in filter(None, (s.strip() for s in spec.split(","))):
        name, eq, val = part.rpartition("=")
        if not eq or not name:
            raise UserError(f"bad --sizes entry '{part}': write model=size, e.g. pythia-160m=1.6e8")
        out[name.strip()] = parse_number(val, name.strip())
    return out


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Rename the first alias found of each absent canonical column."""
    return rename_aliases(df, ALIASES)


def attach_sizes(df: pd.DataFrame, sizes: dict[str, float], size: str = "params") -> pd.DataFrame:
    """Fill the size column: the user's mapping first, then what the frame has (a column,
    lm_eval's recorded count), then the model's name. Unknown sizes -> one line naming them."""
    df = df.copy()
    models = df["model"].astype(str)
    unknown = set(sizes) - set(models)
    if unknown:
        raise UserError(f"--sizes names model(s) not in the family: {', '.join(sorted(unknown))} "
                        f"(models: {', '.join(sorted(set(models)))})")  # fmt: skip
    have = pd.Series(math.nan, df.index)
    if size in df.columns:  # numbers, or sizes written as "160m" / "1.4B"
        have = pd.to_numeric(df[size], errors="coerce")
        text = have.isna() & df[size].notna()
        have[text] = [parse_number(v, f"model '{m}'") for v, m in zip(df.loc[text, size], models[text])]
    if size == "params" and "n_params_recorded" in df.columns:
        have = have.fillna(pd.to_numeric(df["n_params_recorded"], errors="coerce"))
    user = models.map(sizes).astype(float)
    named = models.map(size_from_name).astype(float) if size == "params" else pd.Series(math.nan, df.index)
    df[size] = user.fillna(have).fillna(named)
    missing = sorted(set(models[df[size].isna()]))
    if missing:
        raise UserError(f"no {size} known for model(s) {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}: "
                        f"pass --sizes {missing[0]}=1.2e8,... (or a CSV of model, {size})")  # fmt: skip
    return df.drop(columns=[c for c in ("n_params_recorded",) if c in df.columns])


def check_frame(df: pd.DataFrame, size: str = "params", where: str = "the family") -> pd.DataFrame:
    """Validate a family frame; returns it with `model`, `item` as str and the size as float."""
    if size not in ("params", "compute"):
        raise UserError(f"unknown size '{size}': choose params or compute")
    need = [c for c in ("model", "item", size) if c not in df.columns]
    if need:
        raise UserError(f"{where} has no column(s) {', '.join(need)} (columns: {', '.join(map(str, df.columns))}): "
                        f"a family needs model, {size}, item and an outcome such as correct")  # fmt: skip
    outs = [c for c in OUTCOMES if c in df.columns]
    if not outs:
        raise UserError(f"{where} has no outcome column: add one of {', '.join(OUTCOMES)} (e.g. correct as 0/1)")
    df = df.copy()
    df["model"], df["item"] = df["model"].astype(str), df["item"].astype(str)
    for c in [size, *outs, *(["n_samples"] if "n_samples" in df.columns else [])]:
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() & df[c].notna()
        if bad.any():
            raise UserError(f"column '{c}' of {where} has non-numeric values (first: '{df[c][bad].iloc[0]}'): clean it")
        df[c] = v.astype(float)
    holes = df[outs + (["n_samples"] if "n_samples" in df.columns else [])].isna()
    if holes.any().any():  # the instruments fit every metric on every item: no holes
        c = holes.any().idxmax()
        r = df[holes[c]].iloc[0]
        raise UserError(f"column '{c}' of {where} has {int(holes[c].sum())} empty value(s) (first: model "
                        f"'{r['model']}', item '{r['item']}'): fill them, drop those rows or drop the column")  # fmt: skip
    bad = ~(df[size] > 0) | ~df[size].map(math.isfinite)  # NaN compares False: caught too
    if bad.any():
        r = df[bad].iloc[0]
        raise UserError(f"{size} must be a finite number > 0 for every model (model '{r['model']}' has "
                        f"{r[size]:g}): fix the sizes")  # fmt: skip
    per_model = df.groupby("model")[size].nunique()
    if (per_model > 1).any():
        raise UserError(f"model '{per_model.idxmax()}' has several {size} values in {where}: one size per model")
    n_sizes = df[size].nunique()
    if n_sizes < 3:
        raise UserError(f"{where} has {n_sizes} model size(s): a scaling fit needs at least 3 sizes")
    dup = df.duplicated(["model", "item"])
    if dup.any():
        r = df[dup].iloc[0]
        raise UserError(f"item '{r['item']}' appears twice for model '{r['model']}' in {where}: one row per (model, item)")
    for c in ("correct", "mc_correct"):
        if c in df.columns and not df[c].isin([0.0, 1.0]).all():
            raise UserError(f"column '{c}' of {where} must be 0 or 1: put graded scores in a 'score' column")
    for c in ("score", "target_prob"):
        if c in df.columns and not df[c].between(0, 1).all():
            raise UserError(f"column '{c}' of {where} must lie in [0, 1]")
    if "n_pass" in df.columns:
        if "n_samples" not in df.columns:
            raise UserError(f"{where} has n_pass but no n_samples: add how many samples each pass count is out of")
        if (df["n_pass"] < 0).any() or (df["n_pass"] > df["n_samples"]).any():
            raise UserError(f"n_pass must lie in 0..n_samples in {where}")
    # A constant grade (greedy exact match 0 everywhere: the PassUntil case) carries nothing to
    # fit; with another outcome that varies it is dropped with a note, else the family is unusable.
    notes = []
    for c in ("correct", "score", "mc_correct"):
        if c not in df.columns or df[c].nunique() != 1:
            continue
        kind = {0.0: "zero", 1.0: "one"}.get(df[c].iloc[0], f"{df[c].iloc[0]:g}")
        if not any(df[o].nunique() > 1 for o in outs if o != c):
            raise UserError(f"every item of {where} has {c} = {kind} for every model: nothing varies, so nothing "
                            "can be fitted; check the grading, or add items, models or a continuous metric")  # fmt: skip
        df = df.drop(columns=c)
        notes.append(f"{c} is {kind} for every model and item: left out")
    df = df.sort_values([size, "model", "item"], kind="stable").reset_index(drop=True)
    df.attrs["notes"] = notes
    return df


def read_family(path, sizes: dict[str, float] | None = None, size: str = "params",
                tasks: list[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """The family frame of a tidy file (CSV, TSV, Parquet, JSON, JSONL) or an lm-eval --log_samples
    folder; `tasks` keeps only those tasks (a `task` column, or lm-eval's tasks)."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"no such file or folder: {p}")
    if p.is_dir():
        from emergelab.lab.lmeval import read_lm_eval

        df = read_lm_eval(p, tasks)
    else:
        df = _normalise(read_table(p, "a model family", also="an lm-eval --log_samples folder"))
        if tasks:
            if "task" not in df.columns:
                raise UserError(f"--task given but {p} has no task column: drop --task")
            unknown = sorted(set(tasks) - set(df["task"].astype(str)))
            if unknown:
                raise UserError(f"no task {', '.join(unknown)} in {p} (tasks: "
                                f"{', '.join(sorted(set(df['task'].astype(str))))}): check --task")  # fmt: skip
            df = df[df["task"].astype(str).isin(tasks)]
        if "task" in df.columns and "item" in df.columns:  # the same doc id in two tasks is two items
            df["item"] = df["task"].astype(str) + "/" + df["item"].astype(str)
    if "model" in df.columns and (sizes or size not in df.columns or not pd.api.types.is_numeric_dtype(df[size])
                                  or df[size].isna().any()):  # fmt: skip
        df = attach_sizes(df, sizes or {}, size)
    return check_frame(df, size, where=str(p))


def read_family_run(store, run_id: str, size: str = "params") -> pd.DataFrame:
    """The family frame a run stored as its artefact `family`."""
    p = store.artefact_path(run_id, "family")
    if p.suffix not in (".parquet", ".csv", ".jsonl", ".json"):
        raise UserError(f"run '{run_id}' stores its family as {p.name}, not a table: re-run the world")
    df = read_table(p, f"the family of run '{run_id}'")
    return check_frame(_normalise(df), size, where=f"run '{run_id}'")
