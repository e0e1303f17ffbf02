"""Shared fixtures: a throwaway store; the toy world (tests/toyworld.py) registered."""

from __future__ import annotations

import pytest

from tests.toyworld import ToyConfig  # noqa: F401  (registers the toy world)


@pytest.fixture
def store(tmp_path):
    from emergelab.lab.store import Store

    return Store(tmp_path / "store")
