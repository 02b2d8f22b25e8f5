"""Informed consent: a clinic publishes versions of its information sheet and statements;
patients answer the current version at joining (or on paper, recorded by staff) and again
at their next visit after a new version is published."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select

from app.audit import service as audit
from app.clinics.models import Role, User
from app.consent.models import ConsentDocument, ConsentMethod, ConsentRecord
from app.errors import InvalidInput
from app.i18n import N_

# The optional statement whose answer exports carry as `consent_evaluation`.
EVALUATION_KEY = "evaluation"


def current_document(session: Session, *, clinic_id: int) -> ConsentDocument | None:
    """The clinic's newest published version, or None when it has published none."""
    return session.exec(
        select(ConsentDocument)
        .where(ConsentDocument.clinic_id == clinic_id)
        .order_by(col(ConsentDocument.version).desc())
        .limit(1)
    ).first()


def document_for_invitee(session: Session, *, patient: User) -> ConsentDocument | None:
    """What a person joining must read and answer: their clinic's current version (patients
    only: staff accounts do not consent to a patient information sheet)."""
    if patient.role != Role.patient:
        return None
    return current_document(session, clinic_id=patient.clinic_id)


def all_versions(session: Session, *, clinic_id: int) -> Sequence[ConsentDocument]:
    """Every version the clinic published, newest first."""
    return session.exec(
        select(ConsentDocument)
        .where(ConsentDocument.clinic_id == clinic_id)
        .order_by(col(ConsentDocument.version).desc())
    ).all()


def _statement_lines(text: str, *, required: bool, prefix: str) -> list[dict[str, Any]]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [
        {"key": f"{prefix}_{n}", "text": line[:500], "required": required}
        for n, line in enumerate(lines, start=1)
    ]


def publish(
    session: Session,
    *,
    actor: User,
    information_sheet: str,
    required_statements: str,
    evaluation_statement: str = "",
    optional_statements: str = "",
) -> ConsentDocument:
    """Publish a new version (the older ones are kept); patients are asked again next visit."""
    if not information_sheet.strip():
        raise InvalidInput("Write the information sheet patients read.", field="information_sheet")
    statements = _statement_lines(required_statements, required=True, prefix="required")
    if not statements:
        raise InvalidInput(
            "Write at least one statement a patient must agree to, one per line.",
            field="required_statements",
        )
    if evaluation_statement.strip():
        statements.append(
            {"key": EVALUATION_KEY, "text": evaluation_statement.strip()[:500], "required": False}
        )
    statements += _statement_lines(optional_statements, required=False, prefix="optional")
    newest = session.exec(
        select(func.max(ConsentDocument.version)).where(
            ConsentDocument.clinic_id == actor.clinic_id
        )
    ).one()
    document = ConsentDocument(
        clinic_id=actor.clinic_id,
        version=(newest or 0) + 1,
        information_sheet=information_sheet.strip(),
        statements=statements,
        published_by_id=actor.id,
    )
    session.add(document)
    session.flush()
    audit.record(
        session,
        action="consent_version_published",
        actor=actor,
        object_type="consent_document",
        object_id=document.id,
        version=document.version,
    )
    return document


def statement_field(key: str) -> str:
    """The form field (and 422 `loc`) of one statement's tick box."""
    return f"statement-{key}"


def answers_from_form(document: ConsentDocument, form: Mapping[str, Any]) -> dict[str, bool]:
    """Which statements a submitted form ticked (a tick box sends its field only when ticked)."""
    return {s["key"]: bool(form.get(statement_field(s["key"]))) for s in document.statements}


def check_required(document: ConsentDocument, answers: Mapping[str, bool]) -> None:
    """Refuse answers that leave a required statement unticked, naming that statement."""
    for statement in document.statements:
        if statement["required"] and not answers.get(statement["key"]):
            raise InvalidInput(
                N_(
                    "To use Tend you need to agree to this. If you are not sure, talk to your "
                    "facilitator before you go on."
                ),
                field=statement_field(statement["key"]),
            )


