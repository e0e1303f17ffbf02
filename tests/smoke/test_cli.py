"""The command line end to end, on the toy world (in-process) and the real entry point."""

import json
import subprocess
import sys

import pandas as pd
import pytest


def test_worlds_lists_and_details(run_cli):
    rc, out, _ = run_cli("worlds")
    assert rc == 0 and "toy" in out and "emergelab run NAME --preset quick" in out
    rc, out, _ = run_cli("worlds", "toy")
    assert rc == 0 and "jump_at" in out and "step of the sigmoid jump" in out and "quick" in out


@pytest.mark.parametrize("columns", ["80", "200"])
def test_worlds_listing_fits_80_columns_with_full_names(run_cli, monkeypatch, columns):
    from emergelab.lab.registry import worlds

    monkeypatch.setenv("COLUMNS", columns)
    rc, out, _ = run_cli("worlds")
    lines = out.rstrip("\n").splitlines()
    assert rc == 0 and max(len(line) for line in lines) <= 80, lines
    firsts = [line.split()[0] for line in lines[:-1]]  # one line per world, its name first, whole
    assert firsts == list(worlds())
    row = lines[firsts.index("referential_game")]
    assert "Yao et al. 2022" in row and "an emergent language" in row


def test_short_citation():
    from emergelab.cli import _short_citation

    assert _short_citation("C. Boettiger, N. Ross, A. Hastings (2013), Early warning; R. M. May (1977), T") == \
        "Boettiger et al. 2013"
    assert _short_citation("Y. Tian (2025), Provable Scaling Laws") == "Tian 2025"
    assert _short_citation("S. C. Y. Chan et al. (2022), Data Distributional Properties") == "Chan et al. 2022"
    assert _short_citation("Chemical Heredity as Group Selection (2018); D. Segre (2000), X") == \
        "Chemical Heredity 2018"


def test_run_show_runs_export_query(run_cli, tmp_path):
    rc, out, err = run_cli("run", "toy", "--preset", "quick", "-s", "jump_at=40", "--executor", "serial")
    assert rc == 0, err
    assert "toy/y @ 4" in out  # the transition midpoint near step 40 is reported
    rc, out, _ = run_cli("run", "toy", "--preset", "quick", "-s", "jump_at=40")
    assert "already in the store" in out
    rc, out, _ = run_cli("runs")
    assert rc == 0 and "toy-" in out
    rid = out.split("toy-")[1].split()[0]
    rc, out, _ = run_cli("show", f"toy-{rid[:6]}")
    assert rc == 0 and "jump_at=40" in out and "toy/y" in out
    rc, out, _ = run_cli("export", "-o", str(tmp_path / "m.csv"))
    assert rc == 0 and len(pd.read_csv(tmp_path / "m.csv")) == 100
    rc, out, _ = run_cli("export", "--what", "runs", "-o", str(tmp_path / "r.json"))
    assert rc == 0 and json.loads((tmp_path / "r.json").read_text())[0]["config.jump_at"] == 40
    rc, out, _ = run_cli("query", "SELECT count(*) AS n FROM metrics")
    assert rc == 0 and "100" in out


def test_multi_seed_run_records_a_sweep(run_cli):
    rc, out, err = run_cli("run", "toy", "-p", "quick", "--seeds", "3", "-x", "serial")
    assert rc == 0, err
    rc, out, _ = run_cli("runs", "--sweeps")
    assert "sweep-toy-" in out and " 3 " in out


def test_sweep(run_cli):
    rc, out, err = run_cli("sweep", "toy", "-p", "quick", "-g", "jump_at=30,60", "-n", "2", "-x", "serial")
    assert rc == 0, err
    rc, out, _ = run_cli("runs", "--world", "toy")
    assert out.count("toy-") == 4


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "tyo"], "unknown world 'tyo'; did you mean 'toy'? see: emergelab worlds"),
        (["run", "toy", "-s", "jmp_at=3"], "unknown key 'jmp_at' of world 'toy'; did you mean 'jump_at'?"),
        (["run", "toy", "-s", "steps=many"], "bad value 'many' for 'steps': expected an integer"),
        (["run", "toy", "-s", "mode=left"], "choose one of up, down"),
        (["run", "toy", "-p", "fast"], "unknown preset 'fast'"),
        (["run", "toy", "-x", "gpu"], "unknown executor 'gpu'"),
        (["sweep", "toy"], "a sweep needs at least one axis"),
        (["sweep", "toy", "-g", "steps=10,x"], "bad value 'x' for 'steps'"),
        (["show", "nope"], "no store at"),  # reading commands need an existing store
        (["report", "nope", "-o", "r.html"], "no store at"),
        (["export", "-o", "out.xlsx"], "use a .csv, .parquet or .json"),
        (["export", "-o", "/no/such/dir/out.csv"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(run_cli, tmp_path, args, message):
    rc, out, err = run_cli(*args)
    assert rc == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "store" / "runs").exists() or not any((tmp_path / "store" / "runs").iterdir())


def test_help_is_instant_and_lazy():
    code = "import sys, emergelab.cli; print(any(m in sys.modules for m in ('torch', 'pandas', 'duckdb', 'matplotlib')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    # listing the worlds imports every world module: they must keep torch/scipy/pandas lazy
    code = ("import sys; from emergelab.lab.registry import worlds; worlds(); "
            "print([m for m in ('torch', 'pandas', 'scipy', 'duckdb', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    r = subprocess.run([sys.executable, "-m", "emergelab", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "sweep" in r.stdout
