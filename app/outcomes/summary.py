"""The cohort outcome summary: pre-post statistics per instrument and pair of timepoints over
the chosen groups, with practice beside them. The data flows one way: read the cohort, read
its scores and practice, compute, then record the view."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import ColumnElement
from sqlmodel import Session, case, col, func, select

from app.audit import service as audit
from app.clinics.models import Role, User
from app.config import get_settings
from app.errors import Forbidden, NotFound
from app.groups import service as groups_service
from app.groups.models import Enrolment, Group
from app.outcomes.definitions import Instrument
from app.outcomes.due import DEFAULT_WEEKS
from app.outcomes.instruments import instruments, ordered_instruments
from app.outcomes.models import Administration, AdministrationStatus
from app.outcomes.references import REFERENCES_FILE, PublishedEffect, load_references
from app.outcomes.reliable_change import (
    JointScores,
    NoReliableChangeRule,
    count_categories,
    count_pain_change,
    count_talking_therapies,
    improvement,
    reliable_change_threshold,
    talking_therapies_definition,
)
from app.practice import service as practice_service
from app.programme import service as programme_service
from app.programme.adherence import AdherenceRule

if TYPE_CHECKING:
    from app.outcomes.effect_size import Correlation, PairedSummary

PAIRS = (("baseline", "end"), ("baseline", "follow_up"))
PAIRED_TIMEPOINTS = tuple(dict.fromkeys(timepoint for pair in PAIRS for timepoint in pair))
TALKING_THERAPIES_MEASURES = ("phq9", "gad7")
MIN_PAIRS = 5

LIMITS = (
    "These are before-and-after figures from the same people, with no comparison group. "
    "Change can come from the group, but also from time, natural recovery, regression to "
    "the mean (people often join when they feel worst), other treatment, or from who stayed "
    "to answer at the end. Effect sizes from small groups are imprecise: read the intervals, "
    "not only the headline number."
)

EFFECT_SIZE_LABELS = {
    "d_av": "Cohen's d_av: mean change / average of the pre and post SDs (headline); "
    "approximate 95% CI (Algina & Keselman 2003)",
    "g_av": "Hedges' g_av: d_av x (1 - 3 / (4(n - 1) - 1)); the same approximate 95% CI as "
    "d_av, since both estimate the same population effect size",
    "d_z": "Cohen's d_z: mean change / SD of the changes",
}
RELIABLE_CHANGE_LABEL = "Per-measure reliable change (each measure on its own)"


def multiple_testing_note(tests: int) -> str:
    """The sentence beside the table about how many p-values it shows."""
    return (
        f"The table shows {tests} p-values from the same people. With this many tests some "
        "will be small by chance: p_holm is Holm's adjustment over the measures shown "
        "together. Read the effect sizes and their intervals first."
    )


def published_references() -> list[PublishedEffect]:
    """The shipped published figures, then the service's own ($TEND_DATA_DIR/references.yaml)."""
    return load_references([REFERENCES_FILE, get_settings().data_dir / "references.yaml"])