def record_consent(
    session: Session,
    *,
    patient: User,
    document: ConsentDocument,
    answers: Mapping[str, bool],
    method: ConsentMethod = ConsentMethod.app,
    recorded_by: User | None = None,
) -> ConsentRecord:
    """Store a patient's answers to one version (refused if a required one is missing)."""
    check_required(document, answers)
    known = {s["key"] for s in document.statements}
    assert patient.id is not None and document.id is not None
    record = ConsentRecord(
        user_id=patient.id,
        document_id=document.id,
        answers={key: bool(answers.get(key)) for key in known},
        method=method,
        recorded_by_id=recorded_by.id if recorded_by else None,
    )
    session.add(record)
    audit.record(
        session,
        action="consent_recorded",
        actor=recorded_by or patient,
        clinic_id=document.clinic_id,
        object_type="user",
        object_id=patient.id,
        version=document.version,
        method=method.value,
    )
    return record


@dataclass(frozen=True)
class ConsentStatus:
    """Where a patient stands against their clinic's current version."""

    state: str  # not_asked (no sheet), missing, outdated, given
    record: ConsentRecord | None
    version: int | None  # the version their latest answers were to
    current_version: int | None

    @property
    def needs_asking(self) -> bool:
        return self.state in ("missing", "outdated")

    @property
    def evaluation(self) -> bool | None:
        """Their answer to evaluation use (None when never asked)."""
        if self.record is None or EVALUATION_KEY not in self.record.answers:
            return None
        return bool(self.record.answers[EVALUATION_KEY])


def latest_records(
    session: Session, *, user_ids: Sequence[int]
) -> dict[int, tuple[ConsentRecord, int]]:
    """Each patient's newest answers with the version they answered."""
    if not user_ids:
        return {}
    rows = session.exec(
        select(ConsentRecord, ConsentDocument.version)
        .join(ConsentDocument, col(ConsentDocument.id) == ConsentRecord.document_id)
        .where(col(ConsentRecord.user_id).in_(user_ids))
        .order_by(col(ConsentRecord.given_at), col(ConsentRecord.id))
    ).all()
    return {record.user_id: (record, version) for record, version in rows}


def statuses(
    session: Session, *, clinic_id: int, user_ids: Sequence[int]
) -> dict[int, ConsentStatus]:
    """Consent status per patient against the clinic's current version."""
    current = current_document(session, clinic_id=clinic_id)
    latest = latest_records(session, user_ids=user_ids)
    result = {}
    for user_id in user_ids:
        record, version = latest.get(user_id, (None, None))
        if current is None:
            state = "given" if record else "not_asked"
        elif record is None:
            state = "missing"
        else:
            state = "given" if version == current.version else "outdated"
        result[user_id] = ConsentStatus(
            state, record, version, current.version if current else None
        )
    return result


def status_of(session: Session, *, patient: User) -> ConsentStatus:
    """One patient's consent status."""
    assert patient.id is not None
    return statuses(session, clinic_id=patient.clinic_id, user_ids=[patient.id])[patient.id]


def history(session: Session, *, patient: User) -> list[tuple[ConsentRecord, ConsentDocument]]:
    """Every answer the patient gave, oldest first, with the version answered."""
    rows = session.exec(
        select(ConsentRecord, ConsentDocument)
        .join(ConsentDocument, col(ConsentDocument.id) == ConsentRecord.document_id)
        .where(ConsentRecord.user_id == patient.id)
        .order_by(col(ConsentRecord.given_at), col(ConsentRecord.id))
    ).all()
    return [(record, document) for record, document in rows]


def states_by_enrolment(
    session: Session, *, clinic_id: int, enrolments: Sequence[tuple[int, int]]
) -> dict[int, str]:
    """Consent state (given, outdated, missing, not_asked) by enrolment id, from
    (enrolment id, user id) pairs: what the engagement board shows."""
    by_user = statuses(session, clinic_id=clinic_id, user_ids=[u for _, u in enrolments])
    return {enrolment_id: by_user[user_id].state for enrolment_id, user_id in enrolments}
