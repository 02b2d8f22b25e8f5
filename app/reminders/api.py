"""Reminders over the JSON API: the patient's choice, pause, and this device's subscription."""

from fastapi import APIRouter, Request, Response

from app.auth.dependencies import CurrentUser, PatientUser
from app.db import SessionDep
from app.reminders import schedule
from app.reminders import service as reminders_service
from app.reminders.schemas import (
    PushSubscriptionRead,
    PushSubscriptionRemove,
    PushSubscriptionWrite,
    ReminderPreferenceRead,
    ReminderPreferenceWrite,
    VapidPublicKey,
)

router = APIRouter(prefix="/reminders", tags=["reminders"])


def preference_read(session: SessionDep, user: PatientUser) -> ReminderPreferenceRead:
    """The patient's choice as the API shows it (defaults when nothing is chosen yet)."""
    preference = reminders_service.get_preference(session, user=user)
    upcoming = reminders_service.next_reminder(session, user=user)
    return ReminderPreferenceRead(
        chosen=reminders_service.is_active(preference) or bool(preference and preference.paused),
        practice=bool(preference and preference.practice),
        questionnaire=bool(preference and preference.questionnaire),
        group_session=bool(preference and preference.group_session),
        time_of_day=preference.time_of_day if preference else schedule.DEFAULT_TIME,
        days=schedule.weekdays_from(preference.days_mask if preference else schedule.ALL_DAYS),
        timezone=preference.timezone if preference else "",
        paused=bool(preference and preference.paused),
        next_practice_reminder_at=upcoming.at,
        devices=upcoming.devices,
    )


@router.get("/preferences", response_model=ReminderPreferenceRead)
def get_preferences(user: PatientUser, session: SessionDep) -> ReminderPreferenceRead:
    """The signed-in patient's reminder choice."""
    return preference_read(session, user)


@router.put("/preferences", response_model=ReminderPreferenceRead)
def put_preferences(
    body: ReminderPreferenceWrite, user: PatientUser, session: SessionDep
) -> ReminderPreferenceRead:
    """Choose what to be reminded of, when, and in which time zone."""
    reminders_service.save_preference(
        session,
        user=user,
        practice=body.practice,
        questionnaire=body.questionnaire,
        group_session=body.group_session,
        time_of_day=body.time_of_day,
        weekdays=body.days,
        timezone=body.timezone,
    )
    return preference_read(session, user)


@router.post("/pause", response_model=ReminderPreferenceRead)
def pause(user: PatientUser, session: SessionDep) -> ReminderPreferenceRead:
    """Pause every reminder."""
    reminders_service.set_paused(session, user=user, paused=True)
    return preference_read(session, user)


@router.post("/resume", response_model=ReminderPreferenceRead)
def resume(user: PatientUser, session: SessionDep) -> ReminderPreferenceRead:
    """Resume reminders as they were chosen."""
    reminders_service.set_paused(session, user=user, paused=False)
    return preference_read(session, user)


@router.get("/vapid-public-key", response_model=VapidPublicKey)
def vapid_public_key(request: Request, session: SessionDep) -> VapidPublicKey:
    """The server's public VAPID key (the page's applicationServerKey)."""
    settings = request.app.state.settings
    vapid = reminders_service.current_vapid(session, settings=settings)
    return VapidPublicKey(public_key=vapid.public_key)


@router.post(
    "/subscriptions",
    response_model=PushSubscriptionRead,
    status_code=201,
    responses={200: {"model": PushSubscriptionRead, "description": "Already stored"}},
)
def add_subscription(
    body: PushSubscriptionWrite,
    user: CurrentUser,  # staff subscribe too, for safety alerts
    session: SessionDep,
    request: Request,
    response: Response,
) -> PushSubscriptionRead:
    """Store this device's push subscription (sending the same one again is safe)."""
    subscription, created = reminders_service.subscribe(
        session,
        user=user,
        endpoint=body.endpoint,
        p256dh=body.keys.p256dh,
        auth=body.keys.auth,
        device_label=body.device_label,
        allow_test_endpoints=request.app.state.settings.push_allow_test_endpoints,
    )
    response.status_code = 201 if created else 200
    assert subscription.id is not None
    return PushSubscriptionRead(
        id=subscription.id,
        device_label=subscription.device_label,
        created_at=subscription.created_at,
    )


@router.delete("/subscriptions", status_code=204)
def remove_subscription(
    body: PushSubscriptionRemove, user: CurrentUser, session: SessionDep
) -> Response:
    """Forget this device: no more reminders on it."""
    reminders_service.unsubscribe(session, user=user, endpoint=body.endpoint)
    return Response(status_code=204)
