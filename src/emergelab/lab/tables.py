"""The one reader of a user's table file: CSV, TSV, TXT, Parquet, JSON lines or JSON.

Every command that takes a table the user made (an edge list, a model family, a sizes
table, a series to analyze, evaluation items or scores) reads it with `read_table`, so the
formats, the checks and the error lines are the same everywhere:

- the file must exist and be a file (`check_file`);
- the format is the suffix: .csv, .tsv, .txt (separator sniffed from the first lines:
  comma, tab, semicolon, bar or runs of spaces; comma when it cannot tell), .parquet/.pq,
  .jsonl/.ndjson (one JSON object a line), .json (a list of records, a {"data": [...]}
  wrapper, a {column: values} object, one record, or JSON lines). A caller names the formats
  it accepts;
- an empty file, a file the format's parser rejects, or an unknown suffix is one UserError
  line naming the file, what it was read as and what to do.

JSON values keep their JSON types (no guessing of numbers or dates from strings); CSV-like
files are parsed by pandas, or kept as written with `text_columns` (every cell a string,
an empty cell missing), which is how item texts and node names must be read. A file with
a header and no rows is returned as an empty frame: what zero rows means is the caller's.
pandas is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from emergelab.errors import UserError

# format name -> suffixes, in the order the messages list them
FORMATS = {
    "csv": (".csv",),
    "tsv": (".tsv",),
    "txt": (".txt",),
    "parquet": (".parquet", ".pq"),
    "jsonl": (".jsonl", ".ndjson"),
    "json": (".json",),
}
_LABELS = {"csv": "CSV", "tsv": "TSV", "txt": "delimited text", "parquet": "Parquet", "jsonl": "JSON lines",
           "json": "JSON"}  # fmt: skip
_SNIFF = ",\t;| "  # the separators a .txt file may use
_SNIFF_LINES = 50


def check_file(path, what: str) -> Path:
    """`path` as a Path, or one UserError when it is missing or a folder. `what` names what the
    file is for, with its article: 'an edge list', 'a model family'."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"no such file: {p}; check the path to {what}")
    if p.is_dir():
        raise UserError(f"{p} is a folder, not {what}: give a file")
    return p


def format_of(path, formats=tuple(FORMATS)) -> str | None:
    """The format name of `path` by its suffix, among `formats`; None when it is none of them."""
    suffix = Path(path).suffix.lower()
    return next((f for f in formats if suffix in FORMATS[f]), None)


