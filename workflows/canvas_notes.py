"""Sticky notes on the builder's canvas: text the people editing a workflow leave for each other.

Notes travel in the builder's graph JSON as a top-level ``notes`` list beside ``nodes`` and ``edges``. They are kept
in the version's ``notes`` column, copied into each published version with its graph, and answered back in the
graph; the engine never sees them (its graph parser ignores the key, and they are not steps or connections).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from penguinflow.common.errors import InvalidInput
from workflows.engine.errors import pydantic_details

__all__ = ["MAX_NOTES", "MAX_NOTE_TEXT", "notes_parse"]

MAX_NOTES = 100
MAX_NOTE_TEXT = 5_000
# Far beyond any canvas people scroll, yet small enough that a coordinate never turns into an overflow anywhere.
_MAX_COORDINATE = 1_000_000


class _Position(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
    x: int | float = Field(ge=-_MAX_COORDINATE, le=_MAX_COORDINATE)
    y: int | float = Field(ge=-_MAX_COORDINATE, le=_MAX_COORDINATE)


class _Note(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
    id: str = Field(min_length=1, max_length=64)
    text: str = Field(max_length=MAX_NOTE_TEXT)
    position: _Position
    width: int | float = Field(default=220, ge=80, le=2_000)
    height: int | float = Field(default=140, ge=60, le=2_000)


class _Notes(BaseModel):
    model_config = ConfigDict(strict=True)
    notes: list[_Note] = Field(default=[], max_length=MAX_NOTES)


def notes_parse(graph_json: Any, *, path: str = "graph") -> list[dict[str, Any]]:
    """Return the graph JSON's notes as they are stored; raise ``InvalidInput`` (400) naming what is wrong.

    A graph without ``notes`` has none. Positions and sizes are rounded to whole pixels, as the canvas shows them.
    """
    raw = graph_json.get("notes", []) if isinstance(graph_json, dict) else []
    try:
        parsed = _Notes.model_validate({"notes": raw})
    except ValidationError as error:
        raise InvalidInput(
            "The graph's notes are malformed.", details=pydantic_details(error, prefix=path)
        ) from None
    ids = [note.id for note in parsed.notes]
    if len(set(ids)) != len(ids):
        raise InvalidInput(
            "The graph's notes are malformed.", details={f"{path}.notes": "Each note needs its own id."}
        )
    return [
        {
            "id": note.id,
            "text": note.text,
            "position": {"x": round(note.position.x), "y": round(note.position.y)},
            "width": round(note.width),
            "height": round(note.height),
        }
        for note in parsed.notes
    ]
