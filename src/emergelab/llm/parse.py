"""Structured output: parse a reply against a small JSON schema, strictly, then cheaply repaired.

`parse(text, schema) -> (value, ok, repaired)`. Strict: the whole reply is the JSON value
(a number reply may be a bare number). Cheap repairs, in order: strip code fences and the
prose around the first JSON value; close a reply cut off mid-object (unbalanced quotes and
brackets, a dangling comma or key); single quotes and trailing commas; for a number, the one
number in the text ("Sure, 3.5 units"; numbers that name things, as in "round 2" or "agent
1_3", do not count), or of several the one marked as the answer ("Answer: 3"). A value that still does not parse or does
not fit the schema is not guessed at: `ok` is False and the caller falls back to its declared
default (and counts it).

Schemas: the subset worlds use — type number / integer / string / boolean / object / array,
enum, minimum / maximum (numbers are clipped into range: a repair), required, properties,
items. Unknown keywords are ignored.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_NUM = re.compile(r"[-+]?(?:\d+(?:[.,]\d+)?|\.\d+)(?:[eE][-+]?\d+)?")
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.S)


class SchemaError(ValueError):
    pass


def parse(text: str, schema: dict[str, Any]) -> tuple[Any, bool, bool]:
    """(value, ok, repaired): ok False means nothing usable was found."""
    strict = _loads(text.strip())
    if strict is not _FAIL:
        try:
            value, clipped = _check(strict, schema)
            return value, True, clipped
        except SchemaError:
            pass
    for cand in _candidates(text, schema):
        try:
            value, _ = _check(cand, schema)
            return value, True, True
        except SchemaError:
            continue
    return None, False, False


_FAIL = object()


def _loads(s: str) -> Any:
    try:
        return json.loads(s)
    except (ValueError, RecursionError):
        return _FAIL


def _candidates(text: str, schema: dict[str, Any]):
    """Repaired readings of the text, cheapest first."""
    body = text.strip()
    m = _FENCE.search(body)
    if m:
        body = m.group(1).strip()
        v = _loads(body)
        if v is not _FAIL:
            yield v
    kind = schema.get("type")
    if kind in ("object", "array") or "properties" in schema:
        start = min((i for i in (body.find("{"), body.find("[")) if i >= 0), default=-1)
        if start >= 0:
            frag = body[start:]
            for f in (frag, _close(frag), _close(_unsingle(frag))):
                v = _loads(_detrail(f))
                if v is not _FAIL:
                    yield v
                    break
            else:  # prose after the value: cut at each closing bracket from the end
                for end in range(len(frag), 0, -1):
                    if frag[end - 1] in "}]":
                        v = _loads(_detrail(frag[:end]))
                        if v is not _FAIL:
                            yield v
                            break
    elif kind in ("number", "integer"):
        # one number in prose is the answer ("Sure, 3 units"); of several, only one marked as the
        # answer ("... Answer: 3") is: "In round 2 I give 3 of my 10" is ambiguous, not a 2
        nums = [m.group(0) for m in _NUM.finditer(body) if not _label(body, m.start(), m.end())]
        marked = [m.group(1) for m in _MARKED.finditer(body) if not _label(body, m.start(1), m.end(1))]
        if len(nums) == 1:
            yield float(nums[0].replace(",", "."))
        elif len(marked) == 1:
            yield float(marked[0].replace(",", "."))
    elif kind == "boolean":
        low = body.lower()
        for word, val in (("true", True), ("yes", True), ("false", False), ("no", False)):
            if re.search(rf"\b{word}\b", low):
                yield val
                return
    elif kind == "string" and "enum" in schema:
        low = body.lower()
        hits = [e for e in schema["enum"] if re.search(rf"\b{re.escape(str(e).lower())}\b", low)]
        if len(hits) == 1:  # one and only one of the allowed words: anything else is a guess
            yield hits[0]
    elif kind == "string":
        yield body.strip().strip('"')


_MARKED = re.compile(r"\b(?:answer|give|donate)\w*\s*(?:is|:|=)?\s*(" + _NUM.pattern + ")", re.I)


_LABEL = re.compile(r"(?:generation|round|step|turn|agent|player|game|#)\s*$", re.I)


def _label(text: str, a: int, b: int) -> bool:
    """Is text[a:b], a number, naming something rather than answering? Glued to a name ("1_3",
    "gpt4", "3rd"), or after a label word ("round 2", "generation 1")."""
    glued = (a > 0 and (text[a - 1].isalpha() or text[a - 1] == "_")) or (b < len(text) and (text[b].isalpha() or text[b] == "_"))
    return glued or bool(_LABEL.search(text[max(0, a - 16):a]))


def _detrail(s: str) -> str:
    return re.sub(r",\s*([}\]])", r"\1", s)


def _unsingle(s: str) -> str:
    return s.replace("'", '"') if '"' not in s else s


def _close(frag: str) -> str:
    """Close a JSON fragment cut off mid-way: an open string, a dangling key or comma, open
    brackets."""
    stack, in_str, esc = [], False, False
    for ch in frag:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    out = frag + ('"' if in_str else "")
    out = re.sub(r'(,\s*"[^"]*"\s*:?\s*|,\s*|:\s*)$', "", out.rstrip())  # a dangling key/comma/colon
    return out + "".join(reversed(stack))


def _check(v: Any, schema: dict[str, Any]) -> tuple[Any, bool]:
    """(the value fitted to the schema, whether it had to be clipped) or SchemaError."""
    kind = schema.get("type")
    clipped = False
    if "enum" in schema:
        if isinstance(v, str):
            low = {str(e).lower(): e for e in schema["enum"]}
            if v.strip().lower() in low:
                return low[v.strip().lower()], v not in schema["enum"]
        if v not in schema["enum"]:
            raise SchemaError(f"{v!r} not in {schema['enum']}")
        return v, False
    if kind in ("number", "integer"):
        if isinstance(v, str):
            t = _loads(v.strip())
            if t is _FAIL or isinstance(t, str):
                raise SchemaError("not a number")
            v, clipped = t, True
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise SchemaError("not a number")
        if kind == "integer":
            if float(v) != int(v):
                raise SchemaError("not an integer")
            v = int(v)
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if lo is not None and v < lo:
            v, clipped = lo, True
        if hi is not None and v > hi:
            v, clipped = hi, True
        return v, clipped
    if kind == "string":
        if not isinstance(v, str):
            raise SchemaError("not a string")
        return v, False
    if kind == "boolean":
        if not isinstance(v, bool):
            raise SchemaError("not a boolean")
        return v, False
    if kind == "array":
        if not isinstance(v, list):
            raise SchemaError("not an array")
        items = schema.get("items")
        if items:
            out = [_check(x, items) for x in v]
            return [x for x, _ in out], any(c for _, c in out)
        return v, False
    if kind == "object" or "properties" in schema:
        if not isinstance(v, dict):
            raise SchemaError("not an object")
        for k in schema.get("required", ()):
            if k not in v:
                raise SchemaError(f"missing {k!r}")
        out = dict(v)
        for k, sub in schema.get("properties", {}).items():
            if k in out:
                out[k], c = _check(out[k], sub)
                clipped |= c
        return out, clipped
    return v, False
