"""The one machine-readable line a benchmark prints per comparison; run_all.py reads it back.

    RESULT {"name": ..., "compared": ..., "lab": ..., "baseline": ..., "unit": ..., "ratio": ...}

`lab` and `baseline` are times in `unit` (lower is faster); ratio = baseline / lab, so above 1
the lab is faster than the plain baseline.
"""

from __future__ import annotations

import json

PREFIX = "RESULT "
KEYS = ("name", "compared", "lab", "baseline", "unit", "ratio")


def print_result(name: str, compared: str, lab: float, baseline: float, unit: str) -> None:
    print(PREFIX + json.dumps({"name": name, "compared": compared, "lab": lab, "baseline": baseline,
                               "unit": unit, "ratio": baseline / lab}), flush=True)  # fmt: skip
