"""Form input for the settings pages: wire models validated into the error the page shows, and
controls disabled with the reason a role may not use them."""

from __future__ import annotations

from typing import Any, TypeVar

from markupsafe import Markup
from pydantic import BaseModel, ValidationError

from lockgate.errors import InvalidInput

Body = TypeVar("Body", bound=BaseModel)


def validated(model: type[Body], data: dict[str, Any]) -> Body:
    """``model`` from form data; the first problem becomes the Console API's message for it."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidInput.field(where, first["msg"]) from exc


def disabled(allowed: bool, why: str) -> Markup:
    """The attributes of a control the member may not use: disabled, with the reason."""
    return Markup("") if allowed else Markup(' disabled title="{}"').format(why)
