"""The HTML report: one self-contained file for a run or a sweep.

A report is a list of sections (text, inline-SVG figures, tables) rendered by one jinja2
template with autoescaping on; the only markup that bypasses escaping is the SVG that
`figures.to_svg` produced. No external links, scripts, fonts or images: the file is
something you can mail, archive or open offline years later.
"""

from __future__ import annotations

import json
import math
import numbers
import time
from pathlib import Path
from typing import Any

from emergelab.errors import UserError

_SPLITS = ["train", "val", "valid", "validation", "test", "eval"]  # namespaces that are data splits
_KIND_PANELS = ["acc", "accuracy", "loss"]  # kinds shown across namespaces, in this order
_MAX_PANELS, _MAX_PER_PANEL = 12, 8
_MAX_SWEEP_FIGS, _MAX_ROWS = 6, 500


# -- small helpers ------------------------------------------------------------------------
def _fmt(v: Any) -> str:
    """A value as a short, readable string."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v):
            return "—"
        if v.is_integer() and abs(v) < 1e12:
            return str(int(v))
        return f"{v:.4g}"
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, default=str)
    if hasattr(v, "item"):  # numpy / pandas scalars
        return _fmt(v.item())
    return str(v)


def _num(v: Any) -> bool:
    """A real number worth showing as one (not a bool, not NaN)."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and not math.isnan(v)


def _step(v: Any) -> str:
    return "?" if v is None else f"{round(float(v)):d}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _table(columns: list[str] | None, rows: list[list], caption: str = "", row_cls: list | None = None):
    """Rows of values -> the template's table; columns=None makes a key/value table."""
    out = []
    for i, r in enumerate(rows):
        cells = [{"text": c if isinstance(c, str) else _fmt(c), "cls": "num" if _num(c) else ""} for c in r]
        out.append({"cells": cells, "cls": row_cls[i] if row_cls else ""})
    return {"columns": columns, "rows": out, "caption": caption}


def _section(id: str, title: str, paragraphs=(), figures=(), tables=(), notes=(), progress=None) -> dict:
    return {"id": id, "title": title, "paragraphs": list(paragraphs), "figures": list(figures),
            "tables": list(tables), "notes": list(notes), "progress": progress, "details": []}  # fmt: skip


def _figure(fig, caption: str = "") -> dict:
    from markupsafe import Markup

    from emergelab.report.figures import to_svg

    return {"svg": Markup(to_svg(fig)), "caption": caption}


def _render(title: str, subtitle: str, sections: list[dict]) -> str:
    import jinja2

    from emergelab import __version__

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )  # fmt: skip
    return env.get_template("report.html.j2").render(
        title=title, subtitle=subtitle, sections=sections, version=__version__,
        generated=time.strftime("%Y-%m-%d %H:%M:%S%z"),
    )  # fmt: skip


def _world_line(name: str) -> str:
    """'effect — paper' of a registered world, or '' (a report must not fail over it)."""
    try:
        from emergelab.lab.registry import worlds

        w = worlds().get(name)
    except Exception:  # a world that fails to import is that world's bug, not the report's
        return ""
    return f"{w.effect} — {w.paper}" if w else ""


def _world_sweep_section(name: str, store, runs, grid: dict) -> dict | None:
    """The world's own sweep analysis (World.sweep_section), or None when it has none or
    no run is complete yet."""
    from emergelab.lab.registry import worlds

    w = worlds().get(name)
    if w is None or w.sweep_section is None or not len(runs):
        return None
    return w.sweep_section(store, runs, grid)


