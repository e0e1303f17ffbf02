"""Shared fixtures: a throwaway store; the toy world (tests/toyworld.py) registered."""

from __future__ import annotations

import sys

import pytest

from emergelab.cli import main

from tests.toyworld import ToyConfig  # noqa: F401  (registers the toy world)


@pytest.fixture
def store(tmp_path):
    from emergelab.lab.store import Store

    return Store(tmp_path / "store")


def cli(capsys, monkeypatch, *args) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["emergelab", *args])
    with pytest.raises(SystemExit) as e:
        main()
    out = capsys.readouterr()
    return e.value.code or 0, out.out, out.err


@pytest.fixture
def run_cli(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("EMERGELAB_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("COLUMNS", "200")
    return lambda *a: cli(capsys, monkeypatch, *a)
