"""Speed of the network instruments (measures/networks.py, igraph's C core) against networkx,
the library most users would reach for, on the same graph in the same process.

    .venv/bin/python benchmarks/network_speed.py [--nodes 30000] [--m 4] [--sources 64] [--random 100]

The graph: a directed preferential-attachment graph with `nodes` x `m` edges (about 120,000
by default: a knowledge graph of that size is what the expansion loop grows). Three
comparisons, each computing the same quantity both ways (values checked to agree):
- betweenness from `sources` sampled source nodes to every target (networkx's
  betweenness_centrality(k=...), igraph's subset betweenness from the same sources);
- the directed triad census (16 classes);
- `random` degree-preserving randomisations (10 double-edge swaps per edge) each followed
  by a triad census: the motif null ensemble. networkx has no in/out-degree-preserving swap
  for digraphs, so its baseline swaps on the undirected view (double_edge_swap) and counts
  triads after orienting edges as in the original; both do the same number of swaps and
  censuses. With --random large this part dominates: it is what motif_profile costs.
"""

from __future__ import annotations

import argparse
import random
import time

import igraph as ig
import networkx as nx
import numpy as np
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads
from networkx.algorithms.triads import triadic_census

from emergelab.measures import networks as N


def _graph(nodes: int, m: int, seed: int) -> ig.Graph:
    ig.set_random_number_generator(random.Random(seed))
    try:
        return ig.Graph.Barabasi(nodes, m, directed=True)
    finally:
        ig.set_random_number_generator(random)


def _time(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=30_000)
    ap.add_argument("--m", type=int, default=4, help="edges per new node")
    ap.add_argument("--sources", type=int, default=64, help="sampled betweenness sources")
    ap.add_argument("--random", type=int, default=100, help="randomisations in the motif null")
    ap.add_argument("--baseline-random", type=int, default=3,
                    help="networkx randomisations actually timed (per-sample time x --random)")
    a = ap.parse_args()

    g = _graph(a.nodes, a.m, seed=0)
    D = nx.DiGraph(g.get_edgelist())
    D.add_nodes_from(range(g.vcount()))
    print(f"graph: {g.vcount():,} nodes, {g.ecount():,} edges (directed)")
    src = np.random.default_rng(0).choice(g.vcount(), a.sources, replace=False).tolist()

    # betweenness from the same sampled sources
    t_lab, b_lab = _time(lambda: np.asarray(g.betweenness(sources=src, directed=True)))
    t_nx, b_nx = _time(lambda: nx.betweenness_centrality_subset(D, sources=src, targets=list(D), normalized=False))
    agree = np.allclose(b_lab, [b_nx[v] for v in range(g.vcount())], rtol=1e-9, atol=1e-9)
    print(f"betweenness ({a.sources} sources): igraph {t_lab:.3f} s, networkx {t_nx:.3f} s, agree={agree}")
    print_result("network_speed/betweenness", f"subset betweenness, {a.sources} sources vs networkx",
                 t_lab, t_nx, "s")

    t_lab, c_lab = _time(lambda: N.motif_profile(g, n_random=2, seed=0).counts)  # census + 2 nulls
    t_lab_census, census = _time(lambda: list(g.triad_census()))
    t_nx, c_nx = _time(lambda: triadic_census(D))
    agree = census == [c_nx[k] for k in N.TRIADS]
    print(f"triad census: igraph {t_lab_census:.3f} s, networkx {t_nx:.3f} s, agree={agree}")
    print_result("network_speed/triads", "directed triad census vs networkx", t_lab_census, t_nx, "s")

    t_lab, prof = _time(lambda: N.motif_profile(g, n_random=a.random, seed=0))
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(a.baseline_random):
        U = nx.Graph(D.to_undirected())
        nx.double_edge_swap(U, nswap=10 * U.number_of_edges(), max_tries=10**9,
                            seed=int(rng.integers(2**31)))
        R = nx.DiGraph((u, v) if u < v else (v, u) for u, v in U.edges())  # oriented as BA: new -> old
        R.add_nodes_from(U)
        triadic_census(R)
    per = (time.perf_counter() - t0) / a.baseline_random
    t_nx = per * a.random
    print(f"motif null ({a.random} randomisations + censuses): lab {t_lab:.2f} s, "
          f"networkx {t_nx:.2f} s ({per:.2f} s per sample x {a.random})")
    print_result("network_speed/motif_null", f"{a.random} degree-preserving nulls vs networkx", t_lab, t_nx, "s")


if __name__ == "__main__":
    main()