@dataclass
class MeasureSummary:
    """One instrument between two timepoints, over the selected groups."""

    instrument: Instrument
    from_: str
    to: str
    stats: PairedSummary
    n_started: int
    pair_counts: Counter[tuple[float, float]]  # how many people have each (pre, post)
    reliable_change: dict[str, int] | None  # None without a published rule or below MIN_PAIRS
    pain_change: dict[str, int] | None  # None without a pain rule or below MIN_PAIRS
    practice_correlation: Correlation | None
    references: list[PublishedEffect] = field(default_factory=list)
    p_holm: float | None = None

    @property
    def label(self) -> str:
        """The measure and its timepoints in words."""
        names = {"baseline": "baseline", "end": "end", "follow_up": "follow-up"}
        return f"{self.instrument.short_name}, {names[self.from_]} to {names[self.to]}"

    @property
    def reliable_change_rule(self) -> str | None:
        """The fixed threshold in words, or None when no published norms exist."""
        try:
            threshold = reliable_change_threshold(self.instrument)
        except NoReliableChangeRule:
            return None
        return f"a change of {threshold:.3g} points or more"

    def as_json(self) -> dict[str, Any]:
        """The CONTRACT fields, then the rest of what the page shows."""
        correlation = self.practice_correlation
        fields: dict[str, Any] = {
            "instrument": self.instrument.id,
            "from": self.from_,
            "to": self.to,
            **self.stats.contract_fields(),
            **(
                self.reliable_change
                or dict.fromkeys(
                    ("reliable_improvement", "no_reliable_change", "reliable_deterioration")
                )
            ),
            "p_holm": self.p_holm,
            "reliable_change_label": RELIABLE_CHANGE_LABEL,
            "reliable_change_rule": self.reliable_change_rule,
            "n_started": self.n_started,
            "too_few": self.stats.too_few,
            "effect_size_labels": EFFECT_SIZE_LABELS,
            "practice_days_spearman": None
            if correlation is None
            else {"rho": correlation.rho, "p": correlation.p, "n": correlation.n},
            "published": [reference.as_json() for reference in self.references],
        }
        if self.instrument.important_change is not None:
            fields["pain_change"] = self.pain_change
        return fields


@dataclass
class TalkingTherapiesSummary:
    """The NHS Talking Therapies categories, jointly over PHQ-9 and GAD-7, for one pair of
    timepoints; the counts are None below MIN_PAIRS people with both measures."""

    from_: str
    to: str
    n_pairs: int
    counts: dict[str, int] | None
    only_one_measure: int  # people with one measure at both times but not the other
    definition: str

    def as_json(self) -> dict[str, Any]:
        """The CONTRACT fields, then how many had only one of the two measures."""
        names = (
            "n_cases_at_baseline",
            "recovered",
            "reliable_improvement",
            "reliable_recovery",
            "reliable_deterioration",
            "no_reliable_change",
        )
        counts = self.counts or dict.fromkeys(names)
        return {
            "from": self.from_,
            "to": self.to,
            "n_pairs": self.n_pairs,
            **{name: counts[name] for name in names},
            "definition": self.definition,
            "only_one_measure": self.only_one_measure,
            "too_few": self.counts is None,
        }


@dataclass
class AdherenceRow:
    participant_code: str
    group_code: str
    practice_days: int
    minutes: int


@dataclass
class OutcomeSummary:
    """The outcome summary for a set of groups, as the clinician page and the CLI show it."""

    groups: list[Group]
    date_from: date | None
    date_to: date | None
    measures: list[MeasureSummary]
    talking_therapies: list[TalkingTherapiesSummary]
    adherence: list[AdherenceRow]
    adherence_rules: list[tuple[list[str], str]]  # (group codes, the rule their programme uses)
    exclude_prorated: bool
    prorated_totals: int  # prorated totals at the paired timepoints: included, or left out
    limits: str = LIMITS
    extra: dict[str, Any] = field(default_factory=dict)
    # Patients who withdrew and had what they recorded erased: absent from every figure.
    erased_participants: int = 0

    @property
    def adherence_rule(self) -> str:
        """Every group's adherence rule: one sentence when they share it, else one per group."""
        if len(self.adherence_rules) == 1:
            return self.adherence_rules[0][1]
        return " ".join(f"{', '.join(codes)}: {rule}" for codes, rule in self.adherence_rules)

    @property
    def multiple_testing(self) -> str:
        """The sentence about the number of p-values shown."""
        return multiple_testing_note(sum(m.stats.p is not None for m in self.measures))

    def as_json(self) -> dict[str, Any]:
        """``{"measures": [...], "talking_therapies": [...]}`` per CONTRACT, with the groups,
        limits and adherence beside."""
        return {
            "measures": [measure.as_json() for measure in self.measures],
            "talking_therapies": [joint.as_json() for joint in self.talking_therapies],
            "groups": [group.code for group in self.groups],
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "limits": self.limits,
            "multiple_testing": self.multiple_testing,
            "exclude_prorated": self.exclude_prorated,
            "prorated_totals": self.prorated_totals,
            "erased_participants": self.erased_participants,
            "adherence_rule": self.adherence_rule,
            "adherence_rules": [
                {"groups": codes, "rule": rule} for codes, rule in self.adherence_rules
            ],
            "adherence": [
                {
                    "participant_code": row.participant_code,
                    "group_code": row.group_code,
                    "practice_days": row.practice_days,
                    "minutes": row.minutes,
                }
                for row in self.adherence
            ],
        }


