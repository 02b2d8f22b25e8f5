"""create_app(): settings, database engine, middleware, routers and error handlers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.config import Settings, get_settings
from app.db import check_durability, create_db_engine
from app.reminders import scheduler as reminders_scheduler
from app.routes import include_routes
from app.security.refusals import AuditRefusalsMiddleware
from app.security.worker import WorkerIdMiddleware
from app.web.compression import CompressionMiddleware
from app.web.csrf import SameOriginMiddleware
from app.web.error_handlers import install_error_handlers
from app.web.headers import SecurityHeadersMiddleware
from app.web.language import LanguageMiddleware
from app.web.templating import STATIC_DIR


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the Tend application for ``settings`` (the environment's by default)."""
    settings = settings or get_settings()
    production = settings.environment == "production"
    engine = create_db_engine(settings.resolved_database_url, production=production)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        check_durability(engine)
        reminders = (
            reminders_scheduler.start_in_background(engine, settings)
            if settings.runs_reminders_in_process
            else None
        )
        yield
        if reminders is not None:
            thread, stop = reminders
            stop.set()
            thread.join(timeout=15)
        engine.dispose()

    app = FastAPI(
        title="Tend", version="0.1.0", lifespan=lifespan, docs_url="/api/docs", redoc_url=None
    )
    app.state.settings = settings
    app.state.engine = engine
    # Pure ASGI middleware (last added is outermost): BaseHTTPMiddleware copied every body
    # through extra tasks and cost more per request than the practice-log write itself.
    app.add_middleware(SameOriginMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    # Outermost, so that refusals by the middlewares above are recorded too.
    app.add_middleware(AuditRefusalsMiddleware)
    # Outside everything that writes a body, so it compresses what is finally sent.
    app.add_middleware(CompressionMiddleware)
    if settings.environment == "test":
        app.add_middleware(WorkerIdMiddleware)
    # Outermost: a page refused by any middleware above is worded in the browser's language.
    app.add_middleware(LanguageMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    include_routes(app)
    install_error_handlers(app)
    return app
