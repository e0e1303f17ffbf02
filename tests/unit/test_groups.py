"""Cayley tables of the group specs used by the grokking world."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from emergelab.worlds._groups import parse_group


def _is_latin_square(t: np.ndarray) -> bool:
    n = len(t)
    full = np.arange(n)
    return all(np.array_equal(np.sort(t[i]), full) and np.array_equal(np.sort(t[:, i]), full) for i in range(n))


def _is_associative(t: np.ndarray) -> bool:
    # (a∘b)∘c == a∘(b∘c) for all triples at once: t[t[a, b], c] vs t[a, t[b, c]]
    n = len(t)
    left = t[t[:, :, None], np.arange(n)[None, None, :]]  # (a, b, c)
    right = t[np.arange(n)[:, None, None], t[None, :, :]]  # (a, b, c)
    return bool(np.array_equal(left, right))


def test_cyclic_is_addition_mod_m():
    g = parse_group("Z7")
    a, b = np.meshgrid(np.arange(7), np.arange(7), indexing="ij")
    assert g.order == 7 and g.is_cyclic and g.kind == "cyclic"
    assert np.array_equal(g.table, (a + b) % 7)


def test_product_is_componentwise_addition():
    g = parse_group("Z2 x Z3")  # spaces and case are forgiven
    assert g.spec == "Z2xZ3" and g.order == 6 and not g.is_cyclic and g.is_abelian
    for x, y in itertools.product(range(6), repeat=2):
        (x1, x2), (y1, y2) = divmod(x, 3), divmod(y, 3)
        assert g.table[x, y] == ((x1 + y1) % 2) * 3 + (x2 + y2) % 3
    t = parse_group("Z4xZ2xZ3").table
    assert _is_latin_square(t) and _is_associative(t)


def test_associativity_check_catches_a_non_group():
    t = parse_group("Z5").table.copy()
    t[1, 2], t[1, 3] = t[1, 3], t[1, 2]  # still a Latin square row, no longer associative
    assert not _is_associative(t)


@pytest.mark.parametrize("spec,order", [("S3", 6), ("S4", 24)])
def test_symmetric_group_axioms(spec, order):
    t = parse_group(spec).table
    assert t.shape == (order, order)
    assert _is_latin_square(t)
    assert np.array_equal(t[0], np.arange(order)) and np.array_equal(t[:, 0], np.arange(order))  # identity
    assert _is_associative(t)
    assert not np.array_equal(t, t.T)  # non-abelian


def test_symmetric_composition_convention():
    # S3 in lexicographic order: index 1 is (0 2 1), index 2 is (1 0 2); (a∘b)(i) = a(b(i)).
    perms = list(itertools.permutations(range(3)))
    t = parse_group("S3").table
    for i, j in itertools.product(range(6), repeat=2):
        comp = tuple(perms[i][perms[j][k]] for k in range(3))
        assert perms[t[i, j]] == comp


@pytest.mark.parametrize("bad", ["", "Z", "Z1", "Z0xZ3", "S1", "S7", "A5", "Z5+Z3", "D4", "Z100000"])
def test_bad_specs_raise(bad):
    with pytest.raises(ValueError, match="Z|S|group|element"):
        parse_group(bad)
