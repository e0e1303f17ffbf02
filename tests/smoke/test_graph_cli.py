"""`emergelab graph`: a user's graph in three formats, a stored run's graph, and bad input
(one line, exit 2, nothing written)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import igraph as ig
import networkx as nx
import pandas as pd
import pytest

from tests.smoke.test_bad_inputs import _snapshot

TMP = "{tmp}"


def _ba(n: int = 600, m: int = 3) -> ig.Graph:
    ig.set_random_number_generator(random.Random(0))
    try:
        return ig.Graph.Barabasi(n, m)
    finally:
        ig.set_random_number_generator(random)


def _files(tmp: Path) -> None:
    g = _ba()
    e = pd.DataFrame(g.get_edgelist(), columns=["from", "to"])
    e.to_csv(tmp / "ba.csv", index=False)
    e.assign(weight="heavy").to_csv(tmp / "badweight.csv", index=False)
    e.head(0).to_csv(tmp / "empty.csv", index=False)
    e[["from"]].to_csv(tmp / "onecol.csv", index=False)
    (tmp / "holes.csv").write_text("a,b\n1,2\n3,\n")
    (tmp / "loops.csv").write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(20)))
    (tmp / "g.xlsx").write_bytes(b"PK\x03\x04")
    (tmp / "broken.graphml").write_text("<graphml><graph><node id='a'/>")
    (tmp / "folder.csv").mkdir()


CASES = [
    ("missing", ["graph", TMP + "/nope.csv"], "no such file"),
    ("folder", ["graph", TMP + "/folder.csv"], "is a folder"),
    ("format", ["graph", TMP + "/g.xlsx"], "unknown format '.xlsx'"),
    ("one-column", ["graph", TMP + "/onecol.csv"], "an edge list needs a source and a target"),
    ("empty", ["graph", TMP + "/empty.csv"], "no edges"),
    ("hole", ["graph", TMP + "/holes.csv"], "row 3 has an empty endpoint"),
    ("weight", ["graph", TMP + "/badweight.csv"], "weight column 'weight'"),
    ("only-loops", ["graph", TMP + "/loops.csv"], "no edges left once 20 self-loop(s) are dropped"),
    ("no-column", ["graph", TMP + "/ba.csv", "--source", "x"], "no column 'x'"),
    ("same-columns", ["graph", TMP + "/ba.csv", "--source", "from", "--target", "from"], "the same column"),
    ("broken-xml", ["graph", TMP + "/broken.graphml"], "cannot read"),
    ("motif-size", ["graph", TMP + "/ba.csv", "--motifs", "5"], "--motifs must be 3, 4 or 0"),
    ("random", ["graph", TMP + "/ba.csv", "--random", "1"], "--random must be >= 2"),
    ("boot", ["graph", TMP + "/ba.csv", "--boot", "-3"], "--boot must be >= 0"),
    ("report-dir", ["graph", TMP + "/ba.csv", "-o", TMP + "/no/r.html"], "cannot write the report"),
    ("unknown-run", ["graph", "nope", "--store", TMP], "no run or sweep 'nope'"),
]


@pytest.mark.parametrize("args, phrase", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_graph_cli_bad_input(run_cli, tmp_path, args, phrase):
    _files(tmp_path)
    (tmp_path / "runs").mkdir()  # a store, so a run id is looked up there
    args = [a.format(tmp=tmp_path) for a in args]
    before = _snapshot(tmp_path)
    rc, out, err = run_cli(*args)
    assert rc == 2, (rc, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert phrase in lines[0], lines[0]
    assert "Traceback" not in out + err
    assert _snapshot(tmp_path) == before


def test_graph_of_a_file_in_three_formats_agrees(run_cli, tmp_path):
    g = _ba()
    pd.DataFrame(g.get_edgelist(), columns=["source", "target"]).to_csv(tmp_path / "g.csv", index=False)
    g.vs["name"] = [str(i) for i in range(g.vcount())]
    g.write_graphml(str(tmp_path / "g.graphml"))
    nx.write_gexf(nx.Graph([(str(a), str(b)) for a, b in g.get_edgelist()]), tmp_path / "g.gexf")
    alphas = []
    for name in ("g.csv", "g.graphml", "g.gexf"):
        rc, out, err = run_cli("graph", str(tmp_path / name), "--boot", "0", "--random", "5",
                               "-o", str(tmp_path / f"{name}.html"))
        assert rc == 0, err
        assert "degree exponent" in out and "modularity" in out
        line = next(x for x in out.splitlines() if "degree exponent" in x)
        alphas.append(line.split()[-2])
        page = (tmp_path / f"{name}.html").read_text()
        assert "Network" in page and "<svg" in page
    assert len(set(alphas)) == 1, alphas  # same graph, same numbers, whatever the file


def test_duplicates_and_loops_are_said(run_cli, tmp_path):
    (tmp_path / "d.csv").write_text("a,b\n" + "".join(f"{i},{i + 1}\n" for i in range(30)) + "0,1\n1,0\n4,4\n")
    rc, out, err = run_cli("graph", str(tmp_path / "d.csv"), "--boot", "0", "--motifs", "0")
    assert rc == 0, err
    assert "dropped 1 self-loop" in out and "merged 2 repeated edge" in out


def test_graph_of_a_run_is_stored_and_reported(run_cli, tmp_path):
    """A run that stored `graph_edges` (as knowledge_graph does) gets a Network section."""
    import emergelab

    rc, out, err = run_cli("run", "toy", "-p", "quick", "-x", "serial")
    assert rc == 0, err
    rid = "toy-" + out.split("toy-")[1].split()[0]
    st = emergelab.open_store(str(tmp_path / "store"))
    edges = pd.DataFrame(_ba().get_edgelist(), columns=["source", "target"]).astype(str)
    st.update_run(rid, st.run_meta(rid)["summary"], {"graph_edges": edges})
    rc, out, err = run_cli("graph", rid, "--boot", "0", "--random", "5")
    assert rc == 0, err
    summary = st.run_meta(rid)["summary"]
    assert summary["graph"]["nodes"] == 600 and summary["graph"]["motifs"]["n_random"] == 5
    rc, out, err = run_cli("report", rid, "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    page = (tmp_path / "r.html").read_text()
    assert "Network" in page and "significance profile" in page


def test_weights_follow_their_edges_and_duplicates_add(tmp_path):
    from emergelab.lab.graphs import read_graph

    (tmp_path / "w.csv").write_text("u,v,weight\na,b,1\nb,c,2\nb,a,3\nc,d,4\nd,d,9\n")
    ug = read_graph(tmp_path / "w.csv")
    g = ug.graph
    w = {tuple(sorted((g.vs[e.source]["name"], g.vs[e.target]["name"]))): x for e, x in zip(g.es, ug.weights)}
    assert w == {("a", "b"): 4.0, ("b", "c"): 2.0, ("c", "d"): 4.0}
    d = read_graph(tmp_path / "w.csv", directed=True)
    assert sorted(d.weights.tolist()) == [1.0, 2.0, 3.0, 4.0]
