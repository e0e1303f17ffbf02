"""Every registered world, tiny preset: the same seed gives identical metrics and summary;
another seed gives something different (metrics or summary)."""

import json

import numpy as np
import pytest

from emergelab.lab.registry import worlds
from emergelab.lab.sweep import run_world

WORLDS = [name for name in worlds() if name != "toy" and "tiny" in worlds()[name].preset_names()]


def _fingerprint(rec):
    cols = {name: rec.series(name) for name in rec.names}
    return cols, json.dumps(rec.summary, sort_keys=True, default=str)


def _same(a, b) -> bool:
    (ca, sa), (cb, sb) = a, b
    return sa == sb and ca.keys() == cb.keys() and all(
        np.array_equal(ca[k][0], cb[k][0]) and np.array_equal(ca[k][1], cb[k][1], equal_nan=True) for k in ca)


def test_every_world_has_a_tiny_preset():
    assert set(WORLDS) == {n for n in worlds() if n != "toy"}


@pytest.mark.parametrize("name", WORLDS)
def test_same_seed_same_numbers_other_seed_other_numbers(name):
    a = _fingerprint(run_world(name, "tiny", seed=1))
    b = _fingerprint(run_world(name, "tiny", seed=1))
    c = _fingerprint(run_world(name, "tiny", seed=2))
    assert _same(a, b), f"{name}: the same seed gave different numbers"
    assert not _same(a, c), f"{name}: seeds 1 and 2 gave identical numbers"
