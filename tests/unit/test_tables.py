"""lab/tables.py: the one reader of a user's table file."""

import json

import numpy as np
import pandas as pd
import pytest

from emergelab.errors import UserError
from emergelab.lab.tables import FORMATS, check_file, format_of, read_table

FRAME = pd.DataFrame({"model": ["a", "b", "c"], "params": [1.2e8, 3.5e8, 0.1 + 0.2], "item": ["001", "2", "x y"],
                      "correct": [1, 0, 1]})  # fmt: skip


def _write(frame: pd.DataFrame, path) -> None:
    s = path.suffix
    if s in (".csv", ".txt"):
        frame.to_csv(path, index=False)
    elif s == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif s in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    elif s in (".jsonl", ".ndjson"):  # json, not to_json: pandas writes 10 digits by default
        path.write_text("".join(json.dumps(r) + "\n" for r in frame.to_dict("records")))
    else:
        path.write_text(json.dumps(frame.to_dict("records")))


@pytest.mark.parametrize("suffix", [s for sufs in FORMATS.values() for s in sufs])
def test_every_format_round_trips(tmp_path, suffix):
    p = tmp_path / f"t{suffix}"
    _write(FRAME, p)
    df = read_table(p, "a test table")
    assert list(df.columns) == list(FRAME.columns) and len(df) == 3
    assert df["params"].tolist() == FRAME["params"].tolist()  # floats read back exactly
    assert df["correct"].tolist() == [1, 0, 1]
    if suffix not in (".csv", ".tsv", ".txt"):  # typed formats keep a string a string
        assert df["item"].tolist() == ["001", "2", "x y"]


def test_text_columns_keep_cells_as_written(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("item,text,label\n001,NA,1\n002,,0\n003,None,yes\n")
    df = read_table(p, "items", text_columns=True)
    assert df["item"].tolist() == ["001", "002", "003"] and df["label"].tolist() == ["1", "0", "yes"]
    assert df["text"].iloc[0] == "NA" and df["text"].iloc[2] == "None" and pd.isna(df["text"].iloc[1])
    plain = read_table(p, "items")  # pandas' own typing
    assert plain["item"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("text, cols", [
    ("a,b\n1,2\n3,4\n", ["a", "b"]),
    ("a\tb\n1\t2\n3\t4\n", ["a", "b"]),
    ("a;b\n1;2\n3;4\n", ["a", "b"]),
    ("a b\n1  2\n3 4\n", ["a", "b"]),
    ("loss\n0.5\n0.25\n", ["loss"]),  # one column: no separator to sniff, read as CSV
])  # fmt: skip
def test_txt_separator_is_sniffed(tmp_path, text, cols):
    p = tmp_path / "t.txt"
    p.write_text(text)
    df = read_table(p, "a test table")
    assert list(df.columns) == cols and len(df) == 2


def test_json_shapes(tmp_path):
    recs = FRAME.to_dict("records")
    for obj in (recs, {"version": 1, "data": recs}, FRAME.to_dict("list"), FRAME.to_dict()):
        p = tmp_path / "t.json"
        p.write_text(json.dumps(obj))
        df = read_table(p, "a test table")
        assert df["model"].tolist() == ["a", "b", "c"] and df["item"].tolist() == ["001", "2", "x y"], obj
    p.write_text(json.dumps(recs[0]))  # one record
    assert len(read_table(p, "a test table")) == 1
    p.write_text("\n".join(json.dumps(r) for r in recs))  # JSON lines saved as .json
    assert len(read_table(p, "a test table")) == 3
    p.write_text("[]")
    assert read_table(p, "a test table").empty


def test_header_only_is_an_empty_frame(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b\n")
    df = read_table(p, "a test table")
    assert df.empty and list(df.columns) == ["a", "b"]


def test_formats_and_fallback(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match=r"unknown format '\.txt' of .*: give a test table as a \.csv or \.tsv "
                                        r"file, or a \.graphml file$"):  # fmt: skip
        read_table(p, "a test table", ("csv", "tsv"), also="a .graphml file")
    log = tmp_path / "train.log"
    log.write_text("step,loss\n1,0.5\n")
    assert read_table(log, "a test table", fallback="csv")["loss"].tolist() == [0.5]
    assert format_of(tmp_path / "X.PQ") == "parquet" and format_of(tmp_path / "x.xlsx") is None
    with pytest.raises(ValueError, match="unknown table format"):
        read_table(p, "a test table", ("xlsx",))


def _corrupt_parquet(p):
    p.write_bytes(b"PAR1garbage")


def _binary_csv(p):
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 20)


@pytest.mark.parametrize("name, make, phrase", [
    ("nope.csv", None, "no such file: "),
    ("adir.csv", lambda p: p.mkdir(), "is a folder, not a test table: give a file"),
    ("t.xlsx", lambda p: p.write_bytes(b"PK\x03\x04"), "unknown format '.xlsx' of "),
    ("README", lambda p: p.write_text("a,b\n"), "unknown format 'README' of "),
    ("empty.csv", lambda p: p.write_text(""), "has no records (the file is empty): give a test table with at least"),
    ("blank.csv", lambda p: p.write_text("\n\n"), "has no records (the file is empty)"),
    ("empty.parquet", lambda p: p.write_bytes(b""), "has no records (the file is empty)"),
    ("empty.jsonl", lambda p: p.write_text(" \n"), "has no records (the file is empty)"),
    ("bad.parquet", _corrupt_parquet, "as a test table (not valid Parquet: "),
    ("bad.json", lambda p: p.write_text("[{broken"), "as a test table (not valid JSON: "),
    ("num.json", lambda p: p.write_text("3"), "not valid JSON: the file holds a JSON int, not records"),
    ("list.json", lambda p: p.write_text("[1, 2]"), "not valid JSON: a JSON list must hold objects"),
    ("bad.jsonl", lambda p: p.write_text('{"a": 1}\n{"a": \n'), "not valid JSON lines: line 2: Expecting value"),
    ("arr.jsonl", lambda p: p.write_text('{"a": 1}\n[1]\n'), "line 2 is a JSON list, not an object"),
    ("bin.csv", _binary_csv, "as a test table (not valid CSV: "),
    ("ragged.csv", lambda p: p.write_text("a,b\n1,2\n1,2,3,4\n"), "not valid CSV: "),
])  # fmt: skip
def test_bad_files_are_one_line(tmp_path, name, make, phrase):
    p = tmp_path / name
    if make:
        make(p)
    with pytest.raises(UserError) as e:
        read_table(p, "a test table")
    msg = str(e.value)
    assert phrase in msg and str(p) in msg and "a test table" in msg and "\n" not in msg, msg


def test_check_file(tmp_path):
    with pytest.raises(UserError, match="no such file: .*nope.csv; check the path to an edge list"):
        check_file(tmp_path / "nope.csv", "an edge list")
    (tmp_path / "ok.csv").write_text("a\n")
    assert check_file(str(tmp_path / "ok.csv"), "an edge list") == tmp_path / "ok.csv"


def test_importing_costs_no_pandas():
    import subprocess
    import sys

    code = "import sys, emergelab.lab.tables; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_nan_and_numbers_in_csv(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("x,y\n1,nan\n2,\n3,inf\n")
    df = read_table(p, "a test table")
    assert np.isnan(df["y"].iloc[0]) and np.isnan(df["y"].iloc[1]) and np.isinf(df["y"].iloc[2])
