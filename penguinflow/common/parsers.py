"""The API's JSON parser: DRF's, refusing bodies that parse but cannot be handled safely (CONTRACT §2)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from penguinflow.common.validators import TOO_DEEP_MESSAGE, json_problem


class StorableJSONParser(JSONParser):
    """Parse a JSON body; refuse with 400, before any view code runs, one nested more than `MAX_JSON_DEPTH` levels,
    holding NUL or unpaired surrogates, or numbers JSON readers cannot round-trip (see `json_problem`).

    Checking the whole body here, once, protects every field of every endpoint, including the ones that walk user
    JSON recursively later (serializers, pydantic, the JsonLogic compiler, psycopg's adapters).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # The standard library's decoder recurses: a body this deep never reaches the check below.
            raise exceptions.ValidationError({"body": TOO_DEEP_MESSAGE}) from None
        problem = json_problem(data)
        if problem is not None:
            raise exceptions.ValidationError({problem.path or "body": problem.message})
        return data
