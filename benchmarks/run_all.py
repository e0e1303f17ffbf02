"""Run every benchmark, each in its own process, and print their ratios in one table.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only NAME ...] [--json FILE]

Each benchmarks/*.py script prints its own report, with one machine-readable line per
comparison in it:

    RESULT {"name": ..., "compared": ..., "lab": ..., "baseline": ..., "unit": ..., "ratio": ...}

`lab` and `baseline` are times in `unit` (lower is faster); `ratio` = baseline / lab, so
above 1 means the lab is faster than the plain baseline. --quick passes each script smaller
sizes (QUICK below), for a check that everything still runs rather than for numbers to
quote. The exit code is 1 when a script fails, times out or prints no RESULT line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _result import KEYS, PREFIX  # the RESULT line every benchmark prints

HERE = Path(__file__).resolve().parent

# --quick: each script's own size options, turned down to a few seconds each
QUICK = {
    "activation_probe": ["--rounds", "2", "--steps", "3"],
    "ews_speed": ["--n", "4000", "--surrogate-n", "1000", "--surrogates", "20"],
    "ews_indicators_speed": ["--n", "1000", "--ewstools-n", "400"],
    "ews_vs_ewstools": ["--n", "4000", "--repeats", "2"],
    "network_speed": ["--nodes", "1500", "--random", "3", "--baseline-random", "1"],
    "forecast_speed": ["--quick"],
    "import_speed": ["--quick"],
    "rl_env_speed": ["--quick"],
    "transition_recall": ["--quick"],
    "gard_speed": ["--generations", "300", "--plain-generations", "50"],
    "grokking_speed": ["--epochs", "100", "--repeats", "1"],
    "llm_local": ["--quick"],
    "sorting_speed": ["--quick"],
    "store_ingest": ["--steps", "5000", "--repeat", "2"],
    "sweep_overhead": ["--runs", "12", "--repeats", "1", "--no-ray"],
    "topsim_speed": ["--n", "300"],
    "transformer_step": ["--steps", "2", "--rounds", "3"],
}


def scripts() -> list[Path]:
    me = Path(__file__).name
    return sorted(p for p in HERE.glob("*.py") if p.name != me and not p.name.startswith("_"))


def parse_results(output: str) -> list[dict]:
    out = []
    for line in output.splitlines():
        if line.startswith(PREFIX):
            r = json.loads(line[len(PREFIX) :])
            missing = set(KEYS) - set(r)
            if missing:
                raise ValueError(f"RESULT line without {', '.join(sorted(missing))}: {line}")
            out.append(r)
    return out


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"


def table(rows: list[dict]) -> str:
    cols = ["benchmark", "compared", "lab", "baseline", "unit", "ratio"]
    cells = [[r["name"], r["compared"], _num(r["lab"]), _num(r["baseline"]), r["unit"],
              f"{_num(r['ratio'])}x"] for r in rows]  # fmt: skip
    width = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(cols)]
    right = {2, 3, 5}  # numbers align right

    def line(row):
        return "  ".join(v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(row, width)))

    return "\n".join([line(cols), "  ".join("-" * w for w in width), *map(line, cells)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes: checks that all still run")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="only these, e.g. ews_speed topsim_speed")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per script before it has failed")
    ap.add_argument("--json", metavar="FILE", help="also write the results, failures and outputs as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each script's own report too")
    a = ap.parse_args()

    todo = scripts()
    if a.only:
        unknown = set(a.only) - {p.stem for p in todo}
        if unknown:
            names = ", ".join(p.stem for p in todo)
            ap.error(f"no benchmark {', '.join(sorted(unknown))}: choose from {names}")
        todo = [p for p in todo if p.stem in a.only]
    rows, failed, outputs = [], {}, {}
    t_all = time.perf_counter()
    for p in todo:
        cmd = [sys.executable, str(p), *(QUICK.get(p.stem, []) if a.quick else [])]
        print(f"{p.stem} ...", end=" ", flush=True)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, cwd=HERE.parent)
            output, rc = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as e:
            output = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            output, rc = output + f"\ntimed out after {a.timeout:.0f} s", None
        took = time.perf_counter() - t0
        outputs[p.stem] = output
        try:
            found = parse_results(proc.stdout) if rc == 0 else []
        except ValueError as e:
            found, output = [], f"{output}\n{e}"
        if rc != 0 or not found:
            why = "timed out" if rc is None else f"exit code {rc}" if rc else "no RESULT line"
            failed[p.stem] = why
            print(f"FAILED ({why}, {took:.0f} s); last lines:")
            print("\n".join("    " + s for s in output.strip().splitlines()[-15:]))
            continue
        print(f"{took:.0f} s")
        if a.verbose:
            own = [s for s in proc.stdout.strip().splitlines() if not s.startswith(PREFIX)]
            print("\n".join("    " + s for s in own))
        rows += found
    mode = "quick sizes" if a.quick else "default sizes"
    print(f"\n{len(rows)} comparisons from {len(todo) - len(failed)} of {len(todo)} benchmarks, {mode}, "
          f"{time.perf_counter() - t_all:.0f} s; times in each row's unit (lower is faster), "
          "ratio = baseline / lab (above 1: the lab is faster)\n")  # fmt: skip
    print(table(rows))
    for name, why in failed.items():
        print(f"FAILED {name}: {why}")
    if a.json:
        # outputs: each script's own report, for the numbers the table leaves out
        doc = {"results": rows, "failed": failed, "quick": a.quick, "outputs": outputs}
        Path(a.json).write_text(json.dumps(doc, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
