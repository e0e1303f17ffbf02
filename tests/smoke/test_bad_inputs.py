"""Bad input, table-driven: every case gives one clear line, exit code 2 and changes
nothing on disk (CLI), or a UserError (a ValueError) with a precise message (Python API).

The CLI cases run in-process through the real entry point `emergelab.cli.main` (fast); a
few run the console command in a subprocess. Each CLI case snapshots every file and
folder under the test's tmp dir (store and output paths) before and after: name, size and
mtime must be unchanged. The store takes no locks (its catalogue is an atomically replaced
Parquet file, see lab/store.py), so there is no locked-store case.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emergelab.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A store with two toy runs of one sweep (catalogue up to date), built once."""
    from emergelab.lab.store import Store
    from emergelab.lab.sweep import execute, plan, sweep_id

    root = tmp_path_factory.mktemp("template") / "store"
    grid = {"jump_at": ["40", "60"]}
    specs = plan("toy", "quick", {}, grid, None)
    st = Store(root)
    sid = sweep_id("toy", "quick", {}, grid, None)
    st.write_sweep(sid, {"sweep_id": sid, "world": "toy", "preset": "quick", "overrides": {}, "grid": grid,
                         "seeds": None, "run_ids": [s.run_id for s in specs], "created": "2026-01-01T00:00:00"})
    for s in specs:
        execute(s, str(root))
    st.runs()  # the catalogue is written and current
    return root, specs[0].run_id, sid


def _snapshot(folder: Path) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            s = p.lstat()
            out[str(p.relative_to(folder))] = (s.st_size if p.is_file() else None, s.st_mtime_ns)
    return out


