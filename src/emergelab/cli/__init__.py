"""The command line: `emergelab worlds | run | sweep | runs | show | report | export | query |
analyze | transcript | llm check | forecast | mirage | graph` (analyze, with its CSV reader, in
`cli/analyze.py`; the language-model commands in `cli/llm.py`; the scaling instruments on a
model family's results in `cli/forecast.py`; the network instruments in `cli/graph.py`).

Every command takes `--store PATH` (or $EMERGELAB_STORE; default ./emergelab-runs).
Bad input prints one line `error: <what is wrong>: <what to do>` and exits with code 2,
having written nothing. Heavy modules (torch, pandas, duckdb, matplotlib) are imported
inside the commands, so `emergelab --help` answers at once.
"""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from emergelab.errors import UserError

app = typer.Typer(
    help="emergelab: a laboratory for emergence. Watch grokking and other emergent phenomena "
    "happen, with the transitions detected, stored and plotted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help renders in a fraction of the time of rich panels
    context_settings={"help_option_names": ["-h", "--help"]},
)

StoreOpt = typer.Option(None, "--store", envvar="EMERGELAB_STORE",
                        help="Run store folder [default: ./emergelab-runs]")  # fmt: skip
SetOpt = typer.Option([], "--set", "-s", help="Override a config field: -s key=value (repeatable).")
PresetOpt = typer.Option(None, "--preset", "-p", help="Named preset, e.g. quick or paper (see `emergelab worlds NAME`).")
JobsOpt = typer.Option(None, "--jobs", "-j", help="Worker processes [default: one per core]; with "
                       "--executor ray --address: the most runs at once [default: every CPU of the cluster].")
ExecOpt = typer.Option("process", "--executor", "-x", help="serial, process or ray.")
AddressOpt = typer.Option(None, "--address", help="With -x ray: the Ray cluster, e.g. auto or HOST:6379 "
                          "[default: $RAY_ADDRESS, else a local instance of --jobs CPUs].")
SharedFsOpt = typer.Option(None, "--ray-shared-fs/--ray-no-shared-fs", show_default=False,
                           help="With -x ray: workers write runs to the store themselves (it must be on "
                           "storage they all mount) / send them back to this machine [default: each "
                           "worker checks whether it sees the store].")
ChunkOpt = typer.Option(None, "--chunk-size", help="With -x ray: runs per Ray task [default: ~4 tasks per CPU].")
ForceOpt = typer.Option(False, "--force", help="Re-run and replace runs already in the store.")
ReportOpt = typer.Option(None, "--report", "-o", help="Also write an HTML report to this file.")


def _console():
    from rich.console import Console

    # markup off: run names, config values and CSV columns are user text, and a "[/x]" in
    # one must print as itself, not crash rich's markup parser; styles go through Text
    return Console(markup=False)


def _styled(*parts):
    """Text from plain strings and (string, style) pairs, never parsed as markup."""
    from rich.text import Text

    return Text.assemble(*parts)


def _store(path):
    """The store of a reading command: it must exist (a mistyped --store is an error, not an
    empty store)."""
    from emergelab.lab.store import open_store

    return open_store(path, create=False)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "—" if v is None else str(v)


def _short_citation(paper: str) -> str:
    """'C. Boettiger, N. Ross (2013), Early warning...; ...' -> 'Boettiger et al. 2013': the first
    paper's first author's surname and year; a paper named without authors gives its title's
    first two words instead."""
    import re

    first = paper.split(";")[0].strip()
    m = re.match(r"\s*(.*?)\s*\((\d{4})\)", first)
    if not m:
        return first[:20]
    who, year = m.group(1), m.group(2)
    if not who or not re.match(r"^(?:[A-Z]\.\s*)+[A-Z]", who):  # no "J. Smith" authors: a title
        words = re.sub(r"\(\d{4}\)", "", first).replace('"', "").strip(" ,").split()
        words = words[:3] if len(" ".join(words[:3])) <= 18 else words[:2]  # 'AI Mother Tongue'
        while len(words) > 1 and words[-1].lower().strip(":,") in ("to", "of", "the", "a", "an", "and", "as", "for"):
            words = words[:-1]  # 'From Grunts', not 'From Grunts to'
        return " ".join(words).strip(":,") + f" {year}"
    authors = [a.strip() for a in re.split(r",|\band\b|&", who) if a.strip()]
    surname = re.sub(r"\s*et al\.?$", "", authors[0]).split()[-1]
    more = len(authors) > 1 or "et al" in who
    return f"{surname}{' et al.' if more else ''} {year}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


