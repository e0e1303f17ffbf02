"""Readers, model scoring and family frames for the ALTPRAG and MARS protocols (measures/evals.py).

ALTPRAG (Yu et al. 2025, arXiv:2505.18497). Layouts read:
- published: one record per instance with `context`, `root` (the turn being answered),
  `candidate_sentence_1`, `candidate_sentence_2`, `candidate_sentence_1_intention`,
  `candidate_sentence_2_intention` (the field names the dataset's users read; the release is a
  JSON list). Each instance gives two items, `<id>/1` and `<id>/2`: with direction 'utterance'
  (default) the model reads the context, the turn and the intention of reply k and should
  prefer reply k over the other reply; with 'intention' it reads reply k and should prefer its
  intention over the other one's (the paper's "infer the speaker's intended meaning").
- pairs: `context` (optional), `intended`, `alternative` — any contrastive pair set.
MARS (Wang & Song, ACL 2025, arXiv:2406.02106). The release (CSV, one row per assertion, a 0/1
`label`) is distributed outside GitHub; the authors' evaluation code reads the columns
`event_after_transition`, `inference`, `label` and asks "If {event}, then {inference}".
Assumed per task (a `task` column, or one task per file given by `task=`):
  event       plausibility of the changed action:  `event`               -> "{event}"
  inference   of the state it causes:               `event`, `inference`  -> "If {event}, then {inference}"
  transition  of the situational transition:        `event`, `inference`, optional `transition`
              -> "If {event} and {transition}, then {inference}"
with `event_after_transition`, `modified_event`, `event_replaced` read as `event`,
`metaphysical_inference` as `inference`, `transition_modified` as `transition`; a ready
`assertion` (or `text`) column is used as is. Labels: 0/1, yes/no, true/false.
Any other spelling: `mapping` ({field: column}, from `--map field=column,...`).

Saved scores of a model family (any table format): `model`, a size (`params`/`compute`, or
--sizes), `item`, and for ALTPRAG `ll_intended`, `ll_alternative` (+ `n_intended`,
`n_alternative` for per-token scores), for MARS `score` and `label` (+ `task`). A `stage`
column (pretrain/sft/dpo) is folded into the model name, `model@stage`. `eval_family` turns
them into the family frame of lab/families.py, so `emergelab forecast|mirage --evals` works.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emergelab.errors import UserError
from emergelab.lab.tables import read_table, rename_aliases

PROTOCOLS = ("altprag", "mars")
MARS_TASKS = ("event", "inference", "transition")
_TASK_ALIASES = {"me": "event", "action": "event", "events": "event", "mi": "inference", "state": "inference",
                 "states": "inference", "mt": "transition", "transitions": "transition"}  # fmt: skip
_ALIASES = {  # field -> other spellings read when the field itself is absent
    "item": ("id", "item_id", "idx", "instance_id", "uid"),
    "intended": ("target", "chosen", "intended_continuation"),
    "alternative": ("distractor", "rejected", "foil", "alternative_continuation"),
    "event": ("event_after_transition", "modified_event", "event_replaced", "changed_event"),
    "inference": ("metaphysical_inference", "state"),
    "transition": ("transition_modified",),
    "assertion": ("text", "statement"),
    "label": ("plausible", "gold", "answer"),
    "ll_intended": ("logprob_intended", "intended_ll", "ll_target", "ll_chosen"),
    "ll_alternative": ("logprob_alternative", "alternative_ll", "ll_distractor", "ll_rejected"),
}
_PUBLISHED = ("candidate_sentence_1", "candidate_sentence_2", "candidate_sentence_1_intention",
              "candidate_sentence_2_intention")  # fmt: skip
_YES = {"1", "1.0", "yes", "true", "plausible", "y", "t"}
_NO = {"0", "0.0", "no", "false", "implausible", "n", "f"}
MARS_PROMPT = ("Given an assertion, determine whether it is plausible or not.\nAssertion: {text}.\n"
               "Answer Yes or No only. Your answer is")  # fmt: skip
ANSWERS = (" Yes", " No")


def parse_map(spec) -> dict[str, str]:
    """'intended=chosen,alternative=rejected' (or a dict) -> {field: column}."""
    if not spec:
        return {}
    if isinstance(spec, dict):
        return {str(k): str(v) for k, v in spec.items()}
    out = {}
    for part in filter(None, (s.strip() for s in str(spec).split(","))):
        field, eq, col = part.partition("=")
        if not eq or not field.strip() or not col.strip():
            raise UserError(f"bad --map entry '{part}': write field=column, e.g. intended=chosen")
        out[field.strip()] = col.strip()
    return out


ITEM_FORMATS = ("csv", "tsv", "parquet", "jsonl", "json")  # lab/tables.py's names


def read_records(path, what: str = "evaluation records") -> pd.DataFrame:
    """A .json (list of records, or {'data': [...]}), .jsonl, .csv/.tsv or .parquet file as a
    frame, text cells as written (lab/tables.py); no records is an error."""
    df = read_table(path, what, ITEM_FORMATS, text_columns=True)
    if df.empty:
        raise UserError(f"{path} has no records: give a file with at least one item")
    return df


def _fields(df: pd.DataFrame, mapping: dict[str, str], where) -> pd.DataFrame:
    """Rename the user's columns (mapping) and then known aliases to the protocol's field names."""
    missing = [c for c in mapping.values() if c not in df.columns]
    if missing:
        raise UserError(f"--map names column(s) {', '.join(missing)} that {where} lacks "
                        f"(columns: {', '.join(map(str, df.columns))})")  # fmt: skip
    return rename_aliases(df.rename(columns={v: k for k, v in mapping.items()}), _ALIASES)


def _need(df, cols, where, what, hint: str = "name the columns with a mapping (--map field=column,...)") -> None:
    miss = [c for c in cols if c not in df.columns]
    if miss:
        raise UserError(f"{where} has no field(s) {', '.join(miss)} for {what} (columns: "
                        f"{', '.join(map(str, df.columns))}): {hint}")  # fmt: skip
    for c in cols:
        empty = df[c].isna() | (df[c].astype(str).str.strip() == "")
        if empty.any():
            raise UserError(f"field '{c}' of {where} is empty in {int(empty.sum())} record(s) (first: record "
                            f"{int(np.argmax(empty.to_numpy())) + 1}): fill or drop them")  # fmt: skip


def _ids(df, prefix=None) -> pd.Series:
    """Item ids (the file's, else the record number), optionally '<prefix>/<id>'; unique."""
    ids = df["item"].astype(str) if "item" in df.columns else pd.Series([str(i) for i in range(len(df))], df.index)
    if prefix is not None:  # the same id in two MARS tasks is two items
        ids = prefix.astype(str) + "/" + ids
    dup = ids.duplicated()
    if dup.any():
        raise UserError(f"item id '{ids[dup].iloc[0]}' appears twice: give every record its own id")
    return ids


def read_altprag(path, mapping=None, direction: str = "utterance") -> pd.DataFrame:
    """Frame (item, context, intended, alternative) of an ALTPRAG file, either layout."""
    if direction not in ("utterance", "intention"):
        raise UserError(f"unknown ALTPRAG direction {direction!r}: choose utterance or intention")
    df = _fields(read_records(path, "ALTPRAG items"), parse_map(mapping), path)
    ids = _ids(df)
    if "intended" in df.columns or "alternative" in df.columns:  # the pairs layout
        _need(df, ["intended", "alternative"], path, "ALTPRAG pairs")
        ctx = df["context"].fillna("").astype(str) if "context" in df.columns else pd.Series("", df.index)
        return pd.DataFrame({"item": ids, "context": ctx, "intended": df["intended"].astype(str),
                             "alternative": df["alternative"].astype(str)}).reset_index(drop=True)  # fmt: skip
    _need(df, ["context", "root", *_PUBLISHED], path, "ALTPRAG (published layout; or give intended, alternative)")
    rows = []
    for i, r in zip(ids, df.itertuples(index=False)):
        r = r._asdict()
        reply = {1: str(r["candidate_sentence_1"]), 2: str(r["candidate_sentence_2"])}
        means = {1: str(r["candidate_sentence_1_intention"]), 2: str(r["candidate_sentence_2_intention"])}
        head = f"Context: {r['context']}\nSpeaker A: {r['root']}\n"
        for k, o in ((1, 2), (2, 1)):
            if direction == "utterance":  # which reply carries this intention?
                rows.append((f"{i}/{k}", f"{head}Speaker B wants to convey: {means[k]}\nSpeaker B:",
                             " " + reply[k], " " + reply[o]))  # fmt: skip
            else:  # what does this reply mean?
                rows.append((f"{i}/{k}", f"{head}Speaker B: {reply[k]}\nWhat Speaker B means:",
                             " " + means[k], " " + means[o]))  # fmt: skip
    return pd.DataFrame(rows, columns=["item", "context", "intended", "alternative"])


def mars_task(name) -> str:
    t = str(name).strip().lower()
    t = _TASK_ALIASES.get(t, t)
    if t not in MARS_TASKS:
        raise UserError(f"unknown MARS task '{name}': choose event, inference or transition")
    return t


def _label(values, where) -> np.ndarray:
    out = []
    for v in values:
        s = str(v).strip().lower()
        if s not in _YES and s not in _NO:
            raise UserError(f"label '{v}' in {where} is not 0/1 or yes/no: recode the label column")
        out.append(1 if s in _YES else 0)
    return np.array(out, dtype=int)


def read_mars(path, task: str | None = None, mapping=None) -> pd.DataFrame:
    """Frame (item, task, text, label) of a MARS file; item ids are '<task>/<id>'."""
    df = _fields(read_records(path, "MARS items"), parse_map(mapping), path)
    if "task" in df.columns:
        tasks = df["task"].map(mars_task)
        if task is not None:
            tasks = tasks[tasks == mars_task(task)]
            if tasks.empty:
                raise UserError(f"{path} has no items of task '{task}' (tasks: {', '.join(sorted(set(df['task'])))})")
            df = df.loc[tasks.index]
    elif task is not None:
        tasks = pd.Series(mars_task(task), df.index)
    else:
        raise UserError(f"{path} has no task column: say which MARS task the file holds (task event, inference "
                        "or transition)")  # fmt: skip
    _need(df, ["label"], path, "MARS")
    text = pd.Series("", df.index, dtype=object)
    for t in tasks.unique():
        sel = (tasks == t).to_numpy()
        part = df[sel]
        if "assertion" in df.columns:
            _need(part, ["assertion"], path, f"MARS task {t}")
            text[sel] = part["assertion"].astype(str).str.strip().str.rstrip(".")
            continue
        _need(part, ["event"] if t == "event" else ["event", "inference"], path, f"MARS task {t}")
        ev = part["event"].astype(str).str.strip().str.rstrip(".")
        if t == "event":
            text[sel] = ev
            continue
        if t == "transition" and "transition" in part.columns:
            ev = ev + " and " + part["transition"].fillna("").astype(str).str.strip().str.rstrip(".")
        text[sel] = "If " + ev + ", then " + part["inference"].astype(str).str.strip().str.rstrip(".")
    return pd.DataFrame({"item": _ids(df, tasks).to_numpy(), "task": tasks.to_numpy(), "text": text.to_numpy(),
                         "label": _label(df["label"], path)})  # fmt: skip


def read_items(path, protocol: str, task: str | None = None, mapping=None, direction: str = "utterance"):
    protocol = check_protocol(protocol)
    return read_altprag(path, mapping, direction) if protocol == "altprag" else read_mars(path, task, mapping)


def check_protocol(protocol) -> str:
    p = str(protocol).strip().lower()
    if p not in PROTOCOLS:
        raise UserError(f"unknown evaluation protocol '{protocol}': choose altprag or mars")
    return p


def score_items(items: pd.DataFrame, protocol: str, model: str = "", device: str = "cpu",
                batch: int | None = None, name: str | None = None) -> pd.DataFrame:  # fmt: skip
    """Score read items with a causal LM ('' = the offline SmolLM2, or a local model folder).
    ALTPRAG -> item, ll_intended, ll_alternative, n_intended, n_alternative;
    MARS -> item, task, label, score = log P(' Yes') - log P(' No') after MARS_PROMPT, ll_yes, ll_no.
    A `model` column names the model: `name`, else the model's own (a folder's name)."""
    from emergelab.llm.score import BATCH, continuation_logprobs, load_scorer

    protocol = check_protocol(protocol)
    m, own = load_scorer(model, device)
    name = name or own
    kw = {"batch": batch or BATCH, "name": name}
    n = len(items)
    if protocol == "altprag":
        ctx = list(items["context"]) * 2
        ll, nt = continuation_logprobs(m, ctx, list(items["intended"]) + list(items["alternative"]), **kw)
        out = pd.DataFrame({"item": items["item"].to_numpy(), "ll_intended": ll[:n], "ll_alternative": ll[n:],
                            "n_intended": nt[:n], "n_alternative": nt[n:]})  # fmt: skip
    else:
        prompts = [MARS_PROMPT.format(text=t) for t in items["text"]]
        ll, _ = continuation_logprobs(m, prompts * 2, [ANSWERS[0]] * n + [ANSWERS[1]] * n, **kw)
        out = pd.DataFrame({"item": items["item"].to_numpy(), "task": items["task"].to_numpy(),
                            "label": items["label"].to_numpy(), "score": ll[:n] - ll[n:], "ll_yes": ll[:n],
                            "ll_no": ll[n:]})  # fmt: skip
    out.insert(0, "model", name)
    return out


def score_file(data, protocol: str, model: str = "", out=None, *, task: str | None = None, mapping=None,
               direction: str = "utterance", device: str = "cpu", batch: int | None = None,
               name: str | None = None) -> pd.DataFrame:  # fmt: skip
    """Read a protocol's data file, score it with one model, and (with `out`, a .csv, .parquet or .json file)
    add the rows to that scores table, replacing the model's earlier rows: scoring each member
    of a family into one file (name='olmo-7b@sft', ...) builds the table that
    `emergelab forecast|mirage FILE --evals PROTOCOL` reads."""
    if out is not None:  # a bad destination fails before the model is loaded
        from emergelab.lab.store import check_export_path

        check_export_path(str(out))
    items = read_items(data, protocol, task, mapping, direction)
    scores = score_items(items, protocol, model, device, batch, name)
    if out is not None:
        from emergelab.lab.store import export_frame

        if Path(out).is_file() and Path(out).stat().st_size:  # own types: the rows kept stay numbers
            old = read_table(out, "a scores table", ITEM_FORMATS)
            if "model" not in old.columns:
                raise UserError(f"{out} exists and is not a scores table (no model column): choose another file")
            keep = old[old["model"].astype(str) != scores["model"].iloc[0]]
            scores = pd.concat([keep, scores], ignore_index=True)
        export_frame(scores, str(out))
    return scores


def summarise(scores: pd.DataFrame, protocol: str, kind: str = "logodds", threshold: float | None = None):
    """Per-model metrics table of saved or fresh scores (measures/evals.py)."""
    from emergelab.measures.evals import altprag_metrics, mars_metrics

    protocol, scores = check_protocol(protocol), _scores(scores, protocol)
    rows = []
    for model, g in scores.groupby("model", sort=False):
        if protocol == "altprag":
            has_n = {"n_intended", "n_alternative"} <= set(g.columns)
            rows.append({"model": model, **altprag_metrics(g["ll_intended"], g["ll_alternative"],
                                                           g["n_intended"] if has_n else None,
                                                           g["n_alternative"] if has_n else None)})  # fmt: skip
        else:
            t = mars_metrics(g["task"], g["label"], g["score"], kind, threshold)
            t.insert(0, "model", model)
            rows.extend(t.to_dict("records"))
    return pd.DataFrame(rows)


def _scores(df: pd.DataFrame, protocol: str, where: str = "the scores") -> pd.DataFrame:
    df = _fields(df, {}, where)
    if "stage" in df.columns and "model" in df.columns:  # one family member per (model, stage)
        df = df.assign(model=df["model"].astype(str) + "@" + df["stage"].astype(str))
    need = ["model", "item", *(["ll_intended", "ll_alternative"] if protocol == "altprag" else ["score", "label"])]
    _need(df, need, where, f"{protocol} scores", f"a scores table has one row per model x item with columns "
          f"{', '.join(need)} and a size (params, compute, or --sizes); score items with score_items")
    if protocol == "mars":
        df = df.assign(label=_label(df["label"], where))
        if "task" not in df.columns:
            df = df.assign(task=df["item"].astype(str).str.split("/").str[0].map(
                lambda t: t if t in MARS_TASKS else "mars"))  # fmt: skip
    for c in [c for c in ("ll_intended", "ll_alternative", "n_intended", "n_alternative", "score") if c in df]:
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any():
            raise UserError(f"column '{c}' of {where} has non-numeric or empty values: fix or drop those rows")
        df[c] = v
    return df


def eval_family(scores: pd.DataFrame, protocol: str, *, norm: bool | None = None, kind: str = "logodds",
                threshold: float | None = None, where: str = "the scores") -> pd.DataFrame:  # fmt: skip
    """Family rows (model, item, [task], sizes kept, correct, mc_correct, logprob, target_prob,
    brier, margin) of saved scores; sizes are attached and checked by lab/families.py.
    ALTPRAG: norm None = per token when token counts are there."""
    from emergelab.measures.evals import altprag_item_scores, binary_item_scores, binary_probability

    protocol = check_protocol(protocol)
    df = _scores(scores, protocol, where)
    if protocol == "altprag":
        has_n = {"n_intended", "n_alternative"} <= set(df.columns)
        o = altprag_item_scores(df["ll_intended"], df["ll_alternative"], df["n_intended"] if has_n else None,
                                df["n_alternative"] if has_n else None, has_n if norm is None else norm)  # fmt: skip
    else:
        o = binary_item_scores(df["label"], df["score"], kind, threshold)
        _, t = binary_probability(df["score"], kind, threshold)
        o["margin"] = df["score"].to_numpy() - t  # signed distance from the decision threshold
    keep = [c for c in ("model", "params", "compute", "stage", "item", "task") if c in df.columns]
    out = df[keep].reset_index(drop=True).copy()
    for k in ("correct", "logprob", "target_prob", "brier", "margin"):
        out[k] = np.asarray(o[k], dtype=float)
    out["mc_correct"] = out["correct"]  # a two-way choice: the MC grade, paired with the Brier score
    return out


def read_eval_family(path, protocol: str, sizes=None, size: str = "params", tasks=None, **kw) -> pd.DataFrame:
    """The checked family frame of a saved-scores file (the `--evals` reader of forecast/mirage)."""
    from emergelab.lab.families import attach_sizes, check_frame

    df = eval_family(read_records(path, "a scores table"), protocol, where=str(path), **kw)
    if tasks:
        if "task" not in df.columns:
            raise UserError(f"--task given but {path} has no task column: drop --task")
        want = {mars_task(t) if check_protocol(protocol) == "mars" else str(t) for t in tasks}
        df = df[df["task"].astype(str).isin(want)]
        if df.empty:
            raise UserError(f"no items of task(s) {', '.join(sorted(want))} in {path}: check --task")
    if sizes or size not in df.columns or df[size].isna().any():
        df = attach_sizes(df, sizes or {}, size)
    return check_frame(df, size, where=str(path))
