"""`emergelab forecast|mirage FILE --evals altprag|mars`: saved ALTPRAG / MARS scores of a model
family through the scaling instruments; bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.smoke.test_bad_inputs import _snapshot

DATA = Path(__file__).resolve().parents[1] / "data" / "evals"


def test_mirage_and_forecast_on_eval_scores(run_cli, tmp_path):
    rc, out, err = run_cli("mirage", str(DATA / "altprag_family.csv"), "--evals", "altprag")
    assert rc == 0, err
    assert "correct" in out and "mc_correct" in out and "brier" in out
    rc, out, err = run_cli("forecast", str(DATA / "mars_family.csv"), "--evals", "mars", "-m", "powerlaw",
                           "--boot", "0", "-o", str(tmp_path / "t.csv"))  # fmt: skip
    assert rc == 0, err
    t = pd.read_csv(tmp_path / "t.csv")
    assert t["method"].tolist() == ["powerlaw"] and 0 <= t["predicted"].iloc[0] <= 1
    rc, out, err = run_cli("mirage", str(DATA / "mars_family.csv"), "--evals", "mars", "--task", "MI")
    assert rc == 0, err


CASES = [
    ("protocol", ["mirage", "{d}/mars_family.csv", "--evals", "glue"], "unknown evaluation protocol 'glue'"),
    ("items-not-scores", ["mirage", "{d}/mars_inference.csv", "--evals", "mars"], "no field(s) model, score"),
    ("missing", ["forecast", "{tmp}/nope.csv", "--evals", "altprag"], "no such file"),
    ("empty", ["mirage", "{tmp}/empty.csv", "--evals", "altprag"], "has no records"),
    ("task", ["mirage", "{d}/mars_family.csv", "--evals", "mars", "--task", "physics"], "unknown MARS task"),
    ("two-sizes", ["mirage", "{tmp}/two.csv", "--evals", "altprag"], "at least 3 sizes"),
]


@pytest.mark.parametrize("args, phrase", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_evals_cli_bad_input(run_cli, tmp_path, args, phrase):
    d = tmp_path / "data"
    shutil.copytree(DATA, d)
    (tmp_path / "empty.csv").write_text("")
    fam = pd.read_csv(DATA / "altprag_family.csv")
    fam[fam["params"] <= 3e7].to_csv(tmp_path / "two.csv", index=False)
    args = [a.format(tmp=tmp_path, d=d) for a in args]
    before = _snapshot(tmp_path)
    rc, out, err = run_cli(*args)
    assert rc == 2, (rc, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and phrase in lines[0], err
    assert out == "" and _snapshot(tmp_path) == before
