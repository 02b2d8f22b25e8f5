"""The rows of scores.csv and item_responses.csv, and the administrations other exports read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.groups.models import Enrolment, Group
from app.outcomes.due import timepoint_rank
from app.outcomes.instruments import instruments
from app.outcomes.models import Administration
from app.outcomes.questionnaires import current_administrations


def exported_administrations(
    session: Session, *, group_ids: Sequence[int]
) -> Iterator[tuple[Administration, str, str]]:
    """Each submitted administration no correction has replaced, with its participant and
    group codes, in export order (group, participant, instrument, timepoint)."""
    if not group_ids:
        return
    enrolments = session.exec(
        select(Enrolment, Group.code)
        .join(Group, col(Group.id) == Enrolment.group_id)
        .where(col(Group.id).in_(group_ids))
    ).all()
    who = {e.id: (e.participant_code, code) for e, code in enrolments}
    rows = current_administrations(session, [e.id or 0 for e, _ in enrolments])
    rows.sort(
        key=lambda a: (
            who[a.enrolment_id][1],
            who[a.enrolment_id][0],
            a.instrument_id,
            timepoint_rank(a.timepoint),
        )
    )
    for administration in rows:
        participant, group_code = who[administration.enrolment_id]
        yield administration, participant, group_code


def _completed_at(administration: Administration) -> str:
    return administration.submitted_at.isoformat() if administration.submitted_at else ""


def score_export_rows(session: Session, *, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    """scores.csv rows: one per submitted administration that no correction has replaced."""
    for administration, participant, group_code in exported_administrations(
        session, group_ids=group_ids
    ):
        total = administration.score_total
        yield (
            participant,
            group_code,
            administration.instrument_id,
            administration.timepoint,
            "" if total is None else (int(total) if float(total).is_integer() else total),
            _completed_at(administration),
            administration.instrument_version,
            administration.score_band or "",
            int(administration.staff_entered),
            int(administration.supersedes_id is not None),
            int(administration.prorated),
        )


@dataclass(frozen=True)
class ItemAnswer:
    """One answered item of an administration, placed in its instrument's definition."""

    item_id: str
    number: int | None  # position in the instrument; None when the definition no longer has it
    value: int
    loinc: str | None


def answered_items(administration: Administration) -> list[ItemAnswer]:
    """The administration's answers in the instrument's item order; unanswered items and
    anything but a whole number (no instrument has free-text items) are left out."""
    instrument = instruments().get(administration.instrument_id)
    items = instrument.items if instrument else []
    place = {item.id: (number, item.loinc) for number, item in enumerate(items, start=1)}
    answers = []
    for item_id, value in administration.answers.items():
        if type(value) is int:  # not None (unanswered), text or a boolean
            number, loinc = place.get(item_id, (None, None))
            answers.append(ItemAnswer(item_id, number, value, loinc))
    return sorted(answers, key=lambda a: (a.number is None, a.number or 0))


def item_export_rows(session: Session, *, group_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    """item_responses.csv rows: one per answer of each administration scores.csv exports (a
    total entered by staff has no answers, so no rows)."""
    for administration, participant, group_code in exported_administrations(
        session, group_ids=group_ids
    ):
        for answer in answered_items(administration):
            yield (
                participant,
                group_code,
                administration.instrument_id,
                administration.instrument_version,
                administration.timepoint,
                _completed_at(administration),
                answer.item_id,
                answer.number,
                answer.value,
                answer.loinc,
            )
