from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from penguinflow.common.errors import InvalidInput

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_size_from(raw: str | None, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    """Return the `limit` query parameter as a page size; anything but a whole number from 1 to `maximum` is a
    400 (a silently ignored or clamped limit hides the client's mistake)."""
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise InvalidInput(f"The limit must be a whole number from 1 to {maximum}.",
                           details={"limit": f"Must be a whole number from 1 to {maximum}."})
    return int(raw)


def limit_parameter_schema(*, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> dict:
    return {
        "name": "limit",
        "required": False,
        "in": "query",
        "description": f"Number of results per page: 1 to {maximum} (default {default}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
    }


def limit_parameter(*, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE):
    """The same `limit`, for a view that pages by hand (`extend_schema(parameters=[...])`)."""
    from drf_spectacular.utils import OpenApiParameter

    described = limit_parameter_schema(default=default, maximum=maximum)
    return OpenApiParameter("limit", described["schema"], description=described["description"])


class CreatedCursorPagination(CursorPagination):
    """Newest first; stable under inserts because the cursor is a position, not an offset."""

    ordering = ("-created_at", "-id")
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "limit"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        return page_size_from(request.query_params.get(self.page_size_query_param), default=self.page_size,
                              maximum=self.max_page_size)

    def decode_cursor(self, request):
        if not request.query_params.get(self.cursor_query_param):
            return None  # `?cursor=` is the first page, as no cursor is
        try:
            return super().decode_cursor(request)
        except NotFound:
            # DRF answers 404 for a bad cursor; the list exists, the parameter is wrong.
            raise InvalidInput("The cursor is not valid: use the `next` link of a previous page.",
                               details={"cursor": "Invalid cursor."}) from None

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = [p for p in super().get_schema_operation_parameters(view) if p["name"] != "limit"]
        return [*parameters, limit_parameter_schema(default=self.page_size, maximum=self.max_page_size)]