# ------------------------------------------------------------------------- read the cohort


def _select_groups(
    session: Session,
    *,
    viewer: User,
    group_codes: Sequence[str],
    date_from: date | None,
    date_to: date | None,
) -> list[Group]:
    visible = list(groups_service.visible_groups(session, viewer=viewer))
    if group_codes:
        by_code = {g.code: g for g in visible}
        chosen = []
        for code in group_codes:
            if code.strip().upper() not in by_code:
                raise NotFound(f"No group {code!r} that you can see.")
            chosen.append(by_code[code.strip().upper()])
        visible = chosen
    return [
        g
        for g in visible
        if (date_from is None or g.start_date >= date_from)
        and (date_to is None or g.start_date <= date_to)
    ]


@dataclass(frozen=True)
class _Cohort:
    """Everyone in the chosen groups in participant-code order, the order of the pairs
    (Python's order, whatever the database collation), with each one's practice days."""

    position: dict[int, int]  # enrolment id -> place in code order
    practice_days: np.ndarray

    @classmethod
    def of(
        cls,
        participants: Sequence[groups_service.Participant],
        practice: Mapping[int, tuple[int, int]],
    ) -> _Cohort:
        by_code = sorted(participants, key=lambda p: p.participant_code)
        return cls(
            position={p.enrolment_id: place for place, p in enumerate(by_code)},
            practice_days=np.array([practice.get(p.enrolment_id, (0, 0))[0] for p in by_code]),
        )

    def column(self, places: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """One score per participant, in code order, from the scores of those at ``places``;
        NaN for everyone else."""
        column = np.full(len(self.position), np.nan)
        column[places] = scores
        return column


# ------------------------------------------------------------ read its scores and practice


def adherence_rules(session: Session, groups: Sequence[Group]) -> dict[int, AdherenceRule]:
    """The adherence rule of each programme these groups run, by programme id (a summary's
    groups are one clinic's, so each programme has its clinic's rule)."""
    return {
        programme_id: programme_service.adherence_rule(
            session, programme_service.get_programme(session, programme_id), clinic_id=clinic_id
        )
        for programme_id, clinic_id in sorted({(g.programme_id, g.clinic_id) for g in groups})
    }


def practice_by_enrolment(
    session: Session, *, groups: Sequence[Group], rules: Mapping[int, AdherenceRule]
) -> dict[int, tuple[int, int]]:
    """Practice days (by the programme's rule) and minutes in the programme weeks, for each
    patient who practised: one query per programme, however many groups and patients."""
    result = {}
    for programme_id, rule in rules.items():
        totals = practice_service.practice_totals(
            session,
            group_ids=[group.id or 0 for group in groups if group.programme_id == programme_id],
            weeks=rule.total_weeks or DEFAULT_WEEKS,
            practice_day_minutes=rule.minutes_per_day,
            bad_day_counts=rule.bad_day_counts,
        )
        result.update(
            {
                enrolment_id: (total.practice_days, round(total.seconds / 60))
                for enrolment_id, total in totals.items()
            }
        )
    return result


def _current_scores(
    group_ids: Sequence[int], *, exclude_prorated: bool = False
) -> list[ColumnElement[bool]]:
    """Submitted scores of these groups' patients that no correction has replaced:
    ``questionnaires.current_administrations``'s rule, for the database to apply (leaving
    prorated totals out when asked)."""
    corrected = select(Administration.supersedes_id).where(
        col(Administration.supersedes_id).is_not(None),
        col(Administration.status) == AdministrationStatus.submitted,
    )
    return [
        col(Administration.enrolment_id).in_(
            select(Enrolment.id).where(col(Enrolment.group_id).in_(group_ids))
        ),
        col(Administration.status) == AdministrationStatus.submitted,
        col(Administration.score_total).is_not(None),
        col(Administration.id).not_in(corrected),
        *([col(Administration.prorated).is_(False)] if exclude_prorated else []),
    ]


def _prorated_totals(session: Session, *, group_ids: Sequence[int]) -> int:
    """How many current totals at the paired timepoints were prorated."""
    query = select(func.count()).where(
        *_current_scores(group_ids),
        col(Administration.timepoint).in_(PAIRED_TIMEPOINTS),
        col(Administration.prorated).is_(True),
    )
    return int(session.exec(query).one())


def _paired_timepoint_scores(
    session: Session, *, group_ids: Sequence[int], cohort: _Cohort, exclude_prorated: bool
) -> dict[tuple[str, str], np.ndarray]:
    """Scores at the timepoints the summary pairs, by (instrument, timepoint), as columns in
    participant-code order, for everyone in these groups (weekly ratings are not paired, so
    not read)."""
    current = (
        *_current_scores(group_ids, exclude_prorated=exclude_prorated),
        col(Administration.timepoint).in_(PAIRED_TIMEPOINTS),
    )
    scored_at, total = col(Administration.timepoint), col(Administration.score_total)
    # A clinic has hundreds of thousands of scores: the database sends one plain row per
    # patient and instrument with its scores side by side, and how many it found.
    rows = (
        session.connection()
        .execute(
            select(
                Administration.enrolment_id,
                Administration.instrument_id,
                func.count(),
                *(func.max(case((scored_at == name, total))) for name in PAIRED_TIMEPOINTS),
            )
            .where(*current)
            .group_by(col(Administration.enrolment_id), col(Administration.instrument_id))
        )
        .all()
    )
    if not rows:
        return {}
    # Column by column, not row by row: a clinic sends back 70,000 rows.
    enrolment_ids, instrument_ids, found, *at_timepoints = zip(*rows, strict=True)
    places = np.fromiter(map(cohort.position.__getitem__, enrolment_ids), np.intp, len(rows))
    instrument_of = np.array(instrument_ids)
    scores = np.array(at_timepoints, dtype=float)  # a row per timepoint; None becomes NaN
    columns = {}
    for instrument_id in instruments():
        theirs = instrument_of == instrument_id
        if theirs.any():
            for timepoint, scores_then in zip(PAIRED_TIMEPOINTS, scores, strict=True):
                columns[(instrument_id, timepoint)] = cohort.column(
                    places[theirs], scores_then[theirs]
                )
    # More scores than timepoints filled: a questionnaire was sent twice for one timepoint.
    repeated = np.flatnonzero(np.array(found) > (~np.isnan(scores)).sum(axis=0))
    if len(repeated):
        enrolments = [enrolment_ids[index] for index in repeated]
        _newest_of_repeated(session, current, enrolments, columns, cohort)
    return columns


def _newest_of_repeated(
    session: Session,
    current: Sequence[ColumnElement[bool]],
    enrolment_ids: Sequence[int],
    columns: Mapping[tuple[str, str], np.ndarray],
    cohort: _Cohort,
) -> None:
    """A questionnaire submitted twice for one timepoint (a race the service refuses in
    order, not at once): the newer score counts, as on the patient's own summary."""
    rows = session.connection().execute(
        select(
            Administration.enrolment_id,
            Administration.instrument_id,
            Administration.timepoint,
            Administration.score_total,
        )
        .where(*current, col(Administration.enrolment_id).in_(enrolment_ids))
        .order_by(col(Administration.id))
    )
    for enrolment_id, instrument_id, timepoint, total in rows:
        if (instrument_id, timepoint) in columns:
            columns[(instrument_id, timepoint)][cohort.position[enrolment_id]] = total


def _scored_instruments(
    session: Session, *, group_ids: Sequence[int], among: Collection[str]
) -> set[str]:
    """Which of ``among`` have a score at any timepoint in these groups: an instrument with
    only weekly ratings so far still gets its rows in the summary."""
    query = (
        select(Administration.instrument_id)
        .where(col(Administration.instrument_id).in_(among), *_current_scores(group_ids))
        .distinct()
    )
    return set(session.exec(query).all())


# --------------------------------------------------------------------------------- compute


def _measure(
    instrument: Instrument,
    from_: str,
    to: str,
    scores: Mapping[tuple[str, str], np.ndarray],
    cohort: _Cohort,
    references: Sequence[PublishedEffect],
) -> MeasureSummary:
    """One instrument from one timepoint to another; ``scores`` are columns in code order."""
    none = np.full(len(cohort.position), np.nan)
    before = scores.get((instrument.id, from_), none)
    after = scores.get((instrument.id, to), none)
    started = ~np.isnan(before)
    both = started & ~np.isnan(after)
    pre, post = before[both], after[both]
    # SciPy costs ~90 MB of memory to import; only summaries need it (not exports, the
    # patient app or the scheduler), so it is loaded here, on first use.
    from app.outcomes.effect_size import paired_summary, spearman

    stats = paired_summary(
        pre, post, higher_is_better=instrument.higher_is_better, min_pairs=MIN_PAIRS
    )
    # Scores take few distinct values: each distinct pair is assessed once, however many
    # people share it. Counts of people, like effect sizes, are withheld below MIN_PAIRS.
    pair_counts = Counter(zip(pre.tolist(), post.tolist(), strict=True))
    enough = stats.n_pairs >= MIN_PAIRS
    reliable = None
    if enough and instrument.reliable_change is not None:
        reliable = count_categories(instrument, pair_counts)
    pain = None
    if enough and instrument.important_change is not None:
        pain = count_pain_change(instrument, pair_counts)
    correlation = spearman(
        cohort.practice_days[both], improvement(instrument, pre, post), min_pairs=MIN_PAIRS
    )
    return MeasureSummary(
        instrument=instrument,
        from_=from_,
        to=to,
        stats=stats,
        n_started=int(started.sum()),
        pair_counts=pair_counts,
        reliable_change=reliable,
        pain_change=pain,
        practice_correlation=correlation,
        references=[
            r for r in references if (r.measure, r.from_, r.to) == (instrument.id, from_, to)
        ],
    )


def _talking_therapies(
    scores: Mapping[tuple[str, str], np.ndarray], cohort: _Cohort
) -> list[TalkingTherapiesSummary]:
    """The joint NHS Talking Therapies categories for each pair of timepoints at which anyone
    has both PHQ-9 and GAD-7."""
    known = instruments()
    if not all(name in known for name in TALKING_THERAPIES_MEASURES):
        return []
    phq9, gad7 = (known[name] for name in TALKING_THERAPIES_MEASURES)
    none = np.full(len(cohort.position), np.nan)
    result = []
    for from_, to in PAIRS:
        columns = [
            scores.get((i, t), none) for i in TALKING_THERAPIES_MEASURES for t in (from_, to)
        ]
        paired = [
            ~np.isnan(columns[0]) & ~np.isnan(columns[1]),
            ~np.isnan(columns[2]) & ~np.isnan(columns[3]),
        ]
        both = paired[0] & paired[1]
        n_pairs = int(both.sum())
        if n_pairs == 0:
            continue
        people: Counter[JointScores] = Counter(
            zip(*(column[both].tolist() for column in columns), strict=True)
        )
        result.append(
            TalkingTherapiesSummary(
                from_=from_,
                to=to,
                n_pairs=n_pairs,
                counts=count_talking_therapies(phq9, gad7, people)
                if n_pairs >= MIN_PAIRS
                else None,
                only_one_measure=int((paired[0] ^ paired[1]).sum()),
                definition=talking_therapies_definition(phq9, gad7),
            )
        )
    return result


def _with_holm(measures: list[MeasureSummary]) -> list[MeasureSummary]:
    """Each measure's p adjusted by Holm over every measure shown together."""
    from app.outcomes.effect_size import holm

    for measure, adjusted in zip(measures, holm([m.stats.p for m in measures]), strict=True):
        measure.p_holm = adjusted
    return measures


def _measures(
    scores: Mapping[tuple[str, str], np.ndarray], scored: Collection[str], cohort: _Cohort
) -> list[MeasureSummary]:
    """Each scored instrument from baseline to end (always) and to follow-up (once scored)."""
    references = published_references()
    measures = []
    for instrument in ordered_instruments():
        if instrument.id not in scored:
            continue
        for from_, to in PAIRS:
            measure = _measure(instrument, from_, to, scores, cohort, references)
            if to == "end" or measure.stats.n_pairs > 0:
                measures.append(measure)
    return _with_holm(measures)


def _rules_by_group(
    groups: Sequence[Group], rules: Mapping[int, AdherenceRule]
) -> list[tuple[list[str], str]]:
    """Each distinct adherence rule in words, with the groups whose programme uses it."""
    by_rule: dict[str, list[str]] = {}
    for group in groups:
        by_rule.setdefault(rules[group.programme_id].describe(), []).append(group.code)
    return [(codes, rule) for rule, codes in by_rule.items()]


def _adherence_rows(
    groups: Sequence[Group],
    participants: Sequence[groups_service.Participant],
    practice: Mapping[int, tuple[int, int]],
) -> list[AdherenceRow]:
    """Each patient's practice, group by group in the order given, by code within each."""
    position = {group.id: index for index, group in enumerate(groups)}
    group_code = {group.id: group.code for group in groups}
    in_order = sorted(participants, key=lambda p: position[p.group_id])  # stable: codes stay sorted
    return [
        AdherenceRow(
            p.participant_code, group_code[p.group_id], *practice.get(p.enrolment_id, (0, 0))
        )
        for p in in_order
    ]


# ------------------------------------------------------------ the summary, start to finish


def summarise_outcomes(
    session: Session,
    *,
    viewer: User,
    group_codes: Sequence[str] = (),
    date_from: date | None = None,
    date_to: date | None = None,
    exclude_prorated: bool = False,
) -> OutcomeSummary:
    """Pre-post statistics per instrument and pair of timepoints over the chosen groups
    (without prorated totals when ``exclude_prorated``)."""
    if viewer.role == Role.patient:
        raise Forbidden("This page is for staff.")
    # Read the cohort.
    groups = _select_groups(
        session, viewer=viewer, group_codes=group_codes, date_from=date_from, date_to=date_to
    )
    group_ids = [group.id or 0 for group in groups]
    participants = groups_service.participants(session, group_ids=group_ids)
    # Read its practice and scores.
    rules = adherence_rules(session, groups)
    practice = practice_by_enrolment(session, groups=groups, rules=rules)
    cohort = _Cohort.of(participants, practice)
    scores = _paired_timepoint_scores(
        session, group_ids=group_ids, cohort=cohort, exclude_prorated=exclude_prorated
    )
    scored = {instrument_id for instrument_id, _ in scores}
    scored |= _scored_instruments(session, group_ids=group_ids, among=set(instruments()) - scored)
    prorated = _prorated_totals(session, group_ids=group_ids)
    # Compute.
    summary = OutcomeSummary(
        groups=groups,
        date_from=date_from,
        date_to=date_to,
        measures=_measures(scores, scored, cohort),
        talking_therapies=_talking_therapies(scores, cohort),
        adherence=_adherence_rows(groups, participants, practice),
        adherence_rules=_rules_by_group(groups, rules),
        exclude_prorated=exclude_prorated,
        prorated_totals=prorated,
        erased_participants=groups_service.erased_count(session, group_ids=group_ids),
    )
    # Record the view.
    audit.record(
        session,
        action="view_outcome_summary",
        actor=viewer,
        object_type="groups",
        object_id=",".join(g.code for g in groups)[:64],
    )
    return summary
