"""Operating points of the `familial_models` world: every way of answering a query (one member,
with or without early exit; the family cascading with a feature hand-off, with recomputation, or
through a post-hoc stitch) as a route of exits, and its (mean MACs, accuracy) at each threshold.
Imported only inside `run`."""

from __future__ import annotations

import numpy as np


def sweep(logits, costs, y, thresholds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A route's operating points. logits: the route's exits in order, each (E, C); costs (X,)
    cumulative MACs up to and including each exit; y (E,). At threshold t a query leaves at the
    first exit whose max softmax is >= t, or at the last. Returns mean MACs (T,), accuracy (T,)
    and the share of queries that reach the last exit (T,)."""
    import torch

    z = torch.stack(logits, 1).double()  # (E, X, C): float64 so that a softmax is rarely exactly 1
    conf, pred = z.softmax(-1).max(-1)  # (E, X)
    conf, right = conf.cpu().numpy(), (pred == y[:, None]).cpu().numpy()
    costs = np.asarray(costs, float)
    macs, acc, last = [], [], []
    for t in thresholds:
        hit = conf >= t  # (E, X)
        hit[:, -1] = True  # the last exit answers whatever its confidence
        idx = hit.argmax(1)  # (E,) the first confident exit
        macs.append(costs[idx].mean())
        acc.append(right[np.arange(len(idx)), idx].mean())
        last.append((idx == len(costs) - 1).mean())
    return np.array(macs), np.array(acc), np.array(last)


def routes(cfg, family, x, n_classes: int, stitches):
    """Every route on inputs x (E, d_in) -> {name: (logits list, costs (X,))}:
    member{m}_exit (early exit), member{m}_full (the last head only: no early exit),
    family (the cascade with the shared-feature hand-off), family_recompute (escalation recomputes
    the next member from the input), and with stitches given (the unaligned control)
    family_stitch (the hand-off through the fitted linear maps)."""
    import torch

    from emergelab.worlds._family_nets import chain, exit_macs, handoff_macs

    d_in = x.shape[1]
    out: dict[str, tuple[list, np.ndarray]] = {}
    with torch.no_grad():
        own = [m.logits(m.hidden(x)) for m in family]
        own_cost = [exit_macs(m.width, n_classes, m.depth, d_in * m.width) for m in family]
        for i, m in enumerate(family):
            out[f"member{i}_exit"] = (own[i], own_cost[i])
            out[f"member{i}_full"] = ([own[i][-1]], exit_macs(m.width, n_classes, m.depth, d_in * m.width,
                                                              head_every=False)[-1:])
        # recomputation: member m runs from scratch after members 0..m-1 gave up
        base, lg, cs = 0.0, [], []
        for i in range(len(family)):
            lg += own[i]
            cs.append(base + own_cost[i])
            base = cs[-1][-1]
        out["family_recompute"] = (lg, np.concatenate(cs))
        for name, maps in (("family", None), ("family_stitch", stitches)):
            if name == "family_stitch" and stitches is None:
                continue
            base, lg, cs = 0.0, [], []
            for i, (start, hs) in enumerate(chain(family, x, maps)):
                m = family[i]
                entry = d_in * m.width if i == 0 else handoff_macs(family[i - 1], m, cfg, maps is not None)
                lg += m.logits(hs, start)
                cs.append(base + exit_macs(m.width, n_classes, len(hs), entry))
                base = cs[-1][-1]
            out[name] = (lg, np.concatenate(cs))
    return out


def handoff_accuracy(family, x, y, stitches=None) -> list[float]:
    """Accuracy of every member m > 0 at its last head when it continues from the chain's
    hand-off (no early exit anywhere): can a member use the features it is given?"""
    import torch

    from emergelab.worlds._family_nets import chain

    with torch.no_grad():
        ch = chain(family, x, stitches)
        return [float((family[i].logits(hs, start)[-1].argmax(1) == y).float().mean())
                for i, (start, hs) in enumerate(ch) if i > 0]


def kind_accuracy(family, x, y, kind, n_kinds: int) -> np.ndarray:
    """Accuracy (members, kinds) of every member's last head on each item kind."""
    import torch

    with torch.no_grad():
        out = np.zeros((len(family), n_kinds))
        for i, m in enumerate(family):
            right = m.logits(m.hidden(x))[-1].argmax(1) == y
            for k in range(n_kinds):
                out[i, k] = right[kind == k].float().mean().item()
    return out
