"""`emergelab llm check`: is this language model usable, and how fast? `emergelab transcript`:
what the agents of a run said, agent by agent."""

from __future__ import annotations

from typing import Optional

import typer

from emergelab.cli import StoreOpt, _console, _store, _styled, app
from emergelab.errors import UserError

llm_app = typer.Typer(help="Language-model backends: check one before a run.", no_args_is_help=True,
                      rich_markup_mode=None)  # fmt: skip
app.add_typer(llm_app, name="llm")


@llm_app.command("check")
def check(
    backend: str = typer.Option("local", "--backend", "-b", help="local, http or scripted (an echo policy)."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="http: the server's OpenAI-compatible base "
                                           "URL, e.g. http://127.0.0.1:11434/v1 (gives --backend http)."),
    model: str = typer.Option("", "--model", "-m", help="Model name [default: the backend's own]."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env", help="http: the NAME of the environment "
                                    "variable that holds the key ('' for none)."),
    timeout: float = typer.Option(60.0, "--timeout", help="http: seconds to wait for the reply."),
    max_tokens: int = typer.Option(16, "--max-tokens", help="Tokens to generate."),
):
    """Send one short prompt; print backend, model, latency, tokens and tokens/s."""
    import time

    from emergelab.lab.config import make_config
    from emergelab.llm import LLMSettings, Request, make_backend

    if base_url is not None:
        backend = "http"
    over = {"llm": backend, "llm_model": model, "llm_api_key_env": api_key_env, "llm_timeout": timeout}
    if base_url is not None:
        over["llm_base_url"] = base_url
    if max_tokens < 1:
        raise UserError(f"--max-tokens must be at least 1, got {max_tokens}")
    cfg = make_config(LLMSettings, over)
    def hello(req):
        return "hello from the scripted backend"

    be = make_backend(cfg, policy=hello)
    try:
        be.check()
        req = Request(({"role": "user", "content": "Say hello in five words."},), max_tokens=max_tokens)
        t0 = time.perf_counter()
        (raw,) = be.generate([req])
        wall = time.perf_counter() - t0
    finally:
        be.close()
    con = _console()
    con.print(_styled(("ok", "green"), f"  backend={be.name} model={be.model}"))
    con.print(f"reply: {raw.text.strip()!r}")
    rate = raw.tokens_out / wall if wall > 0 else float("inf")
    con.print(f"latency {wall:.2f} s (first call includes loading), tokens in {raw.tokens_in} out {raw.tokens_out}, "
              f"{rate:.1f} tokens/s" + (f", {raw.retries} retries" if raw.retries else ""), soft_wrap=True)  # fmt: skip


@app.command()
def transcript(
    ref: str = typer.Argument(..., help="Run id (or a unique prefix)."),
    agent: Optional[str] = typer.Option(None, "--agent", "-a", help="Only this agent's requests."),
    tag: Optional[str] = typer.Option(None, "--tag", "-t", help="Only requests of this kind, e.g. strategy."),
    full: bool = typer.Option(False, "--full", help="Print every message of each request, not just the last prompt."),
    limit: int = typer.Option(50, "--limit", help="Show at most this many requests."),
    store: Optional[str] = StoreOpt,
):
    """What the language-model agents of a run were asked and answered."""
    import json

    st = _store(store)
    kind, rid = st.resolve(ref)
    if kind != "run":
        raise UserError(f"'{ref}' is a sweep: give one of its runs (emergelab runs --sweep {rid})")
    df = st.transcript(rid)
    for col, val in (("agent", agent), ("tag", tag)):
        if val is not None:
            if val not in set(df[col]):
                known = ", ".join(sorted(set(map(str, df[col])))[:20])
                raise UserError(f"run '{rid}' has no {col} '{val}' (its {col}s: {known})")
            df = df[df[col] == val]
    con = _console()
    for r in df.head(limit).itertuples():
        head = f"#{r.i} step {r.step} {r.agent or '-'} {r.tag or ''}".rstrip()
        flags = [f for f, on in (("cached", r.cached), ("fallback", r.fallback), ("repaired", r.repaired)) if on]
        con.print(_styled((head, "bold"), f"  [{', '.join(flags)}]" if flags else ""))
        msgs = json.loads(r.messages) if full else [{"role": "user", "content": r.prompt}]
        for m in msgs:
            con.print(_styled((f"  {m['role']}: ", "cyan"), m["content"]))
        con.print(_styled(("  reply: ", "green"), r.reply or (f"(failed: {r.error})" if r.error else "")))
        if r.parsed is not None:
            con.print(f"  parsed: {r.parsed}")
    if len(df) > limit:
        con.print(f"... {len(df) - limit} more requests: --limit N, --agent NAME, or "
                  "emergelab query \"SELECT * FROM transcripts\"")  # fmt: skip
