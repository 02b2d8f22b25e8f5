"""One renderer per surface: JSON under /api/, a friendly page everywhere else."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import AppError, NotAuthenticated, TooManyRequests
from app.web.templating import render_error_page


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/healthz",)


def _json_error(error: AppError) -> JSONResponse:
    if error.field is not None:
        detail: object = [
            {"loc": ["body", *error.field.split(".")], "msg": error.message, "type": "value_error"}
        ]
    else:
        detail = error.message
    return JSONResponse({"detail": detail}, status_code=error.status_code)


def _with_retry_after(error: AppError, response: Response) -> Response:
    if isinstance(error, TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Render domain and HTTP errors as JSON under /api/ and as a friendly page elsewhere."""

    async def on_app_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, AppError)
        if _wants_json(request):
            return _with_retry_after(error, _json_error(error))
        if isinstance(error, NotAuthenticated):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return _with_retry_after(
            error, render_error_page(request, error.status_code, error.message)
        )

    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if _wants_json(request):
            return JSONResponse(
                {"detail": error.detail}, status_code=error.status_code, headers=error.headers
            )
        return render_error_page(request, error.status_code, str(error.detail))

    async def on_validation_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        errors = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