# -- runs ---------------------------------------------------------------------------------
def group_metrics(names: list[str]) -> list[tuple[str, list[str]]]:
    """Panels of metrics: one per kind across data splits (*/acc, */loss, ...), then one per
    other namespace (weight/*, li2/*), then the names without a namespace."""

    def split_order(n: str) -> tuple:
        ns = n.split("/", 1)[0]
        return (_SPLITS.index(ns) if ns in _SPLITS else len(_SPLITS), n)

    kinds: dict[str, list[str]] = {}
    spaces: dict[str, list[str]] = {}
    loose: list[str] = []
    for n in sorted(names):
        if "/" not in n:
            loose.append(n)
            continue
        ns, kind = n.split("/", 1)[0], n.rsplit("/", 1)[1]
        if ns in _SPLITS or kind.lower() in _KIND_PANELS:
            kinds.setdefault(kind, []).append(n)
        else:
            spaces.setdefault(ns, []).append(n)
    first = [k for k in _KIND_PANELS if k in kinds]
    panels = [(f"*/{k}", sorted(kinds[k], key=split_order)) for k in first + sorted(set(kinds) - set(first))]
    panels += [(f"{ns}/*", v) for ns, v in sorted(spaces.items())]
    if loose:
        panels.append(("other", loose))
    out = []  # long panels are split so that a legend stays readable
    for title, group in panels:
        chunks = [group[i : i + _MAX_PER_PANEL] for i in range(0, len(group), _MAX_PER_PANEL)]
        for j, c in enumerate(chunks):
            out.append((title if len(chunks) == 1 else f"{title} ({j + 1}/{len(chunks)})", c))
    return out


def _what_happened(summary: dict, curves) -> list[str]:
    """Plain sentences from the detected transitions and the world's own summary."""
    out = []
    for name, found in (summary.get("transitions") or {}).items():
        if isinstance(found, dict):
            out.append(f"{name}: transitions not analysed ({found.get('error', 'unknown error')}).")
            continue
        if not found:
            s = curves[name].dropna() if name in curves.columns else []
            span = f" (it went from {_fmt2(s.iloc[0])} to {_fmt2(s.iloc[-1])})" if len(s) else ""
            out.append(f"{name} showed no sharp transition{span}.")
            continue
        for i, t in enumerate(found):
            a, b = t.get("start_level"), t.get("end_level")
            verb = "changed" if a is None or b is None else ("rose" if b >= a else "fell")
            levels = f" from {_fmt2(a)} to {_fmt2(b)}" if a is not None and b is not None else ""
            again = " then" if i else ""
            # a censored change was already under way at the first logged step (or still at the last)
            unseen = {"left": "; already under way at the first logged step",
                      "right": "; still under way at the last logged step"}
            unseen = unseen.get(t.get("censored") or "", "")
            out.append(f"{name}{again} {verb}{levels} between step {_step(t.get('onset'))} and "
                       f"{_step(t.get('end'))} (midpoint {_step(t.get('midpoint'))}{unseen}).")  # fmt: skip
    if "grokking_delay" in summary:
        d = summary["grokking_delay"]
        if _num(d):
            out.append(f"The grokking delay was {_step(d)} steps: validation accuracy reached 0.95 that long "
                       "after training accuracy reached 0.99.")  # fmt: skip
        else:
            out.append("Validation accuracy never reached 0.95 within the run: no grokking.")
    # summary values named *_step are the steps at which the world saw something happen
    steps = {k.removesuffix("_step").replace("_", " "): v for k, v in summary.items()
             if k.endswith("_step") and (_num(v) or v is None)}  # fmt: skip
    if steps:
        said = [f"{k} at step {_step(v)}" if v is not None else f"{k} never reached"
                for k, v in steps.items()]  # fmt: skip
        out.append("Milestones: " + "; ".join(said) + ".")
    return out or ["No transitions were analysed for this run."]


def _fmt2(v: Any) -> str:
    """Two decimals for levels such as accuracies (and no '-0.00' for a tiny negative)."""
    if not (_num(v) and abs(v) < 1e4):
        return _fmt(v)
    return f"{v:.2f}".replace("-0.00", "0.00")