@app.command()
def worlds(name: Optional[str] = typer.Argument(None, help="Show one world's config fields and presets.")):
    """List the worlds, one line each: the name to type, a short citation, the effect.
    `emergelab worlds NAME` gives the papers in full, the config fields and the presets."""
    from rich.table import Table

    from emergelab.lab.config import field_docs, type_name
    from emergelab.lab.registry import get_world
    from emergelab.lab.registry import worlds as all_worlds

    con = _console()
    if name is None:
        # Plain aligned lines, not a rich table: a table squeezes every column to fit the terminal
        # and cut the names, the one thing a user must type. Names and citations are kept whole;
        # the effect takes what is left of the line (at most 80 columns) and is cut with "…".
        rows = [(w.name, _clip(_short_citation(w.paper), 24), w.effect) for w in all_worlds().values()]
        width = min(con.width, 80)
        wn = max((len(r[0]) for r in rows), default=0)
        wc = max((len(r[1]) for r in rows), default=0)
        for n, c, e in rows:
            con.print(_clip(f"{n:<{wn}}  {c:<{wc}}  {_clip(e, max(width - wn - wc - 4, 10))}", width),
                      no_wrap=True, overflow="ignore", crop=False)
        con.print(_clip("details: emergelab worlds NAME   run: emergelab run NAME --preset quick", width))
        return
    import dataclasses
    import typing

    w = get_world(name)
    con.print(_styled((w.name, "bold"), f" — {w.effect}\n", (w.paper, "dim")))
    if w.look_for:
        con.print(f"what to look for: {w.look_for}")
    hints = typing.get_type_hints(w.config)
    t = Table(title="config (defaults = the paper's setting)")
    for col in ("key", "type", "default", "doc"):
        t.add_column(col)
    docs = field_docs(w.config)
    own = w.config.__dict__.get("__annotations__", {})
    # the world's own fields first, then those it inherits (e.g. the shared LLM settings)
    for f in sorted(dataclasses.fields(w.config), key=lambda f: f.name not in own):
        t.add_row(f.name, type_name(hints[f.name]), _fmt(f.default), docs[f.name])
    con.print(t)
    for p in w.preset_names():
        over = w.presets.get(p, {})
        con.print(_styled("preset ", (p, "bold"), ": " + (" ".join(f"{k}={v}" for k, v in over.items()) or "(defaults)")))


def _execute(world, preset, sets, grid, seeds, jobs, executor, store_path, force, report, is_sweep,
             address=None, shared_fs=None, chunk_size=None):  # fmt: skip
    """Plan, validate, run, store, summarise: shared by `run` and `sweep`."""
    from emergelab.lab.config import parse_overrides
    from emergelab.lab.executors import SweepInterrupted, check_executor, run_sweep

    check_executor(executor, jobs, address, shared_fs, chunk_size)
    overrides = parse_overrides(sets)
    if report is not None:
        _check_out_path(report)
    con = _console()
    try:
        res = run_sweep(world, preset, overrides, grid, seeds, store_path, executor, jobs, replace=force,
                        record=is_sweep, address=address, shared_fs=shared_fs, chunk_size=chunk_size)  # fmt: skip
    except SweepInterrupted as e:
        con.print(f"\ninterrupted: {e.done} of {e.total} runs complete in {e.root}; "
                  "re-run the same command to resume", soft_wrap=True)  # fmt: skip
        raise typer.Exit(130)
    store, specs = res.store, res.specs
    if res.skipped:
        con.print(f"{len(res.skipped)} run(s) already in the store, skipped (use --force to re-run)")
    _print_results(con, store, specs)
    for rid, err in res.failed.items():
        con.print(_styled(("failed", "red"), f" {rid}: {err}"))
    if report is not None:
        from emergelab.report.html import write_report

        path = write_report(store, res.ref, report)
        con.print(f"report: {path.resolve()}")
    else:
        con.print(f"report: emergelab report {res.ref} -o report.html")
    if res.failed:
        raise typer.Exit(1)


