"""knowledge_graph end to end: the tiny preset and the language-model generator (scripted
backend: the hidden concept graph answers through the same prompt, schema and parser), stored,
then `emergelab graph RUN` on the stored graph."""

from __future__ import annotations

import emergelab
from emergelab.lab.sweep import run_world


def test_tiny_grows_a_graph_and_scores_it():
    rec = run_world("knowledge_graph", "tiny")
    steps, nodes = rec.series("kg/nodes")
    assert len(steps) == 4 and (nodes[1:] >= nodes[:-1]).all() and nodes[-1] > 10
    assert rec.summary["nodes"] == nodes[-1] and rec.summary["embedder"] == "exact"
    assert set(rec.artefacts) == {"graph_edges", "graph_nodes"}


def test_llm_generator_stored_then_measured(run_cli, tmp_path):
    rc, out, err = run_cli("run", "knowledge_graph", "-p", "llm-quick", "-s", "embedder=exact", "-x", "serial")
    assert rc == 0, err
    rid = "knowledge_graph-" + out.split("knowledge_graph-")[1].split()[0]
    st = emergelab.open_store(str(tmp_path / "store"))
    curves = st.curves(rid)
    assert curves["llm/requests"].iloc[0] == 1 and curves["llm/requests"].iloc[-1] == 4  # 1 start node, then 4 a step
    assert curves["llm/parse_failures"].sum() == 0
    assert curves["kg/nodes"].dropna().iloc[-1] > 20
    assert curves["kg/recovered"].dropna().iloc[-1] == 1.0  # answers carry the hidden concepts
    rc, out, err = run_cli("graph", rid, "--boot", "0", "--random", "4")
    assert rc == 0, err
    assert "modularity" in out and st.run_meta(rid)["summary"]["graph"]["nodes"] > 20
