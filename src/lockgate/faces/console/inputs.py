"""The Console API's check of request text, for every route at once: a path id, query
parameter or body value that no database or SDK could take is a 400 naming it, before any
route sees it (``kit.jsonvalues`` says what is refused and why)."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from lockgate.errors import InvalidInput
from lockgate.faces.console.context import Console
from lockgate.kit.jsonvalues import check_params, find_problem


async def checked_input(ctx: Console, request: Request) -> None:
    """A router-level dependency. It asks for the Console context (which the route shares), so
    a request is authenticated first: an unknown key gets its 401 whatever it sent."""
    del ctx
    check_params(request.path_params, request.query_params.multi_items())
    if not (await request.body()).strip():
        return
    try:
        body = await request.json()  # parsed once: the route's body parameter reads the same
    except (ValueError, RecursionError):
        return  # not JSON: a route that takes a body says so; the others ignore it
    problem = await run_in_threadpool(find_problem, body)
    if problem is not None:
        raise InvalidInput.field(problem.where() or "body", problem.message)
