"""A form read whole, for forms whose field names come from data (a clinic's consent
statements), which FastAPI's ``Form()`` parameters cannot name in advance."""

from typing import Annotated

from fastapi import Depends, Request


async def form_fields(request: Request) -> dict[str, str]:
    """Every text field of the submitted form (Starlette caches the parsed form)."""
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]
