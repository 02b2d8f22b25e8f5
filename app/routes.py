"""The table of contents: every router, and whether signing in is needed to reach it.

Authentication is attached here, when a router is included, so a route is protected
unless it is listed as public on purpose.
"""

from fastapi import Depends, FastAPI

from app.audio import pages as audio_pages
from app.audit import pages as audit_pages
from app.auth import api as auth_api
from app.auth import pages as auth_pages
from app.auth.dependencies import get_current_user, speak_their_language
from app.clinics import pages as clinics_pages
from app.comments import pages as comments_pages
from app.consent import pages as consent_pages
from app.exports import pages as exports_pages
from app.groups import api as groups_api
from app.groups import pages as groups_pages
from app.outcomes import api as outcomes_api
from app.outcomes import pages as outcomes_pages
from app.outcomes.dependencies import note_overdue_safety_flags
from app.practice import api as practice_api
from app.practice import pages as practice_pages
from app.programme import api as programme_api
from app.programme import pages as programme_pages
from app.reminders import api as reminders_api
from app.reminders import pages as reminders_pages
from app.retention import pages as retention_pages
from app.rights import api as rights_api
from app.rights import pages as rights_pages
from app.web import pages as web_pages

SIGNED_IN = [Depends(get_current_user)]
# Pages speak the person's language (the JSON API stays English); staff pages show overdue
# safety flags in their banner: counted before the route runs.
SIGNED_IN_PAGES = [*SIGNED_IN, Depends(speak_their_language), Depends(note_overdue_safety_flags)]
API_PREFIX = "/api/v1"

# Public on purpose: signing in, redeeming an invite, a forgotten passphrase, health, PWA
# plumbing.
PUBLIC_API = (auth_api.public_router,)
PUBLIC_PAGES = (auth_pages.router, clinics_pages.public_router, web_pages.router)

# Starlette tries routes in order: the phone's outbox posts practice logs most often.
PROTECTED_API = (
    practice_api.router,
    auth_api.router,
    programme_api.router,
    reminders_api.router,
    outcomes_api.router,
    groups_api.router,
    rights_api.router,
)
PROTECTED_PAGES = (
    audio_pages.router,
    practice_pages.router,
    programme_pages.router,
    groups_pages.router,
    exports_pages.router,
    reminders_pages.router,
    audit_pages.router,
    outcomes_pages.router,
    comments_pages.router,
    clinics_pages.router,
    consent_pages.router,
    rights_pages.router,
    retention_pages.router,
)


def include_routes(app: FastAPI) -> None:
    """Every router, straight into the app: the JSON API under /api/v1, then the pages.

    Included one level deep, not through an /api/v1 router of routers: FastAPI matches
    included routers level by level, and every request pays for each level.
    """
    for router in PUBLIC_API:
        app.include_router(router, prefix=API_PREFIX)
    for router in PROTECTED_API:
        app.include_router(router, prefix=API_PREFIX, dependencies=SIGNED_IN)
    for router in PUBLIC_PAGES:
        app.include_router(router)
    for router in PROTECTED_PAGES:
        app.include_router(router, dependencies=SIGNED_IN_PAGES, include_in_schema=False)
