from __future__ import annotations

from datetime import timedelta

import pytest

from workflows.engine.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT2H", timedelta(hours=2)),
        ("P3D", timedelta(days=3)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P2W", timedelta(weeks=2)),
        ("PT90M", timedelta(minutes=90)),
        ("PT1.5S", timedelta(seconds=1.5)),
        ("-P3D", timedelta(days=-3)),
        ("PT0S", timedelta(0)),
    ],
)
def test_parse_duration_returns_exact_lengths(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P1Y2M3D", "-P2M"])
def test_parse_duration_refuses_months_and_years_with_advice(text: str) -> None:
    with pytest.raises(DurationError, match="use days or weeks"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "3 days", "PT-1H", "P1W2D", "1D"])
def test_parse_duration_refuses_garbage_with_examples(text: str) -> None:
    with pytest.raises(DurationError, match="not an ISO 8601 duration"):
        parse_duration(text)


def test_parse_duration_refuses_non_strings_as_a_duration_error() -> None:
    with pytest.raises(DurationError):
        parse_duration(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["PT2H", "P3D", "P1DT12H", "PT1H30M", "-P3D", "PT0S", "PT0.5S"])
def test_format_duration_round_trips(text: str) -> None:
    assert format_duration(parse_duration(text)) == text
