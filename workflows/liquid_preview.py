"""What a step's Liquid text becomes for one contact: the builder shows it beneath each field marked
``"x-liquid": true`` in a node type's config schema, as the marketer types.

The variables are those the steps' runtime gives (``contact``, ``workspace``, ``event``, ``enrollment``); a
preview has no triggering event or enrollment, so those are empty. Nothing is stored or sent.
"""

from __future__ import annotations

from typing import Any

from liquid.exceptions import LiquidError

from contacts.models import Contact
from contacts.selectors import contact_as_data
from penguinflow.common.errors import InvalidInput, NotFound
from templates.rendering import contact_variables, text_template, workspace_variables

__all__ = ["liquid_preview"]


def liquid_preview(*, workspace, value: Any, contact_id: str) -> Any:
    """Return ``value`` with each of its texts rendered for the contact (numbers, booleans, nulls and object
    keys stay as written); 404 for a contact of no or another workspace, 400 saying what does not render."""
    contact = Contact.objects.for_workspace(workspace).filter(pk=contact_id).first()
    if contact is None:
        raise NotFound("There is no such contact in this workspace (deleted?): pick another one.")
    # The steps differ in how they name the contact's attributes (contact_as_data, contact_variables): both show.
    variables = {
        "contact": {**contact_as_data(contact), **contact_variables(contact)},
        "workspace": workspace_variables(workspace),
        "event": {},
        "enrollment": {},
    }
    return _render_leaves(value, variables)


def _render_leaves(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _render(value, variables)
    if isinstance(value, list):
        return [_render_leaves(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: _render_leaves(item, variables) for key, item in value.items()}
    return value


def _render(text: str, variables: dict[str, Any]) -> str:
    if "{" not in text:
        return text
    try:
        return text_template(text).render(**variables)
    except LiquidError as error:
        raise InvalidInput(f"The Liquid cannot be rendered: {error.message}.",
                           details={"value": str(error.message)}, code="liquid_invalid") from None
    except (TypeError, ValueError, ArithmeticError, RecursionError) as error:  # filters on odd data
        raise InvalidInput(f"The Liquid cannot be rendered: {error}.", details={"value": str(error)},
                           code="liquid_invalid") from None