def _print_results(con, store, specs) -> None:
    from rich.table import Table

    t = Table()
    for col in ("run", *specs[0].labels.keys(), "seed", "summary", "transitions"):
        t.add_column(col)
    for s in specs[:50]:
        if not store.has(s.run_id):
            continue
        summ = store.run_meta(s.run_id)["summary"]
        scal = {k: v for k, v in summ.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        trans = []
        for name, ts in summ.get("transitions", {}).items():
            if isinstance(ts, list) and ts:
                mids = ", ".join(f"{x['midpoint']:.0f}" for x in ts)
                trans.append(f"{name} @ {mids}")
        t.add_row(s.run_id, *map(_fmt, s.labels.values()), str(s.seed),
                  " ".join(f"{k}={_fmt(v)}" for k, v in list(scal.items())[:8]), "\n".join(trans) or "none")  # fmt: skip
    con.print(t)
    if len(specs) > 50:
        con.print(f"... and {len(specs) - 50} more: emergelab runs")


@app.command()
def run(
    world: str = typer.Argument(..., help="World name (see `emergelab worlds`)."),
    preset: Optional[str] = PresetOpt,
    set_: List[str] = SetOpt,
    seeds: Optional[int] = typer.Option(None, "--seeds", "-n", help="Run N seeds derived from the config's seed."),
    jobs: Optional[int] = JobsOpt,
    executor: str = ExecOpt,
    address: Optional[str] = AddressOpt,
    shared_fs: Optional[bool] = SharedFsOpt,
    chunk_size: Optional[int] = ChunkOpt,
    force: bool = ForceOpt,
    report: Optional[str] = ReportOpt,
    store: Optional[str] = StoreOpt,
):
    """Run a world (one run, or --seeds N runs), store it and detect its transitions."""
    _execute(world, preset, set_, {}, seeds, jobs, executor, store, force, report, is_sweep=False,
             address=address, shared_fs=shared_fs, chunk_size=chunk_size)  # fmt: skip


@app.command()
def sweep(
    world: str = typer.Argument(..., help="World name (see `emergelab worlds`)."),
    grid: List[str] = typer.Option([], "--grid", "-g", help="A swept axis: -g key=v1,v2,... (repeatable); list values in brackets: -g clamp=(),(a),(a,b)."),
    preset: Optional[str] = PresetOpt,
    set_: List[str] = SetOpt,
    seeds: Optional[int] = typer.Option(None, "--seeds", "-n", help="Seeds per grid point (SeedSequence-derived) "
                                        "[default: 1; none with a grid over seed, e.g. -g seed=0,1,2]."),
    jobs: Optional[int] = JobsOpt,
    executor: str = ExecOpt,
    address: Optional[str] = AddressOpt,
    shared_fs: Optional[bool] = SharedFsOpt,
    chunk_size: Optional[int] = ChunkOpt,
    force: bool = ForceOpt,
    report: Optional[str] = ReportOpt,
    store: Optional[str] = StoreOpt,
):
    """Sweep a world over a grid of overrides × seeds; re-running resumes where it stopped."""
    from emergelab.lab.sweep import parse_grid

    if not grid:
        raise UserError("a sweep needs at least one axis: -g key=v1,v2 (e.g. -g train_fraction=0.2,0.3)")
    axes = parse_grid(grid)
    if seeds is None and "seed" not in axes:
        seeds = 1
    _execute(world, preset, set_, axes, seeds, jobs, executor, store, force, report, is_sweep=True,
             address=address, shared_fs=shared_fs, chunk_size=chunk_size)  # fmt: skip


@app.command()
def runs(
    world: Optional[str] = typer.Option(None, "--world", "-w", help="Only this world."),
    sweep_: Optional[str] = typer.Option(None, "--sweep", help="Only the runs of this sweep."),
    sweeps: bool = typer.Option(False, "--sweeps", help="List sweeps instead of runs."),
    limit: int = typer.Option(50, "--limit", help="Show at most this many (newest last)."),
    store: Optional[str] = StoreOpt,
):
    """List the runs (or sweeps) in the store."""
    from rich.table import Table

    st = _store(store)
    con = _console()
    if sweeps:
        df = st.sweeps()
    else:
        if sweep_:
            sweep_ = st.resolve(sweep_)[1]
        df = st.runs(world=world, sweep=sweep_)
        keep = [c for c in df.columns if c in ("run_id", "world", "preset", "seed", "wall_s", "created")]
        keep += [c for c in df.columns if c.startswith("summary.") and df[c].dtype.kind in "fi"][:4]
        df = df[keep]
    if df.empty:
        con.print(f"no {'sweeps' if sweeps else 'runs'} in {st.root}: try `emergelab run grokking --preset quick`")
        return
    t = Table(title=f"{len(df)} {'sweeps' if sweeps else 'runs'} in {st.root}")
    if "created" in df.columns:
        df = df.assign(created=df["created"].astype(str).str.slice(0, 16).str.replace("T", " "))
    for c in df.columns:
        ids = c in ("run_id", "sweep_id")  # ids must stay whole: people copy them
        t.add_column(c.removeprefix("summary."), no_wrap=ids, min_width=max(len(str(v)) for v in df[c]) if ids else None)
    for row in df.tail(limit).itertuples(index=False):
        t.add_row(*map(_fmt, row))
    con.print(t)


@app.command()
def show(ref: str = typer.Argument(..., help="Run id (or a unique prefix)."), store: Optional[str] = StoreOpt):
    """Show a run: config, summary, transitions, metric names."""
    import json

    st = _store(store)
    kind, rid = st.resolve(ref)
    con = _console()
    if kind == "sweep":
        con.print_json(json.dumps(st.sweep(rid)))
        return
    meta = st.run_meta(rid)
    summ = meta.pop("summary")
    names = sorted(st.metrics([rid])["name"].unique())  # read everything before printing anything
    con.print(_styled((rid, "bold"), f"  world={meta['world']} preset={meta.get('preset')} seed={meta.get('seed')}"))
    con.print("config: " + " ".join(f"{k}={_fmt(v)}" for k, v in meta["config"].items()))
    con.print("summary: " + " ".join(f"{k}={_fmt(v)}" for k, v in summ.items()
                                     if k not in ("transitions", "ews", "forecast", "mirage")))  # fmt: skip
    for name, ts in summ.get("transitions", {}).items():
        if isinstance(ts, dict):
            con.print(f"  {name}: {ts.get('error')}")
        elif not ts:
            con.print(f"  {name}: no transition")
        for x in ts if isinstance(ts, list) else []:
            con.print(f"  {name}: {x['start_level']:.3g} → {x['end_level']:.3g}, onset {x['onset']:.0f}, "
                      f"midpoint {x['midpoint']:.0f}, end {x['end']:.0f} ({x['method']})")  # fmt: skip
    for r in summ.get("ews") or []:
        for e in r["ews"]:
            tests = ", ".join(f"{t['indicator']} τ={t['tau']:.2f} p={t['p_value']:.3f}" for t in e["tests"])
            verdict = {True: "early warning", False: "no early warning", None: e.get("error")}[e["flagged"]]
            con.print(f"  ews {r['metric']} before {r['timing_metric']}: {tests} -> {verdict}")
    con.print("metrics: " + ", ".join(names))


def _check_out_path(path: str) -> None:
    from pathlib import Path

    p = Path(path)
    if not p.parent.exists():
        raise UserError(f"folder {p.parent} does not exist: create it or choose another -o path")
    if p.is_dir():
        raise UserError(f"{p} is a folder: give a file name, e.g. -o report.html")


@app.command()
def report(
    ref: str = typer.Argument(..., help="Run or sweep id (or a unique prefix)."),
    out: str = typer.Option("report.html", "--out", "-o", help="Output HTML file."),
    store: Optional[str] = StoreOpt,
):
    """Write a self-contained HTML report (inline SVG, no network) for a run or a sweep."""
    from emergelab.report.html import write_report

    _check_out_path(out)
    path = write_report(_store(store), ref, out)
    print(f"report: {path.resolve()}")


@app.command()
def export(
    refs: List[str] = typer.Argument(None, help="Runs or sweeps to export [default: all runs]."),
    out: str = typer.Option(..., "--out", "-o", help="Output file: .csv, .parquet or .json."),
    what: str = typer.Option("metrics", "--what", help="metrics (long: run_id, step, name, value) or runs."),
    metric: List[str] = typer.Option([], "--metric", "-m", help="Only these metric names (repeatable)."),
    store: Optional[str] = StoreOpt,
):
    """Export metrics or the run table to CSV, Parquet or JSON."""
    from emergelab.lab.store import check_export_path, export_frame

    if what not in ("metrics", "runs"):
        raise UserError(f"unknown --what '{what}': choose metrics or runs")
    check_export_path(out)
    st = _store(store)
    run_ids = None
    if refs:
        run_ids = []
        for r in refs:
            kind, rid = st.resolve(r)
            run_ids += [x for x in st.sweep(rid)["run_ids"] if st.has(x)] if kind == "sweep" else [rid]
    if what == "runs":
        df = st.runs(run_ids=run_ids)
    else:
        df = st.metrics(run_ids, names=metric or None)
    path = export_frame(df, out)
    print(f"wrote {len(df)} rows to {path}")


@app.command()
def query(sql: str = typer.Argument(..., help="SQL over the views `runs`, `metrics` and `transcripts`."),
          store: Optional[str] = StoreOpt):  # fmt: skip
    """Query the store with DuckDB SQL, e.g. "SELECT name, max(value) FROM metrics GROUP BY name"."""
    import pandas as pd

    df = _store(store).query(sql)
    with pd.option_context("display.max_rows", 200, "display.width", 200):
        print(df.to_string(index=False))


# commands that live in their own module register themselves on `app` when imported
from emergelab.cli import analyze as _analyze  # noqa: E402,F401
from emergelab.cli import llm as _llm  # noqa: E402,F401
from emergelab.cli import forecast as _forecast  # noqa: E402,F401
from emergelab.cli import graph as _graph  # noqa: E402,F401
from emergelab.cli import imports as _imports  # noqa: E402,F401


def main() -> None:
    """Console entry point: UserError -> one line on stderr, exit 2.

    Usage errors (unknown command or option) are reported by typer itself, also with
    exit code 2."""
    try:
        app()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
