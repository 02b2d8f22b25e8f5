"""A clinic's codebook of themes, and coding patients' comments with it."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, delete, func, select

from app.audit import service as audit
from app.clinics.models import User
from app.comments.models import ReflectionTheme, Theme
from app.db import add_even_when_reading
from app.errors import InvalidInput, NotFound
from app.groups import service as groups_service
from app.groups.models import Group
from app.practice import service as practice_service
from app.practice.models import Reflection

# The three themes of the seed study's written comments (Penlington 2019).
STUDY_THEMES = (
    ("Feeling different", "Changes in how people feel: calmer, kinder to themselves, less alone."),
    ("Doing things differently", "Changes in what people do: pacing, practising, asking for help."),
    ("Changed attitude", "Changes in how people see their pain, themselves or others."),
)
EXAMPLE_QUOTES = 3


def codebook(session: Session, *, clinic_id: int, include_retired: bool = True) -> list[Theme]:
    """The clinic's themes in order; seeded with the study's three the first time it is read."""
    themes = list(
        session.exec(
            select(Theme)
            .where(Theme.clinic_id == clinic_id)
            .order_by(col(Theme.position), col(Theme.id))
        ).all()
    )
    if not themes:
        themes = [
            Theme(clinic_id=clinic_id, label=label, description=description, position=position)
            for position, (label, description) in enumerate(STUDY_THEMES)
        ]
        add_even_when_reading(session, *themes)
        session.flush()  # gives them ids when they joined this session's own work
    return [t for t in themes if include_retired or not t.retired]


def _clean_label(label: str) -> str:
    label = " ".join(label.split())
    if not label:
        raise InvalidInput("Give the theme a name.", field="label")
    if len(label) > 100:
        raise InvalidInput("Keep the name under 100 characters.", field="label")
    return label


def _check_unique(session: Session, *, clinic_id: int, label: str, theme_id: int | None) -> None:
    clash = session.exec(
        select(Theme).where(Theme.clinic_id == clinic_id, func.lower(Theme.label) == label.lower())
    ).first()
    if clash is not None and clash.id != theme_id:
        raise InvalidInput(f"There is already a theme called {clash.label!r}.", field="label")


def add_theme(
    session: Session, *, actor: User, clinic_id: int, label: str, description: str = ""
) -> Theme:
    """Add a theme to the clinic's codebook."""
    themes = codebook(session, clinic_id=clinic_id)
    label = _clean_label(label)
    _check_unique(session, clinic_id=clinic_id, label=label, theme_id=None)
    theme = Theme(
        clinic_id=clinic_id,
        label=label,
        description=description.strip()[:500],
        position=max((t.position for t in themes), default=-1) + 1,
    )
    session.add(theme)
    session.flush()
    audit.record(
        session, action="theme_added", actor=actor, object_type="theme", object_id=theme.id
    )
    return theme


def get_theme(session: Session, *, clinic_id: int, theme_id: int) -> Theme:
    """A theme of this clinic's codebook, or 404."""
    theme = session.get(Theme, theme_id)
    if theme is None or theme.clinic_id != clinic_id:
        raise NotFound("No such theme.")
    return theme


def update_theme(
    session: Session,
    *,
    actor: User,
    theme: Theme,
    label: str,
    description: str,
    retired: bool,
) -> Theme:
    """Rename a theme, change its description, retire it or bring it back."""
    label = _clean_label(label)
    _check_unique(session, clinic_id=theme.clinic_id, label=label, theme_id=theme.id)
    before = {"label": theme.label, "retired": theme.retired}
    theme.label = label
    theme.description = description.strip()[:500]
    theme.retired = retired
    session.add(theme)
    audit.record(
        session,
        action="theme_changed",
        actor=actor,
        clinic_id=theme.clinic_id,
        object_type="theme",
        object_id=theme.id,
        before=before,
        after={"label": label, "retired": retired},
    )
    return theme


@dataclass
class Comment:
    """A patient's words as the coding page shows them."""

    reflection: Reflection
    participant_code: str
    theme_ids: set[int]


def comments_for_coding(session: Session, *, group: Group) -> list[Comment]:
    """End-of-programme comments and shared reflections of a group, with their codes."""
    members = {e.id: e for e in groups_service.enrolments(session, group=group)}
    reflections = practice_service.reflections_for_coding(
        session, enrolment_ids=[i for i in members if i is not None]
    )
    codes = _codes(session, [r.id for r in reflections])
    return [
        Comment(r, members[r.enrolment_id].participant_code, codes.get(r.id, set()))
        for r in reflections
    ]


def _codes(session: Session, reflection_ids: Sequence[str]) -> dict[str, set[int]]:
    if not reflection_ids:
        return {}
    rows = session.exec(
        select(ReflectionTheme).where(col(ReflectionTheme.reflection_id).in_(reflection_ids))
    ).all()
    codes: dict[str, set[int]] = {}
    for row in rows:
        codes.setdefault(row.reflection_id, set()).add(row.theme_id)
    return codes


def set_codes(
    session: Session,
    *,
    actor: User,
    group: Group,
    reflection_id: str,
    theme_ids: Sequence[int],
) -> set[int]:
    """Give a comment exactly these themes (several allowed; none clears them)."""
    reflection = practice_service.get_reflection(session, reflection_id)
    codable = {c.reflection.id for c in comments_for_coding(session, group=group)}
    if reflection.id not in codable:
        raise NotFound("No such comment in this group.")
    valid = {t.id for t in codebook(session, clinic_id=group.clinic_id)}
    chosen = set(theme_ids)
    if not chosen <= valid:
        raise InvalidInput("Choose themes from your clinic's codebook.", field="themes")
    session.exec(delete(ReflectionTheme).where(col(ReflectionTheme.reflection_id) == reflection.id))
    for theme_id in sorted(chosen):
        session.add(
            ReflectionTheme(reflection_id=reflection.id, theme_id=theme_id, coded_by_id=actor.id)
        )
    audit.record(
        session,
        action="comment_coded",
        actor=actor,
        clinic_id=group.clinic_id,
        object_type="reflection",
        object_id=reflection.id,
        themes=sorted(chosen),
    )
    return chosen


@dataclass(frozen=True)
class ThemeSummary:
    theme: Theme
    count: int
    quotes: list[str]


def theme_summary(session: Session, *, group: Group) -> list[ThemeSummary]:
    """For each theme: how many of the group's comments carry it, and a few example quotes."""
    comments = comments_for_coding(session, group=group)
    summaries = []
    for theme in codebook(session, clinic_id=group.clinic_id):
        tagged = [c for c in comments if theme.id in c.theme_ids]
        if theme.retired and not tagged:
            continue
        # Quotes only from comments the patient wrote for the clinic or shared with the group.
        quotes = [c.reflection.text for c in tagged[:EXAMPLE_QUOTES]]
        summaries.append(ThemeSummary(theme, len(tagged), quotes))
    return summaries


def uncoded_count(comments: Sequence[Comment]) -> int:
    """How many comments have no theme yet."""
    return sum(1 for c in comments if not c.theme_ids)