def _csv(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def _series_csv(n=80, **cols) -> str:
    t = np.arange(n)
    df = pd.DataFrame({"epoch": t, "loss": np.r_[np.zeros(n // 2), np.ones(n - n // 2)]
                       + 0.05 * np.random.default_rng(0).standard_normal(n), **cols})
    return df.to_csv(index=False)


# Setups: (tmp, store) -> None; they shape the store (or files) a case runs against.
def _populated(tmp, store, t):
    shutil.copytree(t[0], store)


def _corrupt(rel: str, data: bytes | None, stale: bool = False):
    def setup(tmp, store, t):
        _populated(tmp, store, t)
        p = store / rel.format(rid=t[1], sid=t[2])
        if data is None:
            p.unlink()
        else:
            p.write_bytes(data)
        if stale:  # a run folder newer than the catalogue: the next read re-reads it
            d = store / "runs" / t[1]
            s = d.stat()
            os.utime(d, ns=(s.st_atime_ns, s.st_mtime_ns + 1_000_000))
    return setup


def _store_is_file(tmp, store, t):
    store.write_text("not a folder")


def _csvs(tmp, store, t):
    _csv(tmp, "log.csv", _series_csv(word=["a"] * 80, flat=np.ones(80)))
    _csv(tmp, "empty.csv", "")
    _csv(tmp, "header.csv", "epoch,loss\n")
    _csv(tmp, "short.csv", "epoch,loss\n" + "".join(f"{i},{i % 3}\n" for i in range(12)))
    _csv(tmp, "nan.csv", "epoch,loss\n" + "".join(f"{i},{'nan' if i == 7 else i % 3}\n" for i in range(60)))
    _csv(tmp, "blank.csv", "epoch,loss\n" + "".join(f"{i},{'' if i == 9 else i % 3}\n" for i in range(60)))
    _csv(tmp, "inf.csv", "epoch,loss\n" + "".join(f"{i},{'inf' if i == 5 else i % 3}\n" for i in range(60)))
    _csv(tmp, "dup.csv", "epoch,loss\n" + "".join(f"{min(i, 30)},{i % 3}\n" for i in range(60)))
    _csv(tmp, "unsorted.csv", "epoch,loss\n" + "".join(f"{60 - i},{i % 3}\n" for i in range(60)))
    _csv(tmp, "texttime.csv", "epoch,loss\n" + "".join(f"e{i},{i % 3}\n" for i in range(60)))
    _csv(tmp, "nantime.csv", "epoch,loss\n" + "".join(f"{'' if i == 3 else i},{i % 3}\n" for i in range(60)))
    (tmp / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" * 20)
    (tmp / "adir.csv").mkdir()


S = "{store}"
RID, SID, TMP = "{rid}", "{sid}", "{tmp}"

# (id, setup, args, phrase in the error line)
CLI_CASES = [
    # -- worlds, presets, keys, values
    ("unknown-world", None, ["run", "tyo"], "unknown world 'tyo'; did you mean 'toy'?"),
    ("unknown-world-sweep", None, ["sweep", "nosuchworld", "-g", "a=1,2"], "unknown world 'nosuchworld'"),
    ("unknown-world-details", None, ["worlds", "tyo"], "unknown world 'tyo'"),
    ("unknown-preset", None, ["run", "toy", "-p", "quick2"], "unknown preset 'quick2' for world 'toy'; did you mean 'quick'?"),
    ("unknown-key", None, ["run", "toy", "-s", "jmp_at=3"], "unknown key 'jmp_at' of world 'toy'; did you mean 'jump_at'?"),
    ("unknown-key-no-close-match", None, ["run", "toy", "-s", "zzz=3"], "unknown key 'zzz' of world 'toy' (valid keys:"),
    ("int-abc", None, ["run", "toy", "-s", "steps=abc"], "bad value 'abc' for 'steps': expected an integer"),
    ("int-float", None, ["run", "toy", "-s", "steps=10.5"], "bad value '10.5' for 'steps': expected an integer"),
    ("float-abc", None, ["run", "toy", "-s", "noise=abc"], "bad value 'abc' for 'noise': expected a number"),
    ("bool-maybe", None, ["run", "toy", "-s", "flag=maybe"], "bad value 'maybe' for 'flag': expected true or false"),
    ("literal", None, ["run", "toy", "-s", "mode=left"], "bad value 'left' for 'mode': choose one of up, down"),
    ("tuple-item", None, ["run", "toy", "-s", "widths=4,x"], "bad value 'x' for 'widths': expected an integer"),
    ("override-no-equals", None, ["run", "toy", "-s", "steps"], "bad override 'steps': write key=value"),
    ("override-empty-key", None, ["run", "toy", "-s", "=3"], "the key is empty"),
    ("config-validation", None, ["run", "toy", "-s", "steps=5"], "invalid config: steps must be >= 10, got 5"),
    ("world-validation-gard", None, ["run", "gard", "-s", "threshold=1.5"], "threshold must be in (0, 1), got 1.5"),
    ("world-validation-sorting", None, ["run", "sorting_cells", "-s", "algotypes=bogo"], "algotypes must be distinct names"),
    ("world-validation-grokking", None, ["run", "grokking", "-s", "train_fraction=0"], "train_fraction must be in (0, 1)"),
    ("world-validation-induction", None, ["run", "induction_heads", "-s", "seq_len=7"], "seq_len must be even"),
    # -- grids, seeds, jobs, executors
    ("sweep-no-axis", None, ["sweep", "toy"], "a sweep needs at least one axis"),
    ("grid-no-equals", None, ["sweep", "toy", "-g", "jump_at"], "bad grid axis 'jump_at': write key=v1,v2"),
    ("grid-no-values", None, ["sweep", "toy", "-g", "jump_at=,"], "grid axis 'jump_at' has no values"),
    ("grid-unknown-key", None, ["sweep", "toy", "-g", "jmp_at=1,2"], "unknown key 'jmp_at' of world 'toy'"),
    ("grid-bad-value", None, ["sweep", "toy", "-g", "steps=10,x"], "bad value 'x' for 'steps'"),
    ("grid-invalid-config", None, ["sweep", "toy", "-g", "steps=20,5"], "steps must be >= 10, got 5"),
    ("grid-seed-and-seeds", None, ["sweep", "toy", "-g", "seed=1,2", "-n", "2"], "either a grid over 'seed' or --seeds"),
    ("seeds-negative", None, ["run", "toy", "-n", "-1"], "--seeds must be at least 1, got -1"),
    ("seeds-zero-sweep", None, ["sweep", "toy", "-g", "jump_at=30,40", "-n", "0"], "--seeds must be at least 1, got 0"),
    ("jobs-negative", None, ["sweep", "toy", "-g", "jump_at=30,40", "-j", "-2"], "--jobs must be at least 1, got -2"),
    ("jobs-zero", None, ["run", "toy", "-p", "quick", "-j", "0"], "--jobs must be at least 1, got 0"),
    ("executor", None, ["run", "toy", "-x", "gpu"], "unknown executor 'gpu'"),
    ("executor-sweep", None, ["sweep", "toy", "-g", "jump_at=30,40", "-x", "threads"], "unknown executor 'threads'"),
    ("run-report-missing-dir", None, ["run", "toy", "-p", "quick", "-o", TMP + "/no/such/r.html"], "does not exist"),
    ("run-report-is-dir", None, ["run", "toy", "-p", "quick", "-o", TMP], "is a folder: give a file name"),
    # -- unknown ids
    ("show-unknown", _populated, ["show", "nope"], "no run or sweep 'nope'"),
    ("show-ambiguous", _populated, ["show", "toy-"], "is ambiguous"),
    ("report-unknown", _populated, ["report", "nope", "-o", TMP + "/r.html"], "no run or sweep 'nope'"),
    ("export-unknown", _populated, ["export", "nope", "-o", TMP + "/m.csv"], "no run or sweep 'nope'"),
    ("analyze-unknown", _populated, ["analyze", "nope"], "no run or sweep 'nope'"),
    ("runs-unknown-sweep", _populated, ["runs", "--sweep", "sweep-nope"], "no run or sweep 'sweep-nope'"),
    ("analyze-a-sweep", _populated, ["analyze", SID], "is a sweep: analyze its runs one by one"),
    ("analyze-unknown-metric", _populated, ["analyze", RID, "-m", "toy/z"], "no metric 'toy/z' in this run"),
    ("analyze-unknown-at", _populated, ["analyze", RID, "-m", "toy/y", "--at", "toy/q"], "no metric 'toy/q'"),
    # -- output paths and formats
    ("export-format", _populated, ["export", "-o", TMP + "/out.xlsx"], "use a .csv, .parquet or .json"),
    ("export-no-suffix", _populated, ["export", "-o", TMP + "/out"], "use a .csv, .parquet or .json"),
    ("export-what", _populated, ["export", "--what", "sweeps", "-o", TMP + "/o.csv"], "unknown --what 'sweeps'"),
    ("export-missing-dir", _populated, ["export", "-o", TMP + "/no/such/out.csv"], "does not exist: create it"),
    ("export-is-dir", _populated, ["export", "-o", TMP], "is a folder"),
    ("report-missing-dir", _populated, ["report", RID, "-o", TMP + "/no/such/r.html"], "does not exist"),
    ("analyze-out-missing-dir", _csvs, ["analyze", "--csv", TMP + "/log.csv", "-c", "loss", "-o", TMP + "/no/x.csv"], "does not exist"),
    ("analyze-out-format", _csvs, ["analyze", "--csv", TMP + "/log.csv", "-c", "loss", "-o", TMP + "/x.xlsx"], "use a .csv, .parquet or .json"),
    # -- query
    ("query-syntax", _populated, ["query", "SELEC 1"], "query failed: Parser Error"),
    ("query-no-table", _populated, ["query", "SELECT * FROM nope"], "query failed: Catalog Error"),
    ("query-no-column", _populated, ["query", "SELECT nope FROM runs"], "query failed: Binder Error"),
    ("query-empty", _populated, ["query", ""], "query"),
    # -- analyze settings
    ("analyze-neither", None, ["analyze"], "give a RUN id or --csv FILE"),
    ("analyze-both", _csvs, ["analyze", "r", "--csv", TMP + "/log.csv"], "one of the two"),
    ("analyze-column-with-run", _populated, ["analyze", RID, "-c", "loss"], "--column and --time go with --csv"),
    ("analyze-detrend", _csvs, ["analyze", "--csv", TMP + "/log.csv", "-c", "loss", "--detrend", "wavelet"], "unknown detrend method 'wavelet'"),
    ("analyze-null", _csvs, ["analyze", "--csv", TMP + "/log.csv", "-c", "loss", "--null", "garch"], "unknown null model 'garch'"),
    ("analyze-window", _csvs, ["analyze", "--csv", TMP + "/log.csv", "-c", "loss", "--window", "0"], "window must be a fraction in (0, 1)"),
    ("analyze-bandwidth", _csvs, ["analyze", "--csv", TMP + "/log.csv", "-c", "loss", "--bandwidth", "2"], "bandwidth must be a fraction"),
    ("analyze-surrogates", _csvs, ["analyze", "--csv", TMP + "/log.csv", "-c", "loss", "--surrogates", "3"], "n_surrogates must be at least 10"),
    # -- analyze --csv inputs
    ("csv-missing-file", _csvs, ["analyze", "--csv", TMP + "/nope.csv", "-c", "loss"], "no such file"),
    ("csv-is-dir", _csvs, ["analyze", "--csv", TMP + "/adir.csv", "-c", "loss"], "adir.csv"),
    ("csv-no-column-flag", _csvs, ["analyze", "--csv", TMP + "/log.csv"], "--csv needs --column NAME"),
    ("csv-missing-column", _csvs, ["analyze", "--csv", TMP + "/log.csv", "-c", "los"], "no column 'los'"),
    ("csv-missing-time", _csvs, ["analyze", "--csv", TMP + "/log.csv", "-c", "loss", "-t", "step"], "no column 'step'"),
    ("csv-non-numeric", _csvs, ["analyze", "--csv", TMP + "/log.csv", "-c", "word"], "column 'word' has non-numeric values"),
    ("csv-empty-file", _csvs, ["analyze", "--csv", TMP + "/empty.csv", "-c", "loss"], "empty.csv"),
    ("csv-header-only", _csvs, ["analyze", "--csv", TMP + "/header.csv", "-c", "loss"], "too short"),
    ("csv-too-few-rows", _csvs, ["analyze", "--csv", TMP + "/short.csv", "-c", "loss"], "too short for EWS"),
    ("csv-nan", _csvs, ["analyze", "--csv", TMP + "/nan.csv", "-c", "loss"], "column 'loss' has 1 empty, NaN or inf value(s), the first at row 9"),
    ("csv-blank-cell", _csvs, ["analyze", "--csv", TMP + "/blank.csv", "-c", "loss"], "the first at row 11"),
    ("csv-inf", _csvs, ["analyze", "--csv", TMP + "/inf.csv", "-c", "loss"], "empty, NaN or inf"),
    ("csv-constant", _csvs, ["analyze", "--csv", TMP + "/log.csv", "-c", "flat"], "is constant"),
    ("csv-duplicate-time", _csvs, ["analyze", "--csv", TMP + "/dup.csv", "-c", "loss", "-t", "epoch"], "strictly increasing"),
    ("csv-unsorted-time", _csvs, ["analyze", "--csv", TMP + "/unsorted.csv", "-c", "loss", "-t", "epoch"], "strictly increasing"),
    ("csv-text-time", _csvs, ["analyze", "--csv", TMP + "/texttime.csv", "-c", "loss", "-t", "epoch"], "column 'epoch' has non-numeric values"),
    ("csv-nan-time", _csvs, ["analyze", "--csv", TMP + "/nantime.csv", "-c", "loss", "-t", "epoch"], "column 'epoch' has 1 empty"),
    ("csv-binary", _csvs, ["analyze", "--csv", TMP + "/binary.csv", "-c", "loss"], "binary.csv"),
    # -- the store
    ("store-missing-runs", None, ["runs", "--store", TMP + "/nostore"], "no store at"),
    ("store-missing-show", None, ["show", "x", "--store", TMP + "/nostore"], "no store at"),
    ("store-missing-export", None, ["export", "-o", TMP + "/m.csv", "--store", TMP + "/nostore"], "no store at"),
    ("store-missing-query", None, ["query", "SELECT 1", "--store", TMP + "/nostore"], "no store at"),
    ("store-missing-report", None, ["report", "x", "-o", TMP + "/r.html", "--store", TMP + "/nostore"], "no store at"),
    ("store-missing-analyze", None, ["analyze", "x", "--store", TMP + "/nostore"], "no store at"),
    ("store-is-file-runs", _store_is_file, ["runs"], "is a file, not a folder"),
    ("store-is-file-run", _store_is_file, ["run", "toy", "-p", "quick", "-x", "serial"], "is a file, not a folder"),
    ("store-is-file-sweep", _store_is_file, ["sweep", "toy", "-p", "quick", "-g", "jump_at=30,40"], "is a file, not a folder"),
    ("corrupt-config-json", _corrupt("runs/{rid}/config.json", b"{broken", stale=True), ["runs"], "corrupt run folder"),
    ("config-json-no-world", _corrupt("runs/{rid}/config.json", b'{"seed": 1}', stale=True), ["runs"], "corrupt run folder"),
    ("corrupt-config-show", _corrupt("runs/{rid}/config.json", b"{broken"), ["show", RID], "corrupt run folder"),
    ("corrupt-summary-show", _corrupt("runs/{rid}/summary.json", b"[1, 2"), ["show", RID], "corrupt run folder"),
    ("corrupt-summary-runs", _corrupt("runs/{rid}/summary.json", b"\x00\x01", stale=True), ["runs"], "corrupt run folder"),
    ("missing-summary-show", _corrupt("runs/{rid}/summary.json", None), ["show", RID], "incomplete run folder"),
    ("broken-metrics-export", _corrupt("runs/{rid}/metrics.parquet", b"PAR1garbage"), ["export", "-o", TMP + "/m.csv"], "cannot read metrics"),
    ("broken-metrics-query", _corrupt("runs/{rid}/metrics.parquet", b"PAR1garbage"), ["query", "SELECT count(*) FROM metrics"], "query failed"),
    ("broken-metrics-show", _corrupt("runs/{rid}/metrics.parquet", b"garbage"), ["show", RID], "metrics"),
    ("broken-metrics-analyze", _corrupt("runs/{rid}/metrics.parquet", b"garbage"), ["analyze", RID, "-m", "toy/y"], "cannot read metrics"),
    ("broken-metrics-report", _corrupt("runs/{rid}/metrics.parquet", b"garbage"), ["report", RID, "-o", TMP + "/r.html"], "metrics"),
    ("missing-metrics-export", _corrupt("runs/{rid}/metrics.parquet", None), ["export", RID, "-o", TMP + "/m.csv"], "no metrics for run"),
    ("corrupt-sweep-file", _corrupt("sweeps/{sid}.json", b"{"), ["show", SID], "corrupt sweep file"),
    ("corrupt-sweep-runs", _corrupt("sweeps/{sid}.json", b"{"), ["runs", "--sweeps"], "corrupt sweep file"),
]


@pytest.mark.parametrize("setup, args, phrase", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input(run_cli, tmp_path, template, setup, args, phrase):
    store = tmp_path / "store"
    if setup is not None:
        setup(tmp_path, store, template)
    args = [a.format(store=store, rid=template[1], sid=template[2], tmp=tmp_path) for a in args]
    before = _snapshot(tmp_path)
    rc, out, err = run_cli(*args)
    assert rc == 2, (rc, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert phrase.format(tmp=tmp_path) in lines[0], lines[0]
    assert "Traceback" not in out + err and out == "", out
    assert _snapshot(tmp_path) == before  # nothing written, nothing touched


def test_enough_distinct_cases():
    ids = [c[0] for c in CLI_CASES + API_CASES]
    assert len(set(ids)) == len(ids) and len(ids) >= 50


# --------------------------------------------------------------- the real console command

@pytest.mark.parametrize("args, phrase", [
    (["run", "tyo"], "unknown world 'tyo'"),
    (["runs", "--store", "{tmp}/afile"], "is a file, not a folder"),
    (["analyze", "--csv", "{tmp}/x.csv", "-c", "los"], "no column 'los'"),
], ids=["unknown-world", "store-is-file", "csv-column"])
def test_console_command_bad_input(tmp_path, args, phrase):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "x.csv").write_text("loss\n1\n2\n")
    before = _snapshot(tmp_path)
    env = dict(os.environ, EMERGELAB_STORE=str(tmp_path / "store"))
    r = subprocess.run([sys.executable, "-m", "emergelab", *[a.format(tmp=tmp_path) for a in args]],
                       env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2 and r.stdout == "", (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and phrase in r.stderr, r.stderr
    assert _snapshot(tmp_path) == before


# ------------------------------------------------------------------ store: recoverable

def test_corrupt_catalogue_is_rebuilt_silently(run_cli, tmp_path, template):
    shutil.copytree(template[0], tmp_path / "store")
    (tmp_path / "store" / "catalog.parquet").write_bytes(b"PAR1 not really")
    rc, out, err = run_cli("runs")
    assert rc == 0 and err == "" and out.count("toy-") == 2
    assert len(pd.read_parquet(tmp_path / "store" / "catalog.parquet")) == 2


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="POSIX permissions; root writes anywhere")
@pytest.mark.parametrize("args", [["run", "toy", "-p", "quick", "-x", "serial"], ["sweep", "toy", "-g", "jump_at=30,40"]])
def test_unwritable_store(run_cli, tmp_path, args):
    (tmp_path / "store").mkdir()
    os.chmod(tmp_path / "store", 0o555)
    try:
        rc, out, err = run_cli(*args)
        assert rc == 2 and len(err.strip().splitlines()) == 1 and "cannot write to store" in err, err
        assert not any((tmp_path / "store").iterdir())
    finally:
        os.chmod(tmp_path / "store", 0o755)


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux's sysfs: a folder nobody may write")
@pytest.mark.parametrize("args", [["run", "toy", "-p", "quick", "-x", "serial"], ["sweep", "toy", "-g", "jump_at=30,40"]])
def test_store_where_no_folder_can_be_made(run_cli, tmp_path, args):
    rc, out, err = run_cli(*args, "--store", "/sys/kernel/emergelab-test/store")
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1, (out, err)
    assert "cannot write to store /sys/kernel/emergelab-test/store" in err and "Traceback" not in err


# ------------------------------------------------------------------------ Python API

def _world_cfg(world, **over):
    from emergelab.lab.registry import get_world

    return get_world(world).make_config(None, over)


def _store_api(tmp_path, template, fn, prep=None):
    """Call fn(store, run_id) on a copy of the template store; it must write nothing."""
    from emergelab.lab.store import Store

    shutil.copytree(template[0], tmp_path / "store")
    st = Store(tmp_path / "store")
    if prep:
        prep(st, template[1])
    before = _snapshot(tmp_path)
    try:
        return fn(st, template[1])
    finally:
        assert _snapshot(tmp_path) == before


def _m(mod):
    import importlib

    return importlib.import_module(f"emergelab.measures.{mod}")


_x = np.random.default_rng(0).standard_normal(100)
_t = np.arange(100.0)

# (id, callable(tmp_path, template), phrase regex)
API_CASES = [
    # -- world configs
    ("sorting-empty-algotypes", lambda p, t: _world_cfg("sorting_cells", algotypes=""), "algotypes is empty"),
    ("sorting-unknown-algotype", lambda p, t: _world_cfg("sorting_cells", algotypes="bubble,bogo"), "algotypes must be distinct"),
    ("sorting-n-too-small", lambda p, t: _world_cfg("sorting_cells", n=1), "n must be at least"),
    ("sorting-frozen-both", lambda p, t: _world_cfg("sorting_cells", frozen=2, frozen_fraction=0.1), "frozen .a count. or frozen_fraction, not both"),
    ("sorting-levels", lambda p, t: _world_cfg("sorting_cells", levels=1), "levels must be at least 2"),
    ("gard-threshold", lambda p, t: _world_cfg("gard", threshold=1.5), r"threshold must be in \(0, 1\)"),
    ("gard-kf", lambda p, t: _world_cfg("gard", kf=0), "need kf > 0"),
    ("gard-seed-molecules", lambda p, t: _world_cfg("gard", seed_molecules=0), "seed_molecules must be in"),
    ("grokking-train-fraction", lambda p, t: _world_cfg("grokking", train_fraction=1.0), r"train_fraction must be in \(0, 1\)"),
    ("grokking-group", lambda p, t: _world_cfg("grokking", group="Q8x"), "group"),
    ("grokking-betas", lambda p, t: _world_cfg("grokking", betas="0.9,1.5"), "betas must be two numbers"),
    ("grokking-heads", lambda p, t: _world_cfg("grokking", model="transformer", d_model=130, n_heads=4), "divisible by n_heads"),
    ("grokking-device", lambda p, t: _world_cfg("grokking", device="tpu"), "device must be"),
    ("grokking-lr-nan", lambda p, t: _world_cfg("grokking", lr="nan"), "lr and init_scale must be > 0"),
    ("induction-seq-len", lambda p, t: _world_cfg("induction_heads", seq_len=7), "seq_len must be even"),
    ("induction-head-spec", lambda p, t: _world_cfg("induction_heads", ablate="x"), "must be 'layer.head'"),
    ("induction-head-range", lambda p, t: _world_cfg("induction_heads", ablate="9.9"), "out of range"),
    ("induction-clamp-layer0", lambda p, t: _world_cfg("induction_heads", clamp_induction="0.0"), "layer >= 1"),
    ("induction-vocab", lambda p, t: _world_cfg("induction_heads", vocab=2), "too small"),
    ("naming-categories", lambda p, t: _world_cfg("naming_game", n_categories=1), "n_categories"),
    ("referential-holdout", lambda p, t: _world_cfg("referential_game", holdout_fraction=0), "holdout_fraction must be in"),
    ("scales-n-tones", lambda p, t: _world_cfg("scales", n_tones=2), "n_tones must be in 3..16"),
    ("critical-sample-every", lambda p, t: _world_cfg("critical_transition", sample_every=0), "sample_every must be at least 1"),
    ("unknown-world-api", lambda p, t: _world_cfg("tyo"), "unknown world 'tyo'"),
    # -- transitions
    ("transitions-short", lambda p, t: _m("transitions").detect_transitions([1, 2, 3], [0, 0, 1]), "series too short: need at least 8"),
    ("transitions-nan", lambda p, t: _m("transitions").detect_transitions(_t, np.r_[_x[:50], np.nan, _x[51:]]), "values contains 1 NaN/inf value.s., the first at index 50"),
    ("transitions-lengths", lambda p, t: _m("transitions").detect_transitions(_t, _x[:90]), r"different lengths \(100 vs 90\)"),
    ("transitions-2d", lambda p, t: _m("transitions").detect_transitions(_t, np.c_[_x, _x]), r"values must be 1-D, got shape \(100, 2\)"),
    ("transitions-strings", lambda p, t: _m("transitions").detect_transitions(_t, ["a"] * 100), "values must be numeric"),
    ("transitions-unsorted", lambda p, t: _m("transitions").detect_transitions(_t[::-1], _x), "strictly increasing"),
    ("transitions-max", lambda p, t: _m("transitions").detect_transitions(_t, _x, max_transitions=0), "max_transitions must be >= 1"),
    ("transitions-log-steps", lambda p, t: _m("transitions").detect_transitions(_t, _x, log_steps=True), "log_steps=True needs positive steps"),
    ("first-crossing-nan", lambda p, t: _m("transitions").first_crossing(_t, _x, float("nan")), "threshold must be a finite number"),
    ("grokking-delay-lengths", lambda p, t: _m("transitions").grokking_delay(_t, _x, _x[:50]), "different lengths"),
    # -- early warnings
    ("ews-detrend-method", lambda p, t: _m("ews").detrend(_x, "wavelet"), "unknown detrend method 'wavelet'"),
    ("ews-detrend-short", lambda p, t: _m("ews").detrend([1.0, 2.0]), "too short to detrend"),
    ("ews-detrend-3d", lambda p, t: _m("ews").detrend(np.zeros((2, 2, 5))), "x must be 1-D or 2-D"),
    ("ews-rolling-window", lambda p, t: _m("ews").rolling(_x, 80), "series too short for EWS"),
    ("ews-rolling-window-type", lambda p, t: _m("ews").rolling(_x, 1.5), r"window must be a fraction of the series in \(0, 1\]"),
    ("ews-rolling-lag", lambda p, t: _m("ews").rolling(_x, 10, lag=0), "lag must be a whole number"),
    ("ews-rolling-constant", lambda p, t: _m("ews").rolling(np.ones(50), 10), "series is constant"),
    ("ews-indicator", lambda p, t: _m("ews").indicators(_x, which=("var", "entropy")), r"unknown indicator\(s\) \['entropy'\]"),
    ("ews-indicators-nan", lambda p, t: _m("ews").indicators(np.r_[_x, np.nan]), "x contains 1 NaN/inf"),
    ("ews-indicators-index", lambda p, t: _m("ews").indicators(_x, index=range(5)), "index has 5 entries but x has 100"),
    ("ews-surrogates-n", lambda p, t: _m("ews").surrogate_test(_x, n=0), r"n \(surrogates\) must be a whole number >= 1"),
    ("ews-surrogates-null", lambda p, t: _m("ews").surrogate_test(_x, null="garch"), "unknown null model 'garch'"),
    ("ews-kendall-2d", lambda p, t: _m("ews").kendall_trend(np.zeros((3, 3))), "series must be 1-D"),
    ("ews-kendall-rows-1d", lambda p, t: _m("ews").kendall_trend_rows(_x), r"A must be 2-D"),
    ("ews-early-warning-lengths", lambda p, t: _m("ews").early_warning(_t, _x[:-1]), r"different lengths \(100 vs 99\)"),
    ("ews-early-warning-steps", lambda p, t: _m("ews").early_warning(np.zeros(100), _x), "strictly increasing"),
    # -- analysis
    ("analysis-short", lambda p, t: _m("analysis").analyze_series(np.arange(12.0), np.arange(12.0) % 3), "too short for EWS"),
    ("analysis-constant", lambda p, t: _m("analysis").analyze_series(_t, np.ones(100)), "is constant"),
    ("analysis-strings", lambda p, t: _m("analysis").analyze_series(_t, ["x"] * 100), "values must be numeric"),
    ("analysis-lengths-timing", lambda p, t: _m("analysis").analyze_series(_t, _x[:60], timing=(_t, _x)), r"different lengths"),
    ("analysis-settings", lambda p, t: _m("analysis").check_settings(_m("analysis").EWSSettings(window=1.0)), "window must be a fraction"),
    ("analysis-settings-which", lambda p, t: _m("analysis").check_settings(_m("analysis").EWSSettings(which=())), "unknown indicator"),
    # -- language
    ("topsim-too-few", lambda p, t: _m("language").topsim([[0, 1], [1, 0]], [[0], [1]]), "n >= 3"),
    ("topsim-count-mismatch", lambda p, t: _m("language").topsim(np.eye(4), [[0], [1], [2]]), "got 3 messages for 4 meanings"),
    ("topsim-negative-symbol", lambda p, t: _m("language").topsim(np.eye(3), [[0], [-3], [1]]), "non-negative symbols"),
    ("topsim-float-symbol", lambda p, t: _m("language").topsim(np.eye(3), np.array([[0.5], [1], [2]])), "integer symbols"),
    ("topsim-distance", lambda p, t: _m("language").topsim(np.eye(3), [[0], [1], [2]], meaning_distance="cityblock"), "unknown distance"),
    ("topsim-nan-meaning", lambda p, t: _m("language").topsim([[0.0], [np.nan], [1]], [[0], [1], [2]]), "finite"),
    ("posdis-one-attribute", lambda p, t: _m("language").posdis([[0], [1], [2]], [[0], [1], [2]]), "at least 2 attributes"),
    ("mi-lengths", lambda p, t: _m("language").mutual_information([0, 1], [0, 1, 2]), "x and y label 2 and 3 items"),
    ("entropy-empty", lambda p, t: _m("language").entropy([]), "non-empty"),
    ("ari-lengths", lambda p, t: _m("language").adjusted_rand_index([0, 1], [0]), "labellings of 2 and 1 items"),
    ("kappa-empty", lambda p, t: _m("language").cohen_kappa([], []), "labellings of 0 and 0 items"),
    ("powerlaw-too-few", lambda p, t: _m("language").powerlaw_fit([1, 2, 3]), "must be >= 10 positive integers"),
    ("powerlaw-zero", lambda p, t: _m("language").powerlaw_fit([0] + list(range(1, 20))), "drop zero counts"),
    ("powerlaw-xmin", lambda p, t: _m("language").powerlaw_fit(list(range(1, 30)), xmin=29), "xmin=29 leaves fewer"),
    ("meaning-grid", lambda p, t: _m("language").meaning_grid(0, 3), "must be >= 1"),
    ("holdout-fraction", lambda p, t: _m("language").holdout_combinations(np.eye(4), 1.0), r"test_fraction must be in \(0, 1\)"),
    # -- price, sorting, scales, compotypes
    ("price-lengths", lambda p, t: _m("price").price_equation([0, 0, 1], [1.0, 2.0], [1, 1, 1]), "offspring has 3 values but there are 2 individuals"),
    ("price-nan", lambda p, t: _m("price").price_equation([0, 1], [1.0, np.nan], [1, 1]), "NaN/inf"),
    ("price-negative", lambda p, t: _m("price").price_equation([0, 1], [1.0, 2.0], [1, -1]), "offspring counts must be >= 0"),
    ("price-empty", lambda p, t: _m("price").price_equation([], [], []), "population is empty"),
    ("sorting-1-element", lambda p, t: _m("sorting").sortedness([1]), "at least 2 elements"),
    ("sorting-nan", lambda p, t: _m("sorting").monotonicity_error([1.0, np.nan, 2.0]), "NaN/inf"),
    ("sorting-3d", lambda p, t: _m("sorting").sortedness(np.zeros((2, 2, 2))), "1-D .one array. or 2-D"),
    ("scales-no-root", lambda p, t: _m("scales").step_entropy([0, 1, 1, 0]), "lack the root"),
    ("scales-not-binary", lambda p, t: _m("scales").step_entropy([1, 2, 0, 1]), "only 0/1"),
    ("scales-pcs", lambda p, t: _m("scales").scale_from_pcs((0, 12)), "pitch classes must be integers in 0..11"),
    ("scales-entropy-definition", lambda p, t: _m("scales").entropy([1, 0, 1, 0], "shannon"), "unknown entropy definition"),
    ("compotypes-zero-row", lambda p, t: _m("compotypes").similarity_matrix([[0, 0], [1, 1]]), "composition 0 is all zeros"),
    ("compotypes-1d", lambda p, t: _m("compotypes").similarity_matrix([1, 2]), "must be 2-D"),
    ("compotypes-threshold", lambda p, t: _m("compotypes").find_compotypes(np.eye(3) + 1, threshold=2), r"threshold must be in \(0, 1\)"),
    # -- the store
    ("store-is-file", lambda p, t: _m_store().Store(_file(p / "f")), "is a file, not a folder"),
    ("store-missing", lambda p, t: _m_store().open_store(p / "nope", create=False), "no store at"),
    ("store-metrics-unknown", lambda p, t: _store_api(p, t, lambda s, r: s.metrics(["toy-nope"])), "no metrics for run 'toy-nope'"),
    ("store-meta-unknown", lambda p, t: _store_api(p, t, lambda s, r: s.run_meta("toy-nope")), "no run 'toy-nope'"),
    ("store-sweep-unknown", lambda p, t: _store_api(p, t, lambda s, r: s.sweep("sweep-nope")), "no sweep 'sweep-nope'"),
    ("store-query", lambda p, t: _store_api(p, t, lambda s, r: s.query("SELECT FROM")), "query failed"),
    ("store-artefact", lambda p, t: _store_api(p, t, lambda s, r: s.artefact_path(r, "nope")), "has no artefact 'nope'"),
    ("store-update-unknown", lambda p, t: _store_api(p, t, lambda s, r: s.update_run("toy-nope", {})), "no run 'toy-nope'"),
    ("store-broken-metrics", lambda p, t: _store_api(p, t, lambda s, r: s.curves(r), lambda s, r: (s.runs_dir / r / "metrics.parquet").write_bytes(b"x")), "cannot read metrics"),
    ("store-export-format", lambda p, t: _m_store().export_frame(pd.DataFrame({"a": [1]}), p / "x.txt"), "use a .csv, .parquet or .json"),
    ("store-export-dir", lambda p, t: _m_store().export_frame(pd.DataFrame({"a": [1]}), p / "no" / "x.csv"), "does not exist"),
]


def _file(p: Path) -> Path:
    p.write_text("x")
    return p


def _m_store():
    from emergelab.lab import store

    return store


@pytest.mark.parametrize("call, phrase", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_api_bad_input(tmp_path, template, call, phrase):
    before = _snapshot(tmp_path)
    with pytest.raises(UserError, match=phrase) as e:
        call(tmp_path, template)
    assert isinstance(e.value, ValueError) and "\n" not in str(e.value)
    # nothing written (cases on a store copy check it themselves, around the call)
    assert {k for k in _snapshot(tmp_path) if not k.startswith("store")} <= set(before) | {"f"}


# -- probes need torch: one test, imported lazily
def _probe_cases():
    import torch

    pr = _m("probes")
    pat = torch.full((1, 2, 5, 5), 0.2)
    return [
        ("probe-pattern-3d", lambda: pr.previous_token_score(torch.zeros(2, 5, 5)), r"must be \(B, H, T, T\)"),
        ("probe-pattern-not-square", lambda: pr.previous_token_score(torch.zeros(1, 2, 5, 4)), r"must be \(B, H, T, T\)"),
        ("probe-tokens-shape", lambda: pr.prefix_matching_score(pat, torch.zeros(1, 4, dtype=torch.long)), r"tokens must be \(B, T\)"),
        ("probe-no-repeats", lambda: pr.prefix_matching_score(pat, torch.arange(5)[None]), "no token repeats"),
        ("probe-length-1", lambda: pr.previous_token_score(torch.ones(1, 1, 1, 1)), "length >= 2"),
        ("probe-positions", lambda: pr.induction_strength(pat, 7, 0, 4), "correct_pos must be an int"),
        ("probe-icl-shape", lambda: pr.icl_score(torch.zeros(2, 3, 4)), r"must be \(B, T\) or \(T,\)"),
        ("probe-icl-span", lambda: pr.icl_score(torch.zeros(10), early=slice(20, 30)), "selects no valid position"),
        ("probe-copying-shapes", lambda: pr.copying_score(torch.zeros(5, 8), torch.zeros(2, 8), torch.zeros(2, 4, 8), torch.zeros(8, 5)), "W_V must be"),
        ("probe-copying-dims", lambda: pr.copying_score(torch.zeros(5, 6), torch.zeros(2, 8, 4), torch.zeros(2, 4, 8), torch.zeros(8, 5)), "W_E"),
        ("probe-massive-empty", lambda: pr.massive_activation_ratio(torch.zeros(0)), "non-empty"),
    ]


def test_probes_bad_input():
    pytest.importorskip("torch")
    cases = _probe_cases()
    assert len(cases) == 11
    for name, call, phrase in cases:
        with pytest.raises(UserError, match=phrase):
            call()