def run_report(store, run_id: str) -> str:
    """The HTML report of one run."""
    from emergelab.report.figures import curves_figure

    meta = store.run_meta(run_id)
    summary = meta.get("summary", {})
    trans = summary.get("transitions") or {}
    curves = store.curves(run_id)
    world = meta.get("world", "?")

    text = _section("summary-text", "What happened", paragraphs=_what_happened(summary, curves))
    world_line = _world_line(world)
    if world_line:
        text["paragraphs"].insert(0, world_line)

    panels = group_metrics([str(c) for c in curves.columns])
    figs = [_figure(curves_figure(curves, names, trans, title), caption=", ".join(names))
            for title, names in panels[:_MAX_PANELS]]  # fmt: skip
    notes = [f"{len(panels) - _MAX_PANELS} more panels not shown."] if len(panels) > _MAX_PANELS else []
    sections = [text, _section("curves", "Curves", figures=figs, notes=notes)]

    rows, errs = [], []
    for name, found in trans.items():
        if isinstance(found, dict):
            errs.append(f"{name}: {found.get('error')}")
            continue
        for t in found:
            at = [_step(t.get(k)) for k in ("onset", "midpoint", "end")]  # steps read best as integers
            rest = [t.get(k) for k in ("start_level", "end_level", "height", "sharpness", "method", "r2")]
            rows.append([name, *at, *rest, t.get("censored") or ""])  # summaries before the flag: ""
    tcols = ["metric", "onset", "midpoint", "end", "from", "to", "height", "sharpness", "method", "r²",
             "censored"]
    sections.append(_section("transitions", "Transitions", tables=[_table(tcols, rows)] if rows else [],
                             paragraphs=[] if rows else ["No transition detected."], notes=errs))  # fmt: skip

    from emergelab.report.ews import run_section

    ews = run_section(store, run_id, summary, curves)
    if ews is not None:
        sections.append(ews)
    from emergelab.report.scaling import run_section as scaling_section

    across = scaling_section(store, run_id, summary)
    if across is not None:
        sections.append(across)
    from emergelab.report.networks import run_section as network_section

    net = network_section(store, run_id, summary)
    if net is not None:
        sections.append(net)
    scal = [[k, v] for k, v in summary.items() if k not in ("transitions", "ews", "forecast", "mirage", "graph")]
    sections.append(_section("scalars", "Summary", tables=[_table(["name", "value"], scal)]))
    from emergelab.report.transcript import transcript_section

    tr = transcript_section(store, run_id)
    if tr is not None:
        sections.append(tr)

    overrides = meta.get("overrides") or {}
    cfg = list((meta.get("config") or {}).items())
    sections.append(_section("config", "Config", tables=[_table(
        ["key", "value"], cfg, caption="bold: set by an override" if overrides else "",
        row_cls=["hl" if k in overrides else "" for k, _ in cfg])]))  # fmt: skip

    wall = summary.get("wall_s")
    prov = [["run id", run_id], ["world", world], ["preset", meta.get("preset")], ["seed", meta.get("seed")],
            ["config hash", meta.get("config_hash")], ["created", meta.get("created")],
            ["host", meta.get("host")], ["emergelab version", meta.get("emergelab_version")],
            ["wall time", f"{wall:.2f} s" if _num(wall) else None]]  # fmt: skip
    sections.append(_section("provenance", "Provenance", tables=[_table(None, prov)]))
    preset = meta.get("preset")
    sub = f"run of world '{world}', " + (f"preset '{preset}'" if preset else "default config")
    return _render(f"{world} — {run_id}", sub, sections)


# -- sweeps -------------------------------------------------------------------------------
def _sweep_metrics(runs) -> list[str]:
    """Numeric summary columns worth plotting, most meaningful first: delays and steps of
    events, then final accuracies, then anything else that varies."""
    import pandas as pd

    def rank(name: str) -> int:
        n = name.lower()
        if n.endswith("_delay") or "grok" in n:
            return 0
        if n.endswith("_step"):
            return 1
        if "acc" in n:
            return 2
        return 3

    picked = []
    # wall time is listed in the runs table; as a figure it says little about the science
    # (ews_* flags have their own section: detection and false-alarm rates)
    for col in [c for c in runs.columns
                if c.startswith("summary.") and c != "summary.wall_s" and not c.startswith("summary.ews_")]:
        name = col.removeprefix("summary.")
        y = pd.to_numeric(runs[col], errors="coerce")
        if runs[col].notna().any() and y.isna().all() and runs[col].dtype == object:
            continue  # text values (e.g. a status string): nothing to plot
        # a metric that never varies says nothing about the grid, unless it is an event
        # time whose absence (NaN) is itself the finding
        if rank(name) > 1 and y.nunique(dropna=False) <= 1:
            continue
        picked.append(name)
    return sorted(picked, key=lambda n: (rank(n), n))


