"""MLflow tracking folders (mlruns/) -> metric histories, read from the plain files.

The file store's layout is plain text, documented and stable since MLflow 1.0:

    mlruns/<experiment_id>/meta.yaml                   name, lifecycle_stage
    mlruns/<experiment_id>/<run_id>/meta.yaml          run_id, run_name, lifecycle_stage
    mlruns/<experiment_id>/<run_id>/tags/mlflow.runName
    mlruns/<experiment_id>/<run_id>/metrics/<name>     lines "timestamp value step"

(a metric name with slashes is a nested path under metrics/; files of MLflow < 1.0 have no
step column: their points count as step 0, 1, 2... in file order). The files are read
directly rather than through the mlflow client: mlflow-skinny pulls ~25 packages
(databricks-sdk, fastapi, cryptography...) and MLflow 3 refuses to open a file store unless
MLFLOW_ALLOW_FILE_STORE=true; reading a dozen text files needs none of that. Values are
written with Python's repr, so they parse back to the same float64 exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emergelab.errors import UserError


def _meta(path: Path) -> dict[str, str]:
    """The top-level `key: value` lines of an MLflow meta.yaml (all it needs; no PyYAML)."""
    out = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return out
    for line in text.splitlines():
        if line[:1].isspace() or ":" not in line:
            continue
        k, _, v = line.partition(":")
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] == "'":
            v = v[1:-1].replace("''", "'")
        elif len(v) >= 2 and v[0] == v[-1] == '"':
            v = v[1:-1]
        out[k.strip()] = v
    return out


def is_run_dir(d: Path) -> bool:
    return (d / "meta.yaml").is_file() and (d / "metrics").is_dir()


def looks_like_mlflow(root: Path) -> bool:
    if not root.is_dir():
        return False
    if is_run_dir(root) or (root / "meta.yaml").is_file():
        return True
    return any((c / "meta.yaml").is_file() for c in root.iterdir() if c.is_dir())


def run_dirs(root: Path) -> list[Path]:
    """Run folders under `root`: a run, an experiment, or a whole mlruns/ folder."""
    if is_run_dir(root):
        return [root]
    found = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):  # .trash
        if is_run_dir(d):
            found.append(d)
        elif (d / "meta.yaml").is_file():  # an experiment folder
            found += [r for r in sorted(d.iterdir()) if r.is_dir() and is_run_dir(r)]
    return found


def _history(f: Path, name: str, label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, values, wall times in s) of one metrics/<name> file, parsed in array ops."""
    try:
        text = f.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read MLflow metric file {f} ({e}): check the file") from None
    if not text.strip():
        return np.empty(0, np.int64), np.empty(0), np.empty(0)
    tokens = np.array(text.split())
    width = len(text.split("\n", 1)[0].split())  # 3: timestamp value step; 2: MLflow < 1.0
    if width not in (2, 3) or tokens.size % width:
        raise UserError(f"MLflow metric file {f} is not 'timestamp value step' lines: the run '{label}' "
                        "is damaged; fix or remove that metric file")  # fmt: skip
    try:
        cols = tokens.reshape(-1, width)
        wall = cols[:, 0].astype(np.int64) / 1000.0  # ms since the epoch
        values = cols[:, 1].astype(np.float64)
        steps = cols[:, 2].astype(np.int64) if width == 3 else np.arange(len(cols), dtype=np.int64)
    except ValueError:
        raise UserError(f"MLflow metric file {f} has a malformed line: the run '{label}' is damaged; "
                        "fix or remove that metric file") from None  # fmt: skip
    return steps, values, wall


def read_mlflow(root: Path) -> tuple[list[tuple[str, dict]], list[str]]:
    """[(run label 'experiment/run name', columns)], notes."""
    if not root.is_dir():
        raise UserError(f"{root} is not a folder: --mlflow wants an mlruns/ folder, an experiment or a run folder")
    dirs = run_dirs(root)
    if not dirs:
        raise UserError(f"no MLflow runs under {root} (no run folders with meta.yaml and metrics/): point at "
                        "your mlruns/ folder, one experiment in it, or one run")  # fmt: skip
    notes: list[str] = []
    out = []
    labels: dict[str, int] = {}
    for d in dirs:
        meta = _meta(d / "meta.yaml")
        if meta.get("lifecycle_stage") == "deleted":
            notes.append(f"run {d.name} is deleted in MLflow; skipped")
            continue
        tag = d / "tags" / "mlflow.runName"
        name = tag.read_text(encoding="utf-8").strip() if tag.is_file() else meta.get("run_name") or d.name
        exp = _meta(d.parent / "meta.yaml").get("name") if (d.parent / "meta.yaml").is_file() else None
        label = f"{exp}/{name}" if exp else name
        if label in labels:  # MLflow allows equal run names: keep them apart by run id
            label = f"{label}@{d.name[:8]}"
        labels[label] = 1
        parts = []
        for f in sorted((d / "metrics").rglob("*")):
            if f.is_file():
                metric = f.relative_to(d / "metrics").as_posix()
                s, v, w = _history(f, metric, label)
                parts.append((metric, s, v, w))
        if not parts or not sum(len(p[1]) for p in parts):
            notes.append(f"run '{label}' has no metrics; skipped")
            continue
        out.append((label, {
            "step": np.concatenate([p[1] for p in parts]),
            "name": np.repeat(np.array([p[0] for p in parts], dtype=object), [len(p[1]) for p in parts]),
            "value": np.concatenate([p[2] for p in parts]),
            "wall_time": np.concatenate([p[3] for p in parts]),
            "mlflow_run_id": meta.get("run_id") or d.name,
        }))  # fmt: skip
    if not out:
        raise UserError(f"no MLflow run with metrics under {root}: log metrics with mlflow.log_metric first")
    return out, notes
