"""Analysis of a run's curves: transitions of the watched metrics and early-warning signals.

`analyze_curves` runs after every run (the lab calls it before the run is stored);
`analyze_run` re-analyses a stored run with other metrics or settings and writes the
results back, file by file atomically. Both go through the pure functions of
`emergelab.measures`, so a stored run and a user's CSV get exactly the same treatment.
"""

from __future__ import annotations

from typing import Any

from emergelab.errors import UserError
from emergelab.measures.analysis import EWSSettings


def _series(curves, name: str):
    if name not in curves:
        names = ", ".join(map(str, curves.columns))
        raise UserError(f"no metric '{name}' in this run (metrics: {names})")
    s = curves[name].dropna()
    return s.index.to_numpy(), s.to_numpy()


def ews_pairs(world, metrics: list[str] | None = None, at: str | None = None) -> list[tuple[str, str]]:
    """(metric, timing metric) pairs: the user's, else the world's, else none."""
    if metrics:
        return [(m, at or m) for m in metrics]
    return list(getattr(world, "ews", ()) or ()) if world is not None else []


def ews_summary(results: list[dict]) -> dict[str, Any]:
    """Compact, JSON-ready EWS results for summary.json, plus two flat scalars for sweeps:
    ews_transition (a transition was found) and ews_flagged (warnings rose before it; or,
    with no transition, a false alarm)."""
    compact = [{k: v for k, v in r.items() if k != "indicators"} for r in results]
    out: dict[str, Any] = {"ews": compact}
    if results:
        first = results[0]
        out["ews_transition"] = bool(first["transitions"])
        flags = [e["flagged"] for e in first["ews"] if e["flagged"] is not None]
        out["ews_flagged"] = bool(flags[0]) if flags else None
    return out


def ews_frame(results: list[dict]):
    """Long frame (metric, entry, step, indicator, value) of all indicator curves."""
    import pandas as pd

    frames = []
    for r in results:
        f = r["indicators"].copy()
        f.insert(0, "metric", r["metric"])
        frames.append(f)
    cols = ["metric", "entry", "step", "indicator", "value"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def sensitivity_frame(curves, results: list[dict], indicator: str = "ac1"):
    """Long frame (metric, entry, indicator, window, bandwidth, tau): Kendall tau of `indicator`
    over the window x bandwidth grid (measures.ews_uncertainty.sensitivity) on each tested
    stretch, thinned as the test was. Dakos et al. (2012): a warning that holds in one corner
    of the grid only is a choice of settings, not a finding. Stretches that fail are skipped."""
    import pandas as pd

    from emergelab.measures.ews_uncertainty import sensitivity

    frames = []
    for r in results:
        if r["metric"] not in curves:
            continue
        steps, values = _series(curves, r["metric"])
        for k, e in enumerate(r["ews"]):
            if not e.get("tests"):
                continue
            keep = steps < e["until"] if e.get("until") is not None else slice(None)
            try:
                # windows up to half the stretch (the lab's default, and the widest a
                # 2-window minimum allows); bandwidths around ewstools' 0.2
                f = sensitivity(values[keep][:: e.get("thin") or 1], windows=(0.2, 0.3, 0.4, 0.5),
                                bandwidths=(0.05, 0.1, 0.2, 0.3, 0.5), indicator=indicator)
            except UserError:  # too short for the widest window, constant...: no grid
                continue
            frames.append(f.assign(metric=r["metric"], entry=k, indicator=indicator))
    cols = ["metric", "entry", "indicator", "window", "bandwidth", "tau"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def run_ews(curves, pairs: list[tuple[str, str]], settings: EWSSettings) -> list[dict]:
    from emergelab.measures.analysis import analyze_series

    results = []
    for metric, timing in pairs:
        steps, values = _series(curves, metric)
        t = None if timing == metric else _series(curves, timing)
        results.append(analyze_series(steps, values, metric=metric, timing=t, timing_metric=timing,
                                      settings=settings))  # fmt: skip
    return results


def analyze_curves(world, curves) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary additions, artefacts) for a finished run: transitions of the watched
    metrics, the world's own summary, and the EWS pairs the world declares."""
    from emergelab.measures.transitions import detect_transitions

    out: dict[str, Any] = {"transitions": {}}
    for name in world.watch:
        if name not in curves:
            continue
        steps, values = _series(curves, name)
        try:
            # censored=True: a curve that rises from its first logged step (most learning
            # curves) is reported, flagged, rather than shown as "no transition"
            found = detect_transitions(steps, values)
            out["transitions"][name] = [t.to_dict() for t in found]
        except ValueError as e:  # too short / NaN curve: say so in the summary, do not fail the run
            out["transitions"][name] = {"error": str(e)}
    if world.summarize is not None:
        out.update(world.summarize(curves))
    artefacts = {}
    pairs = [(m, a) for m, a in ews_pairs(world) if m in curves and a in curves]
    if pairs:
        results = run_ews(curves, pairs, EWSSettings())
        out.update(ews_summary(results))
        artefacts["ews_indicators"] = ews_frame(results)
        artefacts["ews_sensitivity"] = sensitivity_frame(curves, results)
    return out, artefacts


def analyze_run(store, run_id: str, metrics: list[str] | None = None, at: str | None = None,
                settings: EWSSettings = EWSSettings(), save: bool = True) -> list[dict]:  # fmt: skip
    """EWS of a stored run (the user's metrics, else the world's pairs, else its watched
    metrics), written back into the run's summary and artefacts when `save`."""
    from emergelab.lab.recorder import jsonable
    from emergelab.lab.registry import worlds

    meta = store.run_meta(run_id)
    world = worlds().get(meta["world"])
    pairs = ews_pairs(world, metrics, at)
    if not pairs and world is not None:
        pairs = [(m, at or m) for m in world.watch]
    if not pairs:
        raise UserError(f"run '{run_id}' has no default metrics to analyze: pass --metric NAME")
    results = run_ews(store.curves(run_id), pairs, settings)
    if save:
        summary = {k: v for k, v in meta["summary"].items() if k not in ("ews", "ews_transition", "ews_flagged")}
        summary.update(ews_summary(results))
        store.update_run(run_id, jsonable(summary), {"ews_indicators": ews_frame(results),
                                                     "ews_sensitivity": sensitivity_frame(store.curves(run_id), results)})
    return results
