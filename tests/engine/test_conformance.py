"""The shared JsonLogic compatibility suite: every case must give its ``result``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workflows.engine.conditions import evaluate

SUITE = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "jsonlogic-tests.json"


def _cases() -> list[dict[str, Any]]:
    if not SUITE.is_file():
        raise FileNotFoundError(f"The JsonLogic conformance suite is missing: {SUITE.resolve()}")
    return [case for case in json.loads(SUITE.read_text()) if isinstance(case, dict)]


CASES = _cases()


def test_the_suite_has_all_278_cases() -> None:
    assert len(CASES) == 278


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{i}:{c.get('description', '')[:40]}" for i, c in enumerate(CASES)]
)
def test_conformance_case(case: dict[str, Any]) -> None:
    found = evaluate(case["rule"], case.get("data"))
    assert _same(found, case["result"]), (found, case["result"])


def _same(found: Any, expected: Any) -> bool:
    """Compare like JSON does: true is not 1, and [1] is not (1,)."""
    if isinstance(expected, bool) or isinstance(found, bool):
        return type(found) is type(expected) and found == expected
    if isinstance(expected, list):
        return isinstance(found, list) and len(found) == len(expected) and all(map(_same, found, expected))
    if isinstance(expected, dict):
        return (
            isinstance(found, dict)
            and found.keys() == expected.keys()
            and all(_same(found[key], expected[key]) for key in expected)
        )
    if isinstance(expected, (int, float)):
        return isinstance(found, (int, float)) and found == expected
    return type(found) is type(expected) and found == expected
