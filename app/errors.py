"""Domain errors carry their HTTP status; app/web/error_handlers.py renders them."""


class AppError(Exception):
    """A failure a caller can act on: a message for people and the status that goes with it."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAuthenticated(AppError):
    status_code = 401


class Forbidden(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class InvalidInput(AppError):
    """Input that passed the schema but breaks a domain rule; names the field it concerns."""

    status_code = 422


class TooManyRequests(AppError):
    """A rate limit was reached; ``retry_after`` says in how many seconds to try again."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
