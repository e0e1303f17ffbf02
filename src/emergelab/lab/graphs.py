"""A user's graph, whatever the file, through the network instruments.

Readers: an edge-list CSV/TSV/TXT (source and target columns, optional numeric weight; read by
lab/tables.py, node names as written: "NA" is a node), GraphML (igraph's reader), GEXF
(networkx's reader: igraph has none), or a stored run whose artefact `graph_edges` holds the
edge frame (source, target[, relation, weight]) — what the knowledge_graph world stores.
Every reader ends in one cleaned igraph.Graph with notes of what was dropped (self-loops,
multi-edges), so the errors and the analysis are the same whatever the source. `analyze_graph`
is what `emergelab graph` prints, stores and plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emergelab.errors import UserError

EDGE_LIST_FORMATS = ("csv", "tsv", "txt")  # lab/tables.py's names; .txt: separator sniffed
_XML = (".graphml", ".gexf")
_SOURCES = ("source", "src", "from", "u", "head", "node1")
_TARGETS = ("target", "dst", "to", "v", "tail", "node2")


@dataclass
class UserGraph:
    graph: Any                     # igraph.Graph, simple (no loops, no multi-edges)
    weights: np.ndarray | None     # (m,) per edge of `graph`, or None
    notes: list[str] = field(default_factory=list)


def _pick(cols: list[str], wanted: str | None, names: tuple, fallback: str, path) -> str:
    """The column the user named, else one with a usual name, else `fallback` (by position)."""
    if wanted is not None:
        if wanted not in cols:
            raise UserError(f"no column '{wanted}' in {path} (columns: {', '.join(cols)})")
        return wanted
    return next((c for c in cols if c.lower() in names), fallback)


def _from_frame(df, path, directed: bool, source=None, target=None, weight=None) -> UserGraph:
    import pandas as pd

    from emergelab.measures.networks import as_graph

    cols = [str(c) for c in df.columns]
    if len(cols) < 2:
        raise UserError(f"{path} has {len(cols)} column(s): an edge list needs a source and a target column")
    s = _pick(cols, source, _SOURCES, cols[0], path)
    t = _pick(cols, target, _TARGETS, cols[1] if cols[1] != s else cols[0], path)
    if s == t:
        raise UserError(f"source and target are the same column '{s}' in {path}: name them with --source/--target")
    if weight is None and "weight" in [c.lower() for c in cols]:
        weight = next(c for c in cols if c.lower() == "weight")
    ends = df[[s, t]]
    bad = ends.isna().any(axis=1)
    if bad.any():
        raise UserError(f"{path}: row {int(np.argmax(bad.to_numpy())) + 2} has an empty endpoint: fill or drop it")
    w = None
    if weight is not None:
        if weight not in cols:
            raise UserError(f"no column '{weight}' in {path} (columns: {', '.join(cols)})")
        w = pd.to_numeric(df[weight], errors="coerce")
        badw = w.isna() | ~np.isfinite(w.to_numpy(float, na_value=np.nan))
        if badw.any():
            raise UserError(f"weight column '{weight}' of {path} is not numeric at row "
                            f"{int(np.argmax(badw.to_numpy())) + 2}: fix it or drop the column")
    if len(df) == 0:
        raise UserError(f"{path} has no edges: nothing to measure")
    clean = as_graph(ends.astype(str).to_numpy(), directed=directed)
    notes = _clean_notes(clean)
    weights = None
    if w is not None:  # the weight of each kept edge: duplicates summed, as a multigraph's weight
        g = clean.graph
        index = {name: i for i, name in enumerate(g.vs["name"])}
        a = np.array([index[x] for x in ends[s].astype(str)])
        b = np.array([index[x] for x in ends[t].astype(str)])
        keep = a != b
        if not directed:
            a, b = np.minimum(a, b), np.maximum(a, b)
        eid = g.get_eids(list(zip(a[keep].tolist(), b[keep].tolist())), directed=directed)
        weights = np.bincount(eid, weights=w.to_numpy(float)[keep], minlength=g.ecount())
    return UserGraph(clean.graph, weights, notes)


def _clean_notes(clean) -> list[str]:
    notes = []
    if clean.self_loops:
        notes.append(f"dropped {clean.self_loops} self-loop(s)")
    if clean.multi_edges:
        notes.append(f"merged {clean.multi_edges} repeated edge(s) (weights summed where given)")
    return notes


def read_graph(path, directed: bool = False, source: str | None = None, target: str | None = None,
               weight: str | None = None) -> UserGraph:
    """The graph in `path` (edge-list CSV/TSV/TXT, GraphML or GEXF), cleaned, or one UserError."""
    from emergelab.lab.tables import check_file, read_table

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in _XML:
        df = read_table(p, "an edge list", EDGE_LIST_FORMATS, text_columns=True,
                        also="a .graphml or .gexf file")
        return _from_frame(df, path, directed, source, target, weight)
    check_file(p, "a graph")
    if source or target:
        raise UserError("--source and --target go with an edge-list CSV; GraphML and GEXF name their edges")
    return _read_xml(p, suffix, directed, weight)


def _read_xml(p: Path, suffix: str, directed: bool, weight: str | None) -> UserGraph:
    import igraph as ig
    import pandas as pd

    try:
        if suffix == ".graphml":
            g = ig.Graph.Read_GraphML(str(p))
            names = g.vs["id"] if "id" in g.vs.attributes() else [str(i) for i in range(g.vcount())]
            edges = [(names[a], names[b]) for a, b in g.get_edgelist()]
            attrs = {k: g.es[k] for k in g.es.attributes()}
        else:
            import networkx as nx  # igraph cannot read GEXF

            G = nx.read_gexf(str(p))
            edges = [(str(a), str(b)) for a, b in G.edges()]
            attrs = {}
            for key in {k for _, _, d in G.edges(data=True) for k in d}:
                attrs[key] = [d.get(key) for _, _, d in G.edges(data=True)]
    except Exception as e:  # a broken XML file raises anything from lxml/expat/igraph
        raise UserError(f"cannot read {p} as {suffix[1:].upper()} ({str(e).splitlines()[0] if str(e) else type(e).__name__}):"
                        " check the file") from None
    df = pd.DataFrame(edges, columns=["source", "target"])
    if weight is None and "weight" in attrs:
        weight = "weight"
    if weight is not None:
        if weight not in attrs:
            raise UserError(f"the edges of {p} have no attribute '{weight}' (they have: {', '.join(attrs) or 'none'})")
        df["weight"] = attrs[weight]
        weight = "weight"
    return _from_frame(df, p, directed, "source", "target", weight)


def read_graph_run(store, run_id: str) -> UserGraph:
    """The graph a run stored as its `graph_edges` artefact."""
    import pandas as pd

    path = store.artefact_path(run_id, "graph_edges")
    if path.suffix != ".parquet":
        raise UserError(f"run '{run_id}' stores its graph as {path.name}, not an edge table: re-run the world")
    directed = bool(store.run_meta(run_id).get("config", {}).get("directed", False))
    return _from_frame(pd.read_parquet(path), f"run '{run_id}'", directed)


def analyze_graph(ug: UserGraph, seed: int = 0, n_boot: int = 100, motif_size: int = 3,
                  n_random: int = 100) -> dict[str, Any]:
    """JSON-ready results: summary numbers, the degree fit, community sizes, hubs, bridges and
    the motif significance profile (motif_size 0 skips motifs)."""
    from emergelab.measures import networks as N

    g = ug.graph
    deg = np.asarray(g.degree())
    vals, counts = np.unique(deg[deg > 0], return_counts=True)
    fit = N.degree_fit(g, n_boot=n_boot, seed=seed).to_dict() if (deg > 0).sum() >= 10 else None
    com = N.communities(g, seed=seed, weights=ug.weights)
    out: dict[str, Any] = {
        "nodes": g.vcount(), "edges": g.ecount(), "directed": g.is_directed(),
        "notes": list(ug.notes), "seed": seed,
        "degree_hist": {"degree": vals.tolist(), "count": counts.tolist()},
        "degree_fit": fit,
        "modularity": com.modularity, "community_sizes": com.sizes.tolist(),
        "hubs": N.hubs(g, top=10),
        **N.clustering(g),
        "kcore_max": int(N.kcore(g).max()),
    }
    b = N.bridges(g, com.membership)
    out.update(n_bridges=b["n_bridges"], n_community_bridges=b["n_community_bridges"])
    pl = N.path_lengths(g, seed=seed)
    out["path_length"] = {"mean": pl["mean"], "se": pl["se"], "exact": pl["exact"],
                          "lengths": pl["lengths"].tolist(), "counts": pl["counts"].tolist()}
    if motif_size:
        out["motifs"] = N.motif_profile(g, size=motif_size, n_random=n_random, seed=seed).to_dict()
    return out
