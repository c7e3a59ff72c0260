"""Form input for the console's pages: wire models validated into the error the page shows, lists
typed one a line, and controls disabled with the reason a role may not use them."""

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


def lines(text: str) -> list[str]:
    """The non-empty lines of a textarea (IDs one a line), trimmed, each once, in order."""
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def disabled(allowed: bool, why: str) -> Markup:
    """The attributes of a control the member may not use: disabled, with the reason."""
    return Markup("") if allowed else Markup(' disabled title="{}"').format(why)
