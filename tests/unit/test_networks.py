"""Network instruments against graphs whose answer is known (issue 15's acceptance)."""

import random

import igraph as ig
import numpy as np
import pytest
import networkx as nx
from networkx.algorithms.triads import triadic_census

from emergelab.errors import UserError
from emergelab.measures import networks as N
from emergelab.measures.language import adjusted_rand_index
from emergelab.measures.powerlaw import powerlaw_fit


def _ba(n: int, m: int, seed: int) -> ig.Graph:
    ig.set_random_number_generator(random.Random(seed))
    try:
        return ig.Graph.Barabasi(n, m)
    finally:
        ig.set_random_number_generator(random)


def test_barabasi_albert_alpha_3_is_recovered_and_beats_the_exponential():
    fit = N.degree_fit(_ba(20_000, 3, seed=1), n_boot=20, seed=0)
    assert abs(fit.alpha - 3) < 2.5 * fit.alpha_se + 0.05  # BA's tail nears k^-3 from above
    assert fit.preferred_exp == "power_law"
    assert fit.preferred != "lognormal"  # Clauset et al.'s usual verdict: not rejected for it
    assert fit.gof_p > 0.1  # a power law is not rejected


def test_erdos_renyi_is_rejected_as_a_power_law():
    ig.set_random_number_generator(random.Random(0))
    g = ig.Graph.Erdos_Renyi(20_000, m=60_000)
    ig.set_random_number_generator(random)
    fit = N.degree_fit(g, n_boot=20, seed=0)
    assert fit.gof_p <= 0.1
    assert fit.preferred_exp == "exponential"


def test_planted_partition_is_recovered():
    p_in, p_out = 0.2, 0.005
    pref = [[p_in if i == j else p_out for j in range(4)] for i in range(4)]
    ig.set_random_number_generator(random.Random(3))
    g = ig.Graph.SBM(pref, [100] * 4)
    ig.set_random_number_generator(random)
    truth = np.repeat(np.arange(4), 100)
    for method in ("leiden", "louvain"):
        c = N.communities(g, method=method, seed=0)
        assert adjusted_rand_index(truth, c.membership) == pytest.approx(1.0)
        # the planted partition's own modularity, computed by igraph
        assert c.modularity == pytest.approx(g.modularity(truth), abs=1e-9)
        assert c.sizes.tolist() == [100] * 4


@pytest.mark.parametrize("seed", range(5))
def test_triad_census_equals_networkx(seed):
    D = nx.gnp_random_graph(40, 0.1, directed=True, seed=seed)
    g = ig.Graph(n=40, edges=list(D.edges()), directed=True)
    ours = N.motif_profile(g, n_random=2, seed=seed).counts
    assert ours.tolist() == [triadic_census(D)[k] for k in N.TRIADS]


def test_feed_forward_loops_are_significant():
    rng = np.random.default_rng(0)
    edges = []
    for _ in range(60):  # planted feed-forward loops a->b->c, a->c
        a, b, c = rng.choice(200, 3, replace=False)
        edges += [(a, b), (b, c), (a, c)]
    edges += list(nx.gnm_random_graph(200, 200, directed=True, seed=2).edges())
    g = N.as_graph(np.array(edges), directed=True).graph
    prof = N.motif_profile(g, n_random=40, seed=0)
    z = dict(zip(prof.names, prof.z))
    assert z["030T"] > 5
    assert prof.sp[prof.names.index("030T")] == pytest.approx(np.nanmax(prof.sp))
    # a graph with no planted loops shows no such excess
    rand = N.as_graph(np.array(list(nx.gnm_random_graph(200, 380, directed=True, seed=5).edges())), directed=True)
    assert dict(zip(N.TRIADS, N.motif_profile(rand.graph, n_random=40).z))["030T"] < 3


def test_bridges_paths_coreness_on_a_barbell():
    g = ig.Graph.Famous("Zachary")
    two = ig.Graph.Full(5) + ig.Graph.Full(5)  # two cliques ...
    two.add_edge(0, 5)  # ... joined by one edge
    b = N.bridges(two, membership=[0] * 5 + [1] * 5)
    assert b["bridges"] == [(0, 5)] and b["community_bridges"] == [(0, 5)]
    assert N.kcore(two).tolist() == [4] * 10
    pl = N.path_lengths(two)
    assert pl["exact"] and pl["counts"].sum() == 45 and pl["lengths"].max() == 3
    assert N.hubs(two, top=2)[0][1] == pytest.approx(N.hubs(two, top=2)[1][1])  # 0 and 5 tie
    assert N.clustering(g)["transitivity"] == pytest.approx(g.transitivity_undirected())


def test_sampled_path_lengths_state_their_error():
    g = _ba(6_000, 2, seed=0)
    est = N.path_lengths(g, n_sources=300, seed=0)
    assert not est["exact"] and est["se"] > 0
    hist = g.path_length_hist(directed=False)  # every pair, igraph's own count
    counts = np.array([c for _, _, c in hist.bins()], dtype=float)
    exact = counts @ np.arange(1, len(counts) + 1) / counts.sum()
    assert abs(est["mean"] - exact) < 4 * est["se"]


def test_as_graph_removes_loops_and_multi_edges_and_says_so():
    c = N.as_graph([("a", "b"), ("b", "a"), ("a", "a"), ("b", "c")])
    assert (c.self_loops, c.multi_edges, c.graph.ecount()) == (1, 1, 2)
    d = N.as_graph([("a", "b"), ("b", "a")], directed=True)
    assert d.multi_edges == 0 and d.graph.ecount() == 2


@pytest.mark.parametrize("bad, message", [
    (lambda: N.as_graph(np.zeros((0, 2))), "no edges"),
    (lambda: N.as_graph([1, 2, 3]), "pairs"),
    (lambda: N.as_graph([("a", None)]), "empty endpoint"),
    (lambda: N.communities(ig.Graph.Ring(10), method="spectral"), "unknown community method"),
    (lambda: N.motif_profile(ig.Graph.Ring(10), size=5), "size must be 3 or 4"),
    (lambda: N.degree_fit(ig.Graph.Ring(5)), "needs >= 10"),
    (lambda: powerlaw_fit(list(range(1, 30)), n_boot=-1), "n_boot"),
])
def test_bad_input_is_one_line(bad, message):
    with pytest.raises(UserError, match=message):
        bad()
