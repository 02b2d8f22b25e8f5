"""Guards for the audit trail: only admins read it."""

from typing import Annotated

from fastapi import Depends

from app.auth.dependencies import CurrentUser
from app.clinics.models import Role, User
from app.errors import Forbidden


def require_admin(user: CurrentUser) -> User:
    """Only admins."""
    if user.role != Role.admin:
        raise Forbidden("Only admins can read the audit trail.")
    return user


AdminUser = Annotated[User, Depends(require_admin)]