def sweep_report(store, sweep_id: str) -> str:
    """The HTML report of one sweep: its plan, progress, figures and runs."""
    from emergelab.report.figures import sweep_figure

    spec = store.sweep(sweep_id)
    planned = list(spec.get("run_ids", []))
    runs = store.runs(sweep=sweep_id)
    done = set(runs["run_id"])
    world, grid = spec.get("world", "?"), spec.get("grid") or {}

    plan = [["world", world], ["preset", spec.get("preset")], ["overrides", spec.get("overrides") or {}]]
    plan += [[f"grid: {k}", ", ".join(map(str, v))] for k, v in grid.items()]
    shown_keys = {"world", "preset", "overrides", "grid", "run_ids"}
    plan += [[k, v] for k, v in spec.items() if k not in shown_keys]
    n_done = sum(r in done for r in planned)
    pct = round(100 * n_done / len(planned)) if planned else 100
    progress = f"{n_done} of {len(planned)} planned runs complete."
    sections = [_section("plan", "Sweep", paragraphs=[p for p in [_world_line(world)] if p],
                         tables=[_table(None, plan)]),
                _section("progress", "Progress", paragraphs=[progress], progress=pct)]  # fmt: skip

    metrics = _sweep_metrics(runs) if len(runs) else []
    params = [k for k in grid if f"config.{k}" in runs.columns]
    figs = []
    for m in metrics:  # metric-major: the most meaningful metric gets a figure per parameter first
        for p in params:
            if len(figs) < _MAX_SWEEP_FIGS:
                figs.append(_figure(sweep_figure(runs, p, m), caption=f"{m} against {p}; dots are runs."))
    notes = []
    if not grid:
        notes.append("This sweep has no grid (seeds only): no parameter to plot against.")
    elif not len(runs):
        notes.append("No run of this sweep is complete yet.")
    elif not metrics:
        notes.append("The runs have no numeric summary values to plot.")
    sections.append(_section("figures", "Figures", figures=figs, notes=notes))
    from emergelab.report.ews import sweep_section

    ews = sweep_section(runs, grid)
    if ews is not None:
        sections.append(ews)
    own = _world_sweep_section(world, store, runs, grid)
    if own is not None:
        sections.append(own)

    shown = metrics[:4]
    cols = ["run id", *grid, "seed", *shown, "wall s", "status"]
    by_id = {r["run_id"]: r for r in runs.to_dict("records")}
    rows, cls = [], []
    for rid in planned[:_MAX_ROWS]:
        r = by_id.get(rid)
        if r is None:
            rows.append([rid, *[""] * (len(grid) + 1 + len(shown) + 1), "not yet run"])
            cls.append("muted")
            continue
        rows.append([rid, *[r.get(f"config.{k}") for k in grid], r.get("seed"),
                     *[r.get(f"summary.{m}") for m in shown], r.get("wall_s"), "complete"])  # fmt: skip
        cls.append("")
    more = [f"{len(planned) - _MAX_ROWS} more runs not listed."] if len(planned) > _MAX_ROWS else []
    missing = [r for r in planned if r not in done]
    if missing:
        more.insert(0, f"{_plural(len(missing), 'planned run')} not yet run: re-run the sweep to finish it.")
    sections.append(_section("runs", "Runs", tables=[_table(cols, rows, row_cls=cls)], notes=more))
    seeds = _plural(spec.get("seeds") or 1, "seed")
    sub = f"{world} × {' × '.join(grid) or 'no grid'} × {seeds} — {n_done}/{len(planned)} runs"
    return _render(f"Sweep {sweep_id}", sub, sections)


# -- writing ------------------------------------------------------------------------------
def write_report(store, ref: str, out_path=None) -> Path:
    """Resolve `ref` (a run or sweep id, or a unique prefix), build its report and write it
    atomically to `out_path` (default `<id>.html`; a folder gets `<id>.html` inside). The
    page is built fully in memory first, so an error leaves nothing on disk."""
    from emergelab.lab.store import atomic_write

    kind, ident = store.resolve(ref)
    out = Path(out_path) if out_path is not None else Path(f"{ident}.html")
    if out.is_dir():
        out = out / f"{ident}.html"
    if not out.parent.is_dir():
        raise UserError(f"folder {out.parent} does not exist: create it or choose another -o path")
    page = run_report(store, ident) if kind == "run" else sweep_report(store, ident)
    atomic_write(out, lambda p: p.write_text(page, encoding="utf-8"))
    return out
