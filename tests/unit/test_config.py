"""lab/config: override parsing, validation, hashing; lab/registry: lookup and presets."""

import pytest

from emergelab.lab.config import config_hash, field_docs, make_config, parse_overrides, to_dict
from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from tests.toyworld import ToyConfig


def test_overrides_parse_to_field_types():
    cfg = make_config(ToyConfig, parse_overrides(["steps=1e3", "noise=0.5", "mode=down", "widths=1,2,3", "flag=yes"]))
    assert cfg.steps == 1000 and isinstance(cfg.steps, int)
    assert cfg.noise == 0.5 and cfg.mode == "down" and cfg.widths == (1, 2, 3) and cfg.flag is True


def test_tuple_accepts_brackets_and_single_value():
    assert make_config(ToyConfig, {"widths": "(5, 6)"}).widths == (5, 6)
    assert make_config(ToyConfig, {"widths": "7"}).widths == (7,)


@pytest.mark.parametrize(
    "over, match",
    [
        ({"stpes": "3"}, r"unknown key 'stpes'.*did you mean 'steps'.*valid keys: seed, steps"),
        ({"steps": "ten"}, r"bad value 'ten' for 'steps': expected an integer"),
        ({"steps": "1.5"}, r"expected an integer"),
        ({"noise": "abc"}, r"expected a number"),
        ({"mode": "sideways"}, r"choose one of up, down"),
        ({"flag": "maybe"}, r"expected true or false"),
        ({"widths": "1,x"}, r"expected an integer"),
        ({"steps": "5"}, r"invalid config: steps must be >= 10"),
    ],
)
def test_bad_overrides_say_what_to_do(over, match):
    with pytest.raises(UserError, match=match):
        make_config(ToyConfig, over)


def test_override_syntax_errors():
    with pytest.raises(UserError, match="write key=value"):
        parse_overrides(["steps"])
    with pytest.raises(UserError, match="key is empty"):
        parse_overrides(["=3"])


def test_hash_is_stable_and_sensitive():
    a = make_config(ToyConfig, {"seed": 1})
    assert config_hash("toy", a) == config_hash("toy", make_config(ToyConfig, {"seed": "1"}))
    assert config_hash("toy", a) != config_hash("toy", make_config(ToyConfig, {"seed": 2}))
    assert config_hash("toy", a) != config_hash("other", a)
    assert len(config_hash("toy", a)) == 12
    assert to_dict(a)["widths"] == [4, 8]


def test_every_field_is_documented():
    assert all(field_docs(ToyConfig).values())


def test_config_is_frozen():
    cfg = ToyConfig()
    with pytest.raises(Exception):
        cfg.steps = 3  # type: ignore[misc]


def test_registry_presets_and_suggestions():
    w = get_world("toy")
    assert w.make_config("quick").steps == 100
    assert w.make_config("quick", {"steps": "150"}).steps == 150  # user beats preset
    assert w.make_config("paper").steps == 200
    with pytest.raises(UserError, match=r"unknown preset 'quik'.*did you mean 'quick'"):
        w.make_config("quik")
    with pytest.raises(UserError, match=r"unknown world 'tyo'.*see: emergelab worlds"):
        get_world("tyo")
