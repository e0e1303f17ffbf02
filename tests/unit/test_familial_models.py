"""The familial_models world's parts: config validation (bad input is one line, exit 2), the
compute count against hand-counted multiply-adds, the frontier / area / dominance measure on
constructed curves, the task's labels and the early-exit sweep on constructed confidences."""

from __future__ import annotations

import math

import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.worlds._family_frontier import acc_at, area, dominance, frontier
from emergelab.worlds.familial_models import FamilialModelsConfig


def _cfg(**kw) -> FamilialModelsConfig:
    return get_world("familial_models").make_config("tiny", kw)


@pytest.mark.parametrize("bad", [{"thresholds": "0.5,1.5"}, {"thresholds": "0,0.5"}, {"thresholds": "-0.1"},
                                 {"widths": ""}, {"widths": "8"}, {"widths": "8,8", "depths": "1,2"},
                                 {"widths": "32,8", "depths": "1,2"}, {"depths": "1"}, {"depths": "0,2"},
                                 {"orders": "1,9"}, {"lr": 0}, {"entry": -1}, {"steps": 0}])
def test_bad_config_is_one_line_user_error(bad):
    with pytest.raises(UserError) as e:
        get_world("familial_models").make_config("tiny", bad)
    assert "\n" not in str(e.value) and str(e.value).startswith("invalid config")


def test_exit_macs_by_hand():
    from emergelab.worlds._family_nets import exit_macs

    # width 8, 4 classes, 3 exits, from a 19-dim input: 19*8 = 152, then + 64 per layer, + 32 per head
    assert exit_macs(8, 4, 3, 152).tolist() == [152 + 32, 152 + 64 + 64, 152 + 128 + 96]
    # no early exit: one head only
    assert exit_macs(8, 4, 3, 152, head_every=False)[-1] == 152 + 128 + 32


def test_route_costs_count_every_layer_used():
    """Every route's cumulative costs, counted by hand for a two-member family (tiny preset:
    input 6 + 2 kinds = 8, widths 4, 8, depths 1, 2, feature_dim 4: member 1 enters at layer 1)."""
    import torch

    from emergelab.worlds._family_eval import routes
    from emergelab.worlds._family_nets import build, fit_stitches

    cfg = _cfg()
    fam = build(cfg, 8, 4, torch.device("cpu"))
    x = torch.randn(5, 8, generator=torch.Generator().manual_seed(0))
    r = routes(cfg, fam, x, 4, fit_stitches(fam, torch.randn(50, 8)))
    m0 = 8 * 4 + 4 * 4  # member 0: input layer + one head
    m1 = [8 * 8 + 8 * 4, 8 * 8 + 8 * 8 + 2 * 8 * 4]  # member 1: exits at layers 1, 2
    assert r["member0_exit"][1].tolist() == [m0]
    assert r["member1_exit"][1].tolist() == m1
    assert r["member1_full"][1].tolist() == [8 * 8 + 8 * 8 + 8 * 4]
    assert r["family_recompute"][1].tolist() == [m0, m0 + m1[0], m0 + m1[1]]
    hand = 4 * 4 + 4 * 8  # P_0 (4 -> 4) + Q_1 (4 -> 8), then member 1's head at layer 1, layer 2 and head
    assert r["family"][1].tolist() == [m0, m0 + hand + 32, m0 + hand + 64 + 64]
    stitch = 4 * 8  # the linear stitch 4 -> 8
    assert r["family_stitch"][1].tolist() == [m0, m0 + stitch + 32, m0 + stitch + 64 + 64]
    assert all(len(lg) == len(c) for lg, c in r.values())


def test_sweep_exits_at_the_first_confident_head():
    import torch

    from emergelab.worlds._family_eval import sweep

    big = 10.0
    # 3 queries, 2 exits; query 0 confident (and right) at exit 0, query 1 only at exit 1 (wrong at 0),
    # query 2 never
    e0 = torch.tensor([[big, 0, 0, 0], [0, 0, 0.1, 0], [0, 0, 0.1, 0]])
    e1 = torch.tensor([[0, big, 0, 0], [0, big, 0, 0], [0, 0, 0, 0.1]])
    y = torch.tensor([0, 1, 3])
    macs, acc, last = sweep([e0, e1], [10.0, 30.0], y, (0.9, 0.25))
    assert macs.tolist() == pytest.approx([(10 + 30 + 30) / 3, 10.0])
    assert acc.tolist() == pytest.approx([1.0, 1 / 3])  # all right at 0.9; exit 0 only gets query 0 right
    assert last.tolist() == pytest.approx([2 / 3, 0.0])


