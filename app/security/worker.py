"""In the test environment only: say which worker process answered (X-Tend-Worker), so the
scale-out test can show that several processes served one session."""

import os
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import Response


async def worker_id_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Add the answering process's id."""
    response = await call_next(request)
    response.headers["X-Tend-Worker"] = str(os.getpid())
    return response
