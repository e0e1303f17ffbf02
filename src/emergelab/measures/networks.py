"""Network instruments for any graph: is it scale-free, what are its communities, hubs, bridges
and over-represented motifs?

Papers (SCIENCE.md C5): knowledge graphs grown by language-model agents and mined from
literature report scale-free degree distributions, hub and bridge nodes and recurring motifs.
The statistics are the standard ones: the degree fit is Clauset, Shalizi & Newman (2009)
(measures/powerlaw.py); communities are Leiden (Traag, Waltman & van Eck 2019, leidenalg) or
Louvain (igraph's multilevel) maximising Newman's modularity; motif significance follows Milo
et al. (2002, 2004): counts against an ensemble of degree-preserving randomisations, as
z-scores and the normalised significance profile SP_i = z_i / ||z||.

Everything runs on python-igraph's C core; networkx is never needed. igraph draws from
Python's `random` module, so every randomised call here runs under `seeded(seed)`, which
swaps in a seeded generator and restores the old one.

Inputs: an igraph.Graph, or an edge array of shape (m, 2) of node labels (ints or strings).
Self-loops and multi-edges are removed (`as_graph` says how many).
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import asdict, dataclass

import igraph as ig
import numpy as np

from emergelab.errors import UserError
from emergelab.measures.powerlaw import PowerLawFit, powerlaw_fit

# igraph's (and networkx's) order of the 16 directed triad classes (Holland & Leinhardt)
TRIADS = ("003", "012", "102", "021D", "021U", "021C", "111D", "111U",
          "030T", "030C", "201", "120D", "120U", "120C", "210", "300")
_EXACT_PATHS = 5_000  # nodes up to which all shortest paths are counted; beyond, sampled sources


@contextlib.contextmanager
def seeded(seed: int):
    ig.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:  # igraph's default generator is the random module itself
        ig.set_random_number_generator(random)


@dataclass(frozen=True)
class Cleaned:
    graph: ig.Graph
    self_loops: int  # removed
    multi_edges: int  # duplicates removed (a directed graph keeps a->b and b->a)


def as_graph(edges, directed: bool = False) -> Cleaned:
    """An igraph.Graph without self-loops or multi-edges, node names kept in g.vs['name']."""
    if isinstance(edges, ig.Graph):
        g = edges.copy()
    else:
        e = np.asarray(edges, dtype=object)
        if e.ndim != 2 or e.shape[1] != 2:
            raise UserError(f"edges must be pairs, shape (m, 2); got shape {e.shape}")
        if len(e) == 0:
            raise UserError("the graph has no edges: nothing to measure")
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in e.ravel()):
            raise UserError("an edge has an empty endpoint: fill or drop those rows")
        g = ig.Graph.TupleList([tuple(r) for r in e.tolist()], directed=directed)
    if g.ecount() == 0:
        raise UserError("the graph has no edges: nothing to measure")
    loops = sum(g.is_loop())
    m0 = g.ecount()
    g.simplify(multiple=True, loops=True)
    if g.ecount() == 0:
        raise UserError(f"no edges left once {loops} self-loop(s) are dropped: nothing to measure")
    return Cleaned(g, loops, m0 - loops - g.ecount())


def _g(graph) -> ig.Graph:
    return graph if isinstance(graph, ig.Graph) else as_graph(graph).graph


def degree_fit(graph, mode: str = "all", n_boot: int = 0, seed: int = 0) -> PowerLawFit:
    """The discrete power-law fit of the degrees >= 1 (mode 'in'/'out' for directed graphs)."""
    d = np.asarray(_g(graph).degree(mode=mode))
    d = d[d > 0]
    if len(d) < 10:
        raise UserError(f"only {len(d)} nodes with degree > 0: a degree fit needs >= 10")
    return powerlaw_fit(d, n_boot=n_boot, seed=seed)


@dataclass(frozen=True)
class Communities:
    membership: np.ndarray  # (n,) community of each node, 0 = the largest
    modularity: float
    sizes: np.ndarray       # (k,) descending


def communities(graph, method: str = "leiden", seed: int = 0, resolution: float = 1.0,
                weights=None) -> Communities:
    """Modularity-maximising communities of the undirected view: Leiden (default; its partitions
    are guaranteed connected) or Louvain. weights: (m,) per edge of a simple graph, or None."""
    g = _g(graph)
    if weights is not None and len(weights) != g.ecount():
        raise UserError(f"{len(weights)} weights for {g.ecount()} edges: give one weight per edge")
    if g.is_directed() and weights is None:  # modularity of the undirected view
        g = g.as_undirected()
    elif g.is_directed():  # ... with the weights of a->b and b->a summed
        g = g.copy()
        g.es["w"] = list(weights)
        g.to_undirected(combine_edges={"w": "sum"})
        weights = g.es["w"]
    w = None if weights is None else [float(x) for x in weights]
    if method == "leiden":
        import leidenalg

        part = leidenalg.find_partition(g, leidenalg.RBConfigurationVertexPartition, weights=w,
                                        resolution_parameter=resolution, seed=seed)
        raw = np.asarray(part.membership)
    elif method == "louvain":
        with seeded(seed):
            raw = np.asarray(g.community_multilevel(weights=w, resolution=resolution).membership)
    else:
        raise UserError(f"unknown community method '{method}': use leiden or louvain")
    sizes = np.bincount(raw)
    rank = np.empty_like(sizes)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(len(sizes))  # 0 = largest
    membership = rank[raw]
    return Communities(membership, float(g.modularity(membership, weights=w)), np.sort(sizes)[::-1])


def hubs(graph, top: int = 10) -> list[tuple[str, float]]:
    """The `top` nodes by betweenness centrality (normalised to [0, 1]), highest first."""
    g = _g(graph)
    n = g.vcount()
    b = np.asarray(g.betweenness(directed=g.is_directed()), dtype=float)
    scale = (n - 1) * (n - 2) / (1 if g.is_directed() else 2)
    b = b / scale if scale > 0 else b
    order = np.argsort(-b, kind="stable")[:top]
    names = g.vs["name"] if "name" in g.vs.attributes() else list(range(n))
    return [(str(names[i]), float(b[i])) for i in order]


def bridges(graph, membership=None) -> dict:
    """Edges whose removal disconnects the graph (graph bridges) and, given communities, the
    inter-community edges that are the only link between their two communities (removing one
    cuts those communities apart). Edges as (source index, target index)."""
    g = _g(graph)
    u = g.as_undirected() if g.is_directed() else g
    cut = [u.es[i].tuple for i in u.bridges()]
    out = {"bridges": cut, "n_bridges": len(cut)}
    if membership is not None:
        m = np.asarray(membership)
        e = np.asarray(u.get_edgelist(), dtype=int).reshape(-1, 2)
        ca, cb = m[e[:, 0]], m[e[:, 1]]
        inter = ca != cb
        pair = np.sort(np.stack([ca[inter], cb[inter]], 1), axis=1)
        keys, inv, counts = np.unique(pair, axis=0, return_inverse=True, return_counts=True)
        sole = counts[inv.ravel()] == 1
        out["community_bridges"] = [tuple(map(int, r)) for r in e[inter][sole]]
        out["n_community_bridges"] = int(sole.sum())
    return out


def clustering(graph) -> dict:
    """Global transitivity (3 x triangles / connected triples) and the mean local coefficient."""
    g = _g(graph)
    return {"transitivity": float(g.transitivity_undirected()),
            "mean_local_clustering": float(g.transitivity_avglocal_undirected(mode="zero"))}


def path_lengths(graph, n_sources: int = 500, seed: int = 0) -> dict:
    """Shortest-path length distribution over connected pairs (unweighted). Up to 5,000 nodes
    every pair is counted; beyond, BFS from `n_sources` random nodes (an unbiased sample of
    pairs), with the standard error of the mean length across sources stated."""
    g = _g(graph)
    n = g.vcount()
    directed = g.is_directed()
    if n <= _EXACT_PATHS:
        hist = g.path_length_hist(directed=directed)
        counts = np.array([c for _, _, c in hist.bins()], dtype=float)
        lengths = np.arange(1, len(counts) + 1, dtype=float)
        mean = float(counts @ lengths / counts.sum()) if counts.sum() else float("nan")
        return {"lengths": lengths, "counts": counts, "mean": mean, "se": 0.0, "exact": True}
    rng = np.random.default_rng(seed)
    src = rng.choice(n, size=min(n_sources, n), replace=False)
    D = np.asarray(g.distances(source=src.tolist(), mode="out"), dtype=float)  # (s, n)
    D[~np.isfinite(D) | (D == 0)] = np.nan
    per = np.nanmean(D, axis=1)
    finite = D[np.isfinite(D)].astype(int)
    counts = np.bincount(finite)[1:].astype(float) * (n / len(src))  # scaled to all sources
    lengths = np.arange(1, len(counts) + 1, dtype=float)
    per = per[np.isfinite(per)]
    return {"lengths": lengths, "counts": counts, "mean": float(np.mean(finite)),
            "se": float(per.std(ddof=1) / np.sqrt(len(per))) if len(per) > 1 else float("nan"),
            "exact": False}


def kcore(graph) -> np.ndarray:
    """(n,) coreness: the largest k such that the node is in the k-core."""
    return np.asarray(_g(graph).coreness(), dtype=int)


@dataclass(frozen=True)
class MotifProfile:
    names: list          # motif classes: triad names (directed), empty/edge/path/triangle, or isoN
    counts: np.ndarray   # (c,) in the graph
    null_mean: np.ndarray  # (c,) over the randomised ensemble
    null_sd: np.ndarray
    z: np.ndarray        # (count - null_mean) / null_sd; NaN where the null has no spread
    sp: np.ndarray       # significance profile z / ||z|| (finite entries)
    n_random: int

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


def _counts(g: ig.Graph, size: int) -> np.ndarray:
    if size == 3 and g.is_directed():
        return np.asarray(list(g.triad_census()), dtype=float)
    return np.nan_to_num(np.asarray(g.motifs_randesu(size=size), dtype=float))  # NaN: unconnected classes


def motif_profile(graph, size: int = 3, n_random: int = 100, seed: int = 0,
                  swaps_per_edge: int = 10) -> MotifProfile:
    """Motif counts (size 3: the directed triad census, or undirected 3-node classes; size 4:
    igraph's 4-node isoclasses) against `n_random` degree-preserving randomisations (each
    `swaps_per_edge` x m edge swaps, in/out degrees kept for a directed graph)."""
    g = _g(graph)
    if size not in (3, 4):
        raise UserError(f"motif size must be 3 or 4, got {size}")
    if n_random < 2:
        raise UserError(f"n_random must be >= 2 for a null spread, got {n_random}")
    obs = _counts(g, size)
    null = np.empty((n_random, len(obs)))
    with seeded(seed):
        for i in range(n_random):  # each randomisation is one C call; the loop is over samples
            r = g.copy()
            r.rewire(n=swaps_per_edge * g.ecount(), allowed_edge_types="simple")
            null[i] = _counts(r, size)
    mu, sd = null.mean(0), null.std(0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, (obs - mu) / sd, np.nan)
    fin = np.isfinite(z)
    norm = np.sqrt(np.sum(z[fin] ** 2))
    sp = np.where(fin, z / norm, np.nan) if norm > 0 else np.full_like(z, np.nan)
    if size == 3:
        names = list(TRIADS) if g.is_directed() else ["empty", "edge", "path", "triangle"]
    else:
        names = [f"iso{i}" for i in range(len(obs))]  # igraph's isoclass ids (Graph.Isoclass draws one)
    return MotifProfile(names, obs, mu, sd, z, sp, n_random)