def test_frontier_drops_dominated_points():
    c, a = frontier([10, 1, 5, 20, 5, 30], [0.5, 0.3, 0.6, 0.55, 0.4, 0.9])
    assert c.tolist() == [1, 5, 30] and a.tolist() == [0.3, 0.6, 0.9]


def test_acc_at_is_the_best_within_budget():
    c, a = [1, 10, 100], [0.3, 0.6, 0.9]
    assert acc_at(c, a, [0.5, 1, 9.9, 10, 1000], floor=0.25).tolist() == [0.25, 0.3, 0.3, 0.6, 0.9]


def test_area_of_step_frontiers_by_hand():
    # one point at the bottom of the range: its accuracy everywhere
    assert area([1], [0.7], 1, 100) == pytest.approx(0.7)
    # 0.3 on [1, 10), 0.9 on [10, 100]: half the log range each
    assert area([1, 10], [0.3, 0.9], 1, 100) == pytest.approx(0.6)
    # nothing below 10: the floor there
    assert area([10], [0.8], 1, 100, floor=0.2) == pytest.approx(0.5)
    # points outside the range: clipped; a point beyond hi adds nothing
    assert area([0.1, 1000], [0.4, 1.0], 1, 100) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        area([1], [0.5], 10, 1)


def test_dominance_on_constructed_curves():
    a = ([1, 10, 100], [0.5, 0.7, 0.9])
    below = ([2, 20, 200], [0.4, 0.6, 0.9])  # every point matched by a cheaper, better one
    assert dominance(*a, *below) == 1.0
    assert dominance(*below, *a) == pytest.approx(0.0)  # nothing of `below` is that cheap and good
    crossing = ([1, 50], [0.6, 0.65])  # better at 1, worse at 50 than a's 0.7 at 10
    assert dominance(*a, *crossing) == pytest.approx(0.5)
    assert dominance(*crossing, *a) == pytest.approx(1 / 3)


def test_frontier_rejects_bad_points():
    for c, a in (([], []), ([1, 2], [0.5]), ([0, 1], [0.5, 0.6]), ([1], [math.nan])):
        with pytest.raises(ValueError):
            frontier(c, a)


def test_labels_are_parities_of_signs():
    import torch

    from emergelab.worlds._family_data import draw, rules

    cfg = _cfg(orders=(1, 2, 3), input_dim=8)
    proj = rules(cfg)
    assert [p.shape for p in proj] == [(8, 2), (8, 4), (8, 6)]
    x, y, kind = draw(3000, cfg, proj, torch.Generator().manual_seed(0))
    assert x.shape == (3000, 8 + 3) and torch.equal(x[:, 8:].argmax(1), kind)
    z = x[:, :8]
    for k, o in enumerate(cfg.orders):
        m = kind == k
        s = (z[m] @ proj[k] > 0).long()
        assert torch.equal(y[m], 2 * (s[:, :o].sum(1) % 2) + s[:, o:].sum(1) % 2)
    counts = torch.bincount(y, minlength=4).float() / len(y)
    assert (counts - 0.25).abs().max() < 0.04  # balanced classes: chance is 0.25
    # order 1 is linearly separable: argmax of the four sign combinations' scores
    m = kind == 0
    u = z[m] @ proj[0]  # (n, 2)
    scores = torch.stack([-u[:, 0] - u[:, 1], -u[:, 0] + u[:, 1], u[:, 0] - u[:, 1], u[:, 0] + u[:, 1]], 1)
    assert torch.equal(scores.argmax(1), y[m])


def test_entry_layer_leaves_the_receiver_a_layer():
    from emergelab.worlds._family_nets import entry_layer

    cfg = _cfg(widths=(4, 8, 16), depths=(2, 3, 3))
    assert [entry_layer(cfg, m) for m in (1, 2)] == [2, 2]  # sender depth 2; 3 capped at 3 - 1
    cfg = _cfg(widths=(4, 8), depths=(1, 1), entry=5)
    assert entry_layer(cfg, 1) == 1