def read_table(path, what: str, formats=tuple(FORMATS), *, text_columns: bool = False,
               also: str | None = None, fallback: str | None = None):
    """The table in `path` as a pandas DataFrame, or one UserError line.

    what: what the file is for, with its article ('an edge list'), named in every error.
    formats: the format names (keys of FORMATS) the caller accepts; others are an error.
    text_columns: CSV/TSV/TXT cells as strings exactly as written, an empty cell missing (NaN);
        otherwise pandas infers the column types. JSON and Parquet keep their own types.
    also: what else the caller accepts, for the unknown-format message ('a .graphml or .gexf file').
    fallback: the format to read a file of any other suffix as (`--csv` reads any file as CSV).
    """
    unknown = [f for f in (*formats, *([fallback] if fallback else [])) if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown table format(s) {unknown}: choose from {list(FORMATS)}")
    p = check_file(path, what)
    fmt = format_of(p, formats) or fallback
    if fmt is None:
        raise UserError(f"unknown format '{p.suffix or p.name}' of {p}: give {what} as {_listing(formats)}"
                        f"{', or ' + also if also else ''}")  # fmt: skip
    if p.stat().st_size == 0:
        raise _empty(p, what)
    try:
        if fmt == "parquet":
            import pandas as pd

            return pd.read_parquet(p)
        if fmt in ("json", "jsonl"):
            return _read_json(p, what, lines=fmt == "jsonl")
        return _read_delimited(p, what, fmt, text_columns)
    except (UserError, ImportError):
        raise
    except OSError as e:
        if e.errno is None:  # pyarrow reports a corrupt file as an OSError without an errno
            raise _unreadable(p, what, fmt, e) from None
        raise UserError(f"cannot read {p} ({e.strerror or e}): check that it is a readable file") from None
    except Exception as e:  # each parser has its own errors; all mean "not valid in this format"
        raise _unreadable(p, what, fmt, e) from None


def rename_aliases(df, aliases: dict[str, tuple[str, ...]]):
    """`df` with the first present alias of each absent canonical column renamed to it
    (aliases: canonical name -> other spellings, in order of preference)."""
    ren = {}
    for canon, names in aliases.items():
        if canon not in df.columns:
            hit = next((a for a in names if a in df.columns and a not in ren), None)
            if hit is not None:
                ren[hit] = canon
    return df.rename(columns=ren)


def _listing(formats) -> str:
    sufs = [FORMATS[f][0] for f in formats]  # the usual suffix of each; .pq and .ndjson are read too
    return "a " + (sufs[0] if len(sufs) == 1 else ", ".join(sufs[:-1]) + " or " + sufs[-1]) + " file"


def _empty(p: Path, what: str) -> UserError:
    return UserError(f"{p} has no records (the file is empty): give {what} with at least one row")


def _unreadable(p: Path, what: str, fmt: str, e: BaseException) -> UserError:
    msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
    msg = msg if len(msg) <= 120 else msg[:117].rstrip() + "..."
    return UserError(f"cannot read {p} as {what} (not valid {_LABELS[fmt]}: {msg}): fix the file or "
                     f"export it again")  # fmt: skip


def _read_delimited(p: Path, what: str, fmt: str, text_columns: bool):
    import pandas as pd

    sep = {"csv": ",", "tsv": "\t"}.get(fmt) or _sniff(p)
    kw = {"dtype": str, "keep_default_na": False, "na_values": [""]} if text_columns else {}
    if sep == " ":  # columns aligned with runs of spaces
        sep = r"\s+"
    if len(sep) == 1 and int(pd.__version__.split(".")[0]) < 3 and not text_columns:
        kw["float_precision"] = "round_trip"  # pandas < 3's default parser may miss a float64 by one ulp
    try:
        return pd.read_csv(p, sep=sep, engine="python" if len(sep) > 1 else "c", **kw)
    except pd.errors.EmptyDataError:  # only blank lines
        raise _empty(p, what) from None


def _sniff(p: Path) -> str:
    """The separator of a delimited text file, from its first lines; a comma when unclear."""
    with open(p, encoding="utf-8", newline="") as f:
        sample = "".join(line for _, line in zip(range(_SNIFF_LINES), f))
    try:
        return csv.Sniffer().sniff(sample, delimiters=_SNIFF).delimiter
    except csv.Error:  # one column, no consistent separator, or columns aligned with spaces
        widths = {len(line.split()) for line in sample.splitlines() if line.strip()}
        return " " if "," not in sample and len(widths) == 1 and widths.pop() > 1 else ","


def _read_json(p: Path, what: str, lines: bool):
    import pandas as pd

    text = p.read_text(encoding="utf-8")
    if not text.strip():
        raise _empty(p, what)
    if not lines:
        try:
            return _json_frame(json.loads(text))
        except json.JSONDecodeError as e:
            if e.msg != "Extra data":  # JSON lines saved as .json (as W&B and others do) read as such
                raise
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"line {n}: {e.msg} (column {e.colno})") from None
        if not isinstance(rec, dict):
            raise ValueError(f"line {n} is a JSON {type(rec).__name__}, not an object of column: value")
        records.append(rec)
    return pd.DataFrame.from_records(records) if records else pd.DataFrame()


def _json_frame(obj):
    """A frame of parsed JSON: a list of records; a wrapper {'data': [records], ...};
    {column: [values]} or {column: {row: value}}; or one record."""
    import pandas as pd

    if isinstance(obj, list):
        if not obj:
            return pd.DataFrame()
        if not all(isinstance(r, dict) for r in obj):
            raise ValueError("a JSON list must hold objects of column: value, one a record")
        return pd.DataFrame.from_records(obj)
    if not isinstance(obj, dict):
        raise ValueError(f"the file holds a JSON {type(obj).__name__}, not records")
    if not obj:
        return pd.DataFrame()
    wrapped = [v for v in obj.values() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)]
    if len(wrapped) == 1:
        return pd.DataFrame.from_records(wrapped[0])
    if all(isinstance(v, (list, dict)) for v in obj.values()):
        return pd.DataFrame(obj)  # column-oriented; unequal lengths raise, read as a parse error
    return pd.DataFrame([obj])
