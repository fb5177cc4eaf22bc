"""Enrollment variables and the answer paths that fill them.

Steps such as ``http_request`` and ``lookup`` write variables; rules, expressions and Liquid templates read them
as ``enrollment.vars.<name>``. They live in the enrollment's state (``EnrollmentState.vars``), so they are stored
with it between runs, and are bounded: at most ``MAX_VARS_BYTES`` of JSON per enrollment. A step whose writes
would pass the bound fails with the reason instead of growing the row without limit.

Paths are a small, documented subset of JSONPath, not a library: ``$`` (the whole answer), ``.name``,
``['any key']`` / ``["any key"]`` and ``[index]`` (``[-1]`` is the last item). Why a subset: a mapping names one
value, so filters, wildcards and recursive descent (``..``) would only add ways to match many values or none
by surprise; a subset this small parses in one pass, fails with a precise message at publish, and costs no
dependency in the engine, which imports nothing but the standard library and pydantic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_VARS",
    "MAX_VARS_BYTES",
    "VAR_NAME",
    "MissingPath",
    "VarsTooLarge",
    "answer_mapped",
    "parse_path",
    "path_problem",
    "value_at",
    "vars_merged",
]

MAX_VARS_BYTES = 32 * 1024
MAX_VARS = 50  # per mapping
MAX_PATH_LENGTH = 500
MAX_SEGMENTS = 32
VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

_SEGMENT = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_-]*)      # .name
      | \[(?P<index>-?\d{1,9})\]               # [0], [-1]
      | \['(?P<single>[^']*)'\]                # ['any key']
      | \["(?P<double>[^"]*)"\]                # ["any key"]
    """,
    re.VERBOSE,
)

Segment = str | int


class MissingPath(Exception):
    """The answer has nothing at a mapped path (the message says where it stopped)."""


class VarsTooLarge(Exception):
    """The enrollment's variables would be larger than ``MAX_VARS_BYTES`` of JSON."""


def parse_path(text: str) -> tuple[Segment, ...]:
    """Return the segments of a path such as ``$.items[0]['unit price']``; raise ValueError saying what is wrong."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise ValueError("a path starts with '$' (the whole answer), e.g. $.data.id")
    if len(text) > MAX_PATH_LENGTH:
        raise ValueError(f"a path has at most {MAX_PATH_LENGTH} characters")
    segments: list[Segment] = []
    position = 1
    while position < len(text):
        match = _SEGMENT.match(text, position)
        if match is None:
            raise ValueError(
                f"cannot read {text[position:position + 20]!r} at character {position + 1}: use .name, "
                "['key'] or [index] (filters, wildcards and '..' are not supported)"
            )
        if match["index"] is not None:
            segments.append(int(match["index"]))
        else:
            key = next(group for group in (match["name"], match["single"], match["double"]) if group is not None)
            segments.append(key)
        position = match.end()
    if len(segments) > MAX_SEGMENTS:
        raise ValueError(f"a path has at most {MAX_SEGMENTS} parts")
    return tuple(segments)


def path_problem(text: Any) -> str | None:
    """Return why ``text`` is not a usable path, or None."""
    try:
        parse_path(text)
    except ValueError as error:
        return str(error)
    return None


def _describe(segments: tuple[Segment, ...]) -> str:
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in segments)


def value_at(answer: Any, path: str) -> Any:
    """Return the value of ``answer`` at ``path``; raise MissingPath (with where it stopped) when there is none."""
    value = answer
    segments = parse_path(path)
    for depth, part in enumerate(segments):
        if isinstance(part, int) and isinstance(value, list):
            if -len(value) <= part < len(value):
                value = value[part]
                continue
            count = f"{len(value)} item" + ("" if len(value) == 1 else "s")
            raise MissingPath(f"{path}: {_describe(segments[:depth])} has {count}, so no item [{part}]")
        if isinstance(part, str) and isinstance(value, Mapping):
            if part in value:
                value = value[part]
                continue
            keys = ", ".join(sorted(map(str, value))[:10])
            raise MissingPath(f"{path}: {_describe(segments[:depth])} has no key {part!r}"
                              + (f" (it has: {keys})" if keys else " (it is an empty object)"))
        kind = type(value).__name__ if value is not None else "null"
        wanted = "a list" if isinstance(part, int) else "an object"
        raise MissingPath(f"{path}: {_describe(segments[:depth])} is {_json_kind(kind)}, not {wanted}")
    return value


def _json_kind(python_kind: str) -> str:
    return {"dict": "an object", "list": "a list", "str": "a string", "int": "a number", "float": "a number",
            "bool": "a boolean", "null": "null"}.get(python_kind, python_kind)


def answer_mapped(answer: Any, mapping: Mapping[str, str]) -> dict[str, Any]:
    """Return ``{var name: value at its path}``; raise MissingPath for the first path the answer lacks."""
    return {name: value_at(answer, path) for name, path in mapping.items()}


def vars_merged(current: Mapping[str, Any], written: Mapping[str, Any]) -> dict[str, Any]:
    """Return the variables after a step writes ``written`` (a name written again is replaced); raise
    VarsTooLarge when they would pass ``MAX_VARS_BYTES`` of JSON."""
    merged = {**current, **written}
    size = len(json.dumps(merged, ensure_ascii=False, separators=(",", ":"), default=str).encode())
    if size > MAX_VARS_BYTES:
        names = ", ".join(sorted(written))
        raise VarsTooLarge(
            f"The enrollment's variables would take {size:,} bytes of JSON, more than the limit of "
            f"{MAX_VARS_BYTES:,} (writing {names}). Map smaller parts of the answer (a field, not the whole list)."
        )
    return merged
