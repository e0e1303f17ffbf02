"""The transcript section of a run report: what each language-model agent was asked and
answered, one collapsible block per agent (everything autoescaped by the template)."""

from __future__ import annotations

_MAX_PER_AGENT, _MAX_AGENTS = 40, 60


def transcript_section(store, run_id: str) -> dict | None:
    """The section, or None for a run without an LLM transcript."""
    from emergelab.errors import UserError
    from emergelab.report.html import _section, _table

    try:
        df = store.transcript(run_id)
    except UserError:
        return None
    if df.empty:
        return None
    agents = list(dict.fromkeys(df["agent"].fillna("").astype(str)))
    details = []
    for agent in agents[:_MAX_AGENTS]:
        rows = df[df["agent"].fillna("").astype(str) == agent]
        items = []
        for r in rows.head(_MAX_PER_AGENT).itertuples():
            flags = [f for f, on in (("cached", r.cached), ("fallback", r.fallback), ("repaired", r.repaired)) if on]
            head = f"#{r.i} · step {r.step}" + (f" · {r.tag}" if r.tag else "") + (f" · {', '.join(flags)}" if flags else "")
            reply = r.reply if r.reply else (f"(failed: {r.error})" if r.error else "")
            parsed = "" if r.parsed is None else f"parsed: {r.parsed}"
            items.append({"head": head, "prompt": r.prompt, "reply": reply, "parsed": parsed})
        more = len(rows) - len(items)
        details.append({"summary": f"{agent or '(no agent)'} — {len(rows)} requests" + (f" ({more} not shown)" if more else ""),
                        "turns": items})  # fmt: skip
    by_tag = df.groupby("tag", dropna=False).agg(requests=("i", "size"), cached=("cached", "sum"),
                                                 fallbacks=("fallback", "sum"), tokens_out=("tokens_out", "sum"))  # fmt: skip
    rows = [[str(t), int(x.requests), int(x.cached), int(x.fallbacks), int(x.tokens_out)] for t, x in by_tag.iterrows()]
    notes = [f"{len(agents) - _MAX_AGENTS} more agents not shown: emergelab transcript {run_id}"] if len(agents) > _MAX_AGENTS else []
    sec = _section("transcript", "Transcript", paragraphs=[
        f"{len(df)} language-model requests ({df['backend'].iloc[0]} backend, model {df['model'].iloc[0]}); "
        f"the full table: emergelab transcript {run_id}, or SELECT * FROM transcripts in emergelab query."],
        tables=[_table(["kind", "requests", "from cache", "fallbacks", "tokens out"], rows)], notes=notes)  # fmt: skip
    sec["details"] = details
    return sec
