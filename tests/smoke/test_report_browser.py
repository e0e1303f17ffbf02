"""The HTML reports in a real browser (headless Chromium through Playwright).

A store is built through the command line with user-supplied strings that carry markup and
script payloads (a config value, metric names, a sweep grid, an early-warning analysis of a
payload-named metric). Each report is then opened from a file:// URL and must: log no
console error and raise no page error, fetch nothing but itself (data: URIs aside), show its
figures (inline SVGs with a nonzero size), never run a payload (no window.__pwned, no
dialog, no injected element) and show every payload as plain text. (`analyze --csv` writes
no HTML, only a terminal table and -o files, so a CSV column name has no page to reach; the
same early-warning section is tested here through a payload-named metric of a run.)

Chromium is Debian's /usr/bin/chromium (`.ci/run` installs it); Playwright only drives it
and never downloads a browser of its own. Without Chromium the tests are skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from emergelab.cli import main

CHROMIUM = os.environ.get("EMERGELAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).is_file(),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)"),
    pytest.mark.timeout(300),
]  # fmt: skip

# Flags that work offline: without the background-networking ones Chromium tries the network.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

# Each payload, if it ever ran, would set window.__pwned, open a dialog, fetch something or
# add an element with id "pwned". None may contain a comma (sweep grids split on commas).
P_SCRIPT = "<script>window.__pwned=1</script>"
P_IMG = "<img src=x onerror=alert(2)>"
P_SVG = '<svg onload=window.__pwned=3><b id="pwned">x</b>'
P_ATTR = '"><img id=pwned src=x onerror=window.__pwned=4>'
P_METRIC = "ews/<img src=y onerror=window.__pwned=5>"
P_IMPORT = "imp/<svg onload=window.__pwned=6>"
PAYLOADS = [P_SCRIPT, P_IMG, P_SVG, P_ATTR, P_METRIC, P_IMPORT]


def _cli(*args: str) -> None:
    old = sys.argv
    sys.argv = ["emergelab", *args]
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code or 0
    finally:
        sys.argv = old
    assert code == 0, f"emergelab {' '.join(args)} exited with {code}"


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, tuple[Path, list[str]]]:
    """{name: (report file, payloads it must show as text)}."""
    from emergelab.lab.store import Store

    d = tmp_path_factory.mktemp("browser")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMERGELAB_STORE", str(d / "store"))
        mp.setenv("COLUMNS", "200")
        # one run: the payload is a config value, a summary string and a metric name
        _cli("run", "toy", "-p", "quick", "-s", f"label={P_SCRIPT}", "-x", "serial",
             "-o", str(d / "run.html"))  # fmt: skip
        # a run whose payload-named metric gets an early-warning analysis (its own report section)
        _cli("run", "toy", "-s", "steps=400", "-s", "jump_at=300", "-s", f"label={P_METRIC}", "-x", "serial")
        st = Store(d / "store")
        runs = st.runs(world="toy")
        rid = runs.loc[runs["config.label"] == P_METRIC, "run_id"].item()
        _cli("analyze", rid, "-m", P_METRIC, "-m", "toy/y", "--surrogates", "20")
        _cli("report", rid, "-o", str(d / "ews.html"))
        # a sweep over payloads: grid values in tables, as tick labels of a figure, and metric names
        _cli("sweep", "toy", "-p", "quick", "-g", f"label={P_IMG},{P_SVG},{P_ATTR}", "-n", "2",
             "-x", "serial", "-o", str(d / "sweep.html"))  # fmt: skip
        # a user's training log (a W&B-style wide table) whose metric name is a payload
        import numpy as np
        import pandas as pd

        steps = np.arange(300)
        pd.DataFrame({"_step": steps, P_IMPORT: 1 / (1 + np.exp(-(steps - 150) / 5.0))}).to_csv(
            d / "history.csv", index=False)
        _cli("import", str(d / "history.csv"), "--name", P_SCRIPT)
        imported = Store(d / "store").runs(world="imported")["run_id"].item()
        _cli("report", imported, "-o", str(d / "imported.html"))
    return {"run": (d / "run.html", [P_SCRIPT]), "ews": (d / "ews.html", [P_METRIC]),
            "sweep": (d / "sweep.html", [P_IMG, P_SVG, P_ATTR]),
            "imported": (d / "imported.html", [P_IMPORT])}  # fmt: skip


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # a fresh profile (--user-data-dir) per session; Playwright adds --headless itself
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=[f for f in FLAGS if f != "--headless"],
        )  # fmt: skip
        try:
            yield ctx
        finally:
            ctx.close()


def _open(ctx, path: Path) -> tuple[object, dict[str, list]]:
    """Load `path`, recording console errors, page errors, requests and dialogs."""
    page = ctx.new_page()
    seen: dict[str, list] = {"console": [], "pageerror": [], "requests": [], "dialogs": []}
    page.on("console", lambda m: m.type in ("error", "warning")
            and seen["console"].append(f"{m.type}: {m.text}"))  # fmt: skip
    page.on("pageerror", lambda e: seen["pageerror"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("dialog", lambda dlg: (seen["dialogs"].append(dlg.message), dlg.dismiss()))
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(300)  # let any deferred handler (onerror of a failed image) fire
    return page, seen


@pytest.mark.parametrize("name", ["run", "ews", "sweep", "imported"])
def test_report_in_chromium(browser, reports, name):
    path, payloads = reports[name]
    html = path.read_text(encoding="utf-8")
    page, seen = _open(browser, path)
    try:
        assert seen["pageerror"] == [], seen["pageerror"]
        assert seen["console"] == [], seen["console"]
        assert seen["dialogs"] == [], f"a payload opened a dialog: {seen['dialogs']}"
        others = [u for u in seen["requests"] if u != path.resolve().as_uri() and not u.startswith("data:")]
        assert others == [], f"the report fetched something: {others}"
        # the payloads stayed text: nothing ran and nothing was injected
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate("document.getElementById('pwned') === null")
        assert page.evaluate("document.scripts.length") == 0
        assert page.evaluate("document.querySelectorAll('[onerror], [onload]').length") == 0
        assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
        text = page.inner_text("body")
        for p in payloads:
            assert p in text, f"payload {p!r} not shown as text in the {name} report"
        # every figure renders: one inline SVG per <figure>, each with a real size
        n_fig = len(re.findall(r"<figure>", html))
        boxes = page.evaluate("""[...document.querySelectorAll('figure > svg')].map(s => {
            const r = s.getBoundingClientRect(); return [r.width, r.height]; })""")
        assert n_fig >= 1 and len(boxes) == n_fig, (n_fig, boxes)
        assert all(w > 100 and h > 50 for w, h in boxes), boxes
        assert page.evaluate("document.querySelectorAll('figure > svg text').length") > 0
        if name == "ews":
            assert "Early warnings" in text and n_fig >= 3  # curves panels + EWS figures
        # ... and inside the figures too: legends (run), axis labels (ews), x tick labels (sweep)
        svg_text = page.evaluate("[...document.querySelectorAll('svg text')].map(t => t.textContent)"
                                 ".join('\\n')")  # fmt: skip
        for p in payloads:
            assert p in svg_text, f"payload {p!r} not shown as text in a figure of the {name} report"
    finally:
        page.close()
