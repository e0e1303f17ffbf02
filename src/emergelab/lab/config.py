"""Frozen dataclass configs: documented fields, `key=value` overrides, stable hashes.

A world's config is a `@dataclass(frozen=True)` whose every field is declared with
`param(default, "one-line doc")`. The defaults reproduce the paper's setting; presets are
dicts of overrides on top of them. Overrides arrive as strings from the command line
(`-s lr=3e-4 -s activation=relu -s group=S5`) and are parsed to the field's annotated type.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from typing import Any, Literal, get_args, get_origin

from emergelab.errors import UserError


def param(default: Any, doc: str) -> Any:
    """A config field with its one-line documentation (shown by `emergelab worlds -v`)."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("config defaults must be immutable: use a tuple instead of a list")
    return dataclasses.field(default=default, metadata={"doc": doc})


def field_docs(cls: type) -> dict[str, str]:
    """{field name: one-line doc} in declaration order."""
    return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(cls)}


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def type_name(tp: Any) -> str:
    """A short human name for an annotated type, for help and error text."""
    if get_origin(tp) is Literal:
        return "{" + "|".join(str(a) for a in get_args(tp)) + "}"
    if get_origin(tp) is tuple:
        args = get_args(tp)
        inner = type_name(args[0]) if args else "value"
        return f"tuple of {inner} (comma-separated)"
    if get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in get_args(tp))
    return getattr(tp, "__name__", str(tp))


_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


def parse_value(text: Any, tp: Any, key: str) -> Any:
    """Parse `text` (a string, or an already-typed value) into the annotated type `tp`."""
    origin = get_origin(tp)
    if origin is Literal:
        choices = get_args(tp)
        for c in choices:
            if text == c or str(c) == str(text).strip():
                return c
        raise UserError(f"bad value {text!r} for '{key}': choose one of {', '.join(map(str, choices))}")
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if type(None) in args and str(text).strip().lower() in ("none", "null", ""):
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return parse_value(text, a, key)
            except UserError:
                continue
        raise UserError(f"bad value {text!r} for '{key}': expected {type_name(tp)}")
    if origin is tuple:
        args = get_args(tp)
        inner = args[0] if args else str
        if isinstance(text, (tuple, list)):
            items = list(text)
        else:
            s = str(text).strip().strip("()[]")
            items = [p.strip() for p in s.split(",") if p.strip()] if s else []
        return tuple(parse_value(i, inner, key) for i in items)
    if tp is bool:
        if isinstance(text, bool):
            return text
        s = str(text).strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise UserError(f"bad value {text!r} for '{key}': expected true or false")
    if tp is int:
        if isinstance(text, bool):
            raise UserError(f"bad value {text!r} for '{key}': expected an integer")
        if isinstance(text, int):
            return text
        s = str(text).strip().replace("_", "")
        try:
            return int(s)
        except ValueError:
            try:  # allow 1e4 when it is integral
                f = float(s)
                if f.is_integer():
                    return int(f)
            except ValueError:
                pass
        raise UserError(f"bad value {text!r} for '{key}': expected an integer")
    if tp is float:
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            return float(text)
        try:
            return float(str(text).strip())
        except ValueError:
            raise UserError(f"bad value {text!r} for '{key}': expected a number") from None
    if tp is str:
        return str(text)
    raise TypeError(f"config field '{key}' has unsupported type {tp!r}")


def check_device(device: str, auto: bool = False) -> None:
    """A torch world's `device` field: cpu, cuda, cuda:N (and auto where the world picks)."""
    names = ("auto", "cpu", "cuda") if auto else ("cpu", "cuda")
    if not (device in names or device.startswith("cuda:")):
        raise ValueError(f"device must be {', '.join(names)} or cuda:N, got {device!r}")


def suggest(word: str, options: typing.Iterable[str]) -> str:
    """'; did you mean 'x'?' or ''."""
    m = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean '{m[0]}'?" if m else ""


def parse_overrides(items: typing.Iterable[str]) -> dict[str, str]:
    """['lr=1e-3', 'group=S5'] -> {'lr': '1e-3', 'group': 'S5'} (values still strings)."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"bad override {item!r}: write key=value, e.g. -s lr=3e-4")
        k, v = item.split("=", 1)
        k = k.strip().replace("-", "_")
        if not k:
            raise UserError(f"bad override {item!r}: the key is empty; write key=value")
        out[k] = v.strip()
    return out


def make_config(cls: type, overrides: dict[str, Any] | None = None, *, world: str = "") -> Any:
    """Build `cls` from defaults plus overrides (strings or typed values), validated."""
    overrides = dict(overrides or {})
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for k in overrides:
        if k not in names:
            where = f" of world '{world}'" if world else ""
            raise UserError(
                f"unknown key '{k}'{where}{suggest(k, names)} (valid keys: {', '.join(names)})"
            )
    kwargs = {k: parse_value(v, hints[k], k) for k, v in overrides.items()}
    try:
        cfg = cls(**kwargs)
    except (ValueError, TypeError) as e:  # __post_init__ validation
        raise UserError(f"invalid config: {e}") from None
    return cfg


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def config_hash(world: str, cfg: Any) -> str:
    """A stable 12-hex-digit hash of the world name and every config value (seed included)."""
    blob = json.dumps({"world": world, "config": to_dict(cfg)}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def diff_from_default(cfg: Any) -> dict[str, Any]:
    """Only the fields that differ from the class defaults (for short run labels)."""
    default = type(cfg)()
    return {
        f.name: getattr(cfg, f.name)
        for f in dataclasses.fields(cfg)
        if getattr(cfg, f.name) != getattr(default, f.name)
    }
