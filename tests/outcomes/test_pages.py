"""Questionnaire, paper-form, safety-flag and outcome pages as people use them."""

import html
import re
import shutil
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import col, select

from app import clock as app_clock
from app.audit.models import AuditEvent
from app.db import open_session
from app.groups.models import Group
from app.outcomes import charts, export_rows
from app.outcomes import due as due_windows
from app.outcomes import instruments as instrument_registry
from app.outcomes import pages as outcomes_pages
from app.outcomes.models import Administration, SafetyFlag
from app.programme import service as programme_service
from tests.factories import World, login
from tests.pages import submit, visible_text

PHQ9_PAGE = "/questionnaires/phq9/baseline"

# The groups start in three days: the baseline questionnaires are open.
pytestmark = pytest.mark.world(started_days_ago=-3)


def _answers(**changes: str) -> dict[str, str]:
    answers = {f"q_q{n}": "0" for n in range(1, 10)}
    answers.update(changes)
    return answers


def _actions(engine: Engine) -> list[str]:
    with open_session(engine) as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def test_windows_follow_the_group_dates() -> None:
    group = Group(code="X", name="X", clinic_id=1, programme_id=1, start_date=date(2026, 3, 2))
    windows = {w.timepoint: w for w in due_windows.timepoint_windows(group, weeks=8)}
    assert (windows["baseline"].opens_on, windows["baseline"].closes_on) == (
        date(2026, 2, 16),
        date(2026, 3, 8),
    )
    end_of_week_8 = date(2026, 3, 2) + timedelta(days=55)
    assert (windows["end"].opens_on, windows["end"].closes_on) == (
        date(2026, 3, 2) + timedelta(days=49),
        end_of_week_8 + timedelta(weeks=3),
    )
    follow_up = end_of_week_8 + timedelta(days=91)
    assert (windows["follow_up"].opens_on, windows["follow_up"].closes_on) == (
        follow_up - timedelta(weeks=3),
        follow_up + timedelta(weeks=3),
    )
    assert windows["week_3"].optional and not windows["end"].optional


def test_patient_fills_in_a_questionnaire_part_way_then_sends_it(
    client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    listing = client.get("/questionnaires")
    assert "PHQ-9" in visible_text(listing.text)
    saved = submit(client, PHQ9_PAGE, PHQ9_PAGE, {"q_q1": "2", "action": "save"})
    assert saved.status_code == 303
    page = client.get(saved.headers["location"])
    assert "Saved. You can finish it later." in visible_text(page.text)
    assert 'value="2" checked' in page.text

    incomplete = submit(client, PHQ9_PAGE, PHQ9_PAGE, {"q_q1": "2", "action": "submit"})
    assert incomplete.status_code == 422
    text = visible_text(incomplete.text)
    assert "Please answer every question before sending: 8 still to answer" in text
    assert text.count("Please answer this question.") == 8

    sent = submit(client, PHQ9_PAGE, PHQ9_PAGE, {**_answers(q_q1="2"), "action": "submit"})
    assert sent.status_code == 303
    thanks = client.get(sent.headers["location"])
    assert "Your PHQ-9 has been sent" in visible_text(thanks.text)
    assert "Support is available now" not in visible_text(thanks.text)
    again = client.get(PHQ9_PAGE)
    assert again.status_code == 409 and "already sent" in visible_text(again.text)


def test_an_answer_outside_the_options_shows_an_error_and_keeps_the_rest_as_a_draft(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    response = submit(client, PHQ9_PAGE, PHQ9_PAGE, {**_answers(q_q3="5"), "action": "submit"})
    assert response.status_code == 422
    assert "5 is not one of the answers" in visible_text(response.text)
    with open_session(engine) as session:
        [draft] = session.exec(select(Administration)).all()
        assert draft.submitted_at is None and "q3" not in draft.answers and len(draft.answers) == 8


def test_item_9_shows_the_clinic_crisis_text_on_the_page(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    sent = submit(client, PHQ9_PAGE, PHQ9_PAGE, {**_answers(q_q9="1"), "action": "submit"})
    page = client.get(sent.headers["location"])
    text = visible_text(page.text)
    assert "Support is available now" in text
    assert world.clinic.crisis_text in text


def test_safety_flag_is_first_on_staff_pages_until_acknowledged(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    submit(client, PHQ9_PAGE, PHQ9_PAGE, {**_answers(q_q9="3"), "action": "submit"})
    client.cookies.clear()

    login(client, "fb@one.example")  # the other group's facilitator sees nothing
    assert "Safety: please follow up" not in visible_text(client.get("/groups").text)
    client.cookies.clear()

    login(client, "fa@one.example")
    pages = {"/groups": "Your groups", "/groups/GRP-A": "Engagement board", "/outcomes": "Show"}
    for url, first_content in pages.items():
        text = visible_text(client.get(url).text)
        assert text.index("Safety: please follow up") < text.index(first_content), url
        assert "P-A1 (GRP-A): PHQ-9 question 9: Thoughts that you would be better off dead" in text
        assert 'latest answer "Nearly every day"' in text
    with open_session(engine) as session:
        flag_id = session.exec(select(SafetyFlag)).one().id
    flag_page = f"/outcomes/safety-flags/{flag_id}"
    text = visible_text(client.get(flag_page).text)
    assert "Latest answer: Nearly every day" in text and "Acknowledge: what was done?" in text
    unsaid = submit(client, flag_page, flag_page + "/acknowledge", {"note": ""})
    assert unsaid.status_code == 422 and "Choose what was done." in visible_text(unsaid.text)
    other = submit(client, flag_page, flag_page + "/acknowledge", {"action": "other"})
    assert other.status_code == 422 and "Say in a note what was done." in visible_text(other.text)
    done = submit(
        client,
        flag_page,
        flag_page + "/acknowledge",
        {"action": "contacted_patient", "note": "Rang P-A1; safe, seeing GP Tuesday."},
    )
    assert done.status_code == 303 and done.headers["location"].startswith(flag_page)
    text = visible_text(client.get(flag_page).text)
    assert "By facilitator_a on" in text and "Contacted the patient" in text
    assert "Rang P-A1; safe, seeing GP Tuesday." in text
    assert "Safety: please follow up" not in visible_text(client.get("/groups").text)
    with open_session(engine) as session:
        flag = session.exec(select(SafetyFlag)).one()
        assert flag.acknowledged_by_name == "facilitator_a" and flag.acknowledged_at
    assert "acknowledge_safety_flag" in _actions(engine)
    page = client.get("/outcomes/patients/P-A1")
    assert "acknowledged by facilitator_a" in visible_text(page.text)


def test_staff_enter_a_paper_pseq_total_and_correct_it(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "fa@one.example")
    form_url = "/outcomes/patients/P-A1/enter?instrument=pseq&timepoint=baseline"
    page = client.get(form_url)
    assert "Total score (0 to 60)" in visible_text(page.text)
    action = "/outcomes/patients/P-A1/enter"
    fields = {"instrument": "pseq", "timepoint": "baseline"}
    bad = submit(client, form_url, action, {**fields, "total": "61"})
    assert bad.status_code == 422 and "61 is outside 0-60" in visible_text(bad.text)
    assert submit(client, form_url, action, {**fields, "total": "32"}).status_code == 303
    twice = submit(client, form_url, action, {**fields, "total": "33"})
    assert twice.status_code == 409 and "already has" in visible_text(twice.text)
    corrected = submit(client, form_url, action, {**fields, "total": "34", "correction": "yes"})
    assert corrected.status_code == 303
    with open_session(engine) as session:
        rows = session.exec(select(Administration).order_by(col(Administration.id))).all()
        assert [(r.score_total, r.staff_entered, r.entered_as_total) for r in rows] == [
            (32, True, True),
            (34, True, True),
        ]
        assert rows[1].supersedes_id == rows[0].id
        exported = list(export_rows.score_export_rows(session, group_ids=[world.group_a.id or 0]))
    assert [(r[0], r[2], r[3], r[4]) for r in exported] == [("P-A1", "pseq", "baseline", 34)]
    actions = _actions(engine)
    assert "enter_paper_questionnaire" in actions and "correct_questionnaire" in actions


def test_staff_paper_phq9_prorates_only_as_the_rules_allow(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "clinician@one.example")
    form_url = "/outcomes/patients/P-B1/enter?instrument=phq9&timepoint=baseline"
    action = "/outcomes/patients/P-B1/enter"
    fields = {"instrument": "phq9", "timepoint": "baseline"}
    answers = {f"q_q{n}": "2" for n in range(1, 8)} | {"q_q9": "0"}  # q8 blank
    response = submit(client, form_url, action, {**fields, **answers})
    assert response.status_code == 303
    with open_session(engine) as session:
        stored = session.exec(select(Administration)).one()
        # 7 x 2 + 0 = 14 over 8 answered; prorated to 9 items: 14 / 8 x 9 = 15.75 -> 16.
        assert (stored.score_total, stored.prorated) == (16, True)
        [row] = export_rows.score_export_rows(session, group_ids=[world.group_b.id or 0])
        assert row[-1] == 1  # scores.csv's prorated column
    patient_page = visible_text(client.get("/outcomes/patients/P-B1").text)
    assert "prorated: unanswered items filled by the mean of the answered ones" in patient_page
    summary = visible_text(client.get("/outcomes").text)
    assert "Prorated totals included: 1" in summary
    left_out = client.get("/outcomes?exclude_prorated=true")
    assert "Prorated totals left out: 1" in visible_text(left_out.text)
    assert 'name="exclude_prorated" value="true" checked' in left_out.text
    with open_session(engine) as session:
        assert session.exec(select(SafetyFlag)).all() == []
    blank_item_9 = {f"q_q{n}": "1" for n in range(1, 9)}
    form_url = "/outcomes/patients/P-B2/enter?instrument=phq9&timepoint=baseline"
    refused = submit(client, form_url, "/outcomes/patients/P-B2/enter", {**fields, **blank_item_9})
    assert refused.status_code == 422
    assert "a safety item must always be answered" in visible_text(refused.text)
    # A paper form with item 9 above 0 raises the flag like an answer on the phone.
    risky = {f"q_q{n}": "0" for n in range(1, 9)} | {"q_q9": "2"}
    assert submit(client, form_url, "/outcomes/patients/P-B2/enter", {**fields, **risky})
    with open_session(engine) as session:
        [flag] = session.exec(select(SafetyFlag)).all()
        assert flag.answer == 2


def test_per_patient_summary_is_scoped_and_audited(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    submit(client, PHQ9_PAGE, PHQ9_PAGE, {**_answers(q_q1="3"), "action": "submit"})
    assert client.get("/outcomes/patients/P-A1").status_code == 403
    assert client.get("/outcomes").status_code == 403
    client.cookies.clear()
    login(client, "fb@one.example")
    assert client.get("/outcomes/patients/P-A1").status_code == 404
    client.cookies.clear()
    login(client, "clinician@two.example")
    assert client.get("/outcomes/patients/P-A1").status_code == 404
    client.cookies.clear()
    login(client, "clinician@one.example")
    page = client.get("/outcomes/patients/P-A1")
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "PHQ-9" in text and "Before the group" in text and "<svg" in page.text
    assert _actions(engine).count("view_patient_outcomes") == 1


def test_outcomes_page_filters_and_says_too_few(client: TestClient, world: World) -> None:
    login(client, "P-A1")
    submit(client, PHQ9_PAGE, PHQ9_PAGE, {**_answers(q_q1="3"), "action": "submit"})
    client.cookies.clear()
    login(client, "clinician@one.example")
    page = client.get("/outcomes?group=GRP-A")
    text = visible_text(page.text)
    assert "Groups included: GRP-A." in text
    assert "too few pairs (0; at least 5 needed)" in text
    assert "no comparison group" in text
    bad = client.get("/outcomes?date_from=yesterday")
    assert bad.status_code == 422 and "Enter a date as YYYY-MM-DD" in visible_text(bad.text)
    later = client.get(
        f"/outcomes?date_from={app_clock.today('Europe/London') + timedelta(days=30)}"
    )
    assert "No questionnaire scores yet" in visible_text(later.text)
    assert client.get("/outcomes?group=NOPE").status_code == 404


@pytest.mark.world(started_days_ago=10)
def test_outcomes_page_shows_the_practice_table_a_page_at_a_time(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, world: World
) -> None:
    monkeypatch.setattr(outcomes_pages, "PRACTICE_ROWS_PER_PAGE", 3)
    login(client, "clinician@one.example")
    first = client.get("/outcomes?group=GRP-A&group=GRP-B")
    text = visible_text(first.text)
    assert "0 of 4 patients practised on at least one day" in text
    assert "Practice per patient: patients 1 to 3 of 4" in text
    assert "Page 1 / 2" in text and "Previous" not in text
    assert [code in text for code in ("P-A1", "P-A2", "P-B1", "P-B2")] == [True] * 3 + [False]
    next_page = re.search(r'href="([^"]*page=2#practice)"', first.text)
    assert next_page, "a link to the next page keeps the chosen groups"
    assert html.unescape(next_page[1]) == "/outcomes?group=GRP-A&group=GRP-B&page=2#practice"

    second = visible_text(client.get(html.unescape(next_page[1])).text)
    assert "patients 4 to 4 of 4" in second and "Page 2 / 2" in second and "Next" not in second
    assert "P-B2" in second and "P-A1" not in second
    beyond = visible_text(client.get("/outcomes?page=99").text)
    assert "patients 4 to 4 of 4" in beyond
    assert client.get("/outcomes?page=0").status_code == 422


def test_paired_plot_draws_each_distinct_pair_once_by_how_many_share_it() -> None:
    svg = charts.paired_plot(
        Counter({(7.0, 1.0): 8, (5.0, 5.0): 1, (6.0, 3.0): 4}), low=0, high=10, title="Pain"
    )
    drawn = re.findall(r'<path class="chart-pair chart-pair-(\d)" d="([^"]*)"', svg)
    assert [weight for weight, _ in drawn] == ["1", "2", "4"]  # the thickest last, on top
    assert [path.count("M") for _, path in drawn] == [1, 1, 1]
    assert "13 people. Mean before 6.54, mean after 1.92." in svg
    assert "(at most 8)" in svg
    assert "No pairs yet." in charts.paired_plot(Counter(), low=0, high=10, title="Pain")


def test_a_clinic_adds_its_own_instrument_file_without_code(tmp_path: Path) -> None:
    shipped = instrument_registry.INSTRUMENTS_DIR
    own = tmp_path / "instruments"
    own.mkdir()
    text = (shipped / "pseq.yaml").read_text(encoding="utf-8")
    (own / "pseq.yaml").write_text(
        text.replace("  - {id: q1}", "  - {id: q1, text: Licensed wording of item one}"),
        encoding="utf-8",
    )
    known = instrument_registry.load_instrument_directories([shipped, own])
    assert known["pseq"].item("q1").text == "Licensed wording of item one"
    assert set(known) == set(instrument_registry.load_instrument_directories([shipped]))


# Started 10 days ago: week 2.
@pytest.mark.world(started_days_ago=10)
def test_the_weekly_pain_questions_share_one_page_and_one_send(
    engine: Engine, client: TestClient, world: World
) -> None:
    login(client, "P-A1")
    today = client.get("/today")
    assert 'href="/questionnaires/weekly/week_2"' in today.text  # one button for both
    page = "/questionnaires/weekly/week_2"
    text = visible_text(client.get(page).text)
    assert "How has your pain been this week?" in text
    assert "How much has your pain bothered you this week?" in text

    half = submit(client, page, page, {"pain_intensity": "6"})
    assert half.status_code == 422 and "Please answer this question." in visible_text(half.text)
    assert 'value="6" checked' in half.text  # what they chose is kept
    with open_session(engine) as session:
        assert (
            session.exec(select(Administration).where(Administration.status == "submitted")).all()
            == []
        )

    sent = submit(client, page, page, {"pain_intensity": "6", "pain_distress": "4"})
    assert sent.status_code == 303 and sent.headers["location"] == "/today?answered=1"
    assert "Sent ✓" in visible_text(client.get(sent.headers["location"]).text)
    with open_session(engine) as session:
        done = session.exec(select(Administration)).all()
    assert sorted((a.instrument_id, a.timepoint, a.status) for a in done) == [
        ("pain_distress", "week_2", "submitted"),
        ("pain_intensity", "week_2", "submitted"),
    ]
    assert client.get(page).status_code == 404  # nothing left to answer this week


def test_outcomes_page_states_each_groups_adherence_rule_and_the_published_figures(
    engine: Engine, client: TestClient, tmp_path: Path, world: World
) -> None:
    source = Path(__file__).parents[1] / "fixtures" / "programme"
    other = tmp_path / "other"
    shutil.copytree(source, other)
    text = (other / "programme.yaml").read_text(encoding="utf-8")
    text = text.replace("key: test-programme", "key: other-programme")
    (other / "programme.yaml").write_text(
        text.replace("minutes_per_day: 10", "minutes_per_day: 20"), encoding="utf-8"
    )
    with open_session(engine, write=True) as session:
        programme, _ = programme_service.load_programme_file(session, other / "programme.yaml")
        group_b = session.get(Group, world.group_b.id)
        assert group_b is not None
        group_b.programme_id = programme.id or 0
        session.add(group_b)
        session.commit()
    login(client, "clinician@one.example")
    text = visible_text(client.get("/outcomes").text)
    assert "The groups run programmes with different adherence rules" in text
    assert "GRP-A: A practice day is a day with at least 10 minutes" in text
    assert "GRP-B: A practice day is a day with at least 20 minutes" in text
    summary = client.get("/api/v1/outcomes/summary").json()
    assert [rule["groups"] for rule in summary["adherence_rules"]] == [["GRP-A"], ["GRP-B"]]

    plain = client.get("/outcomes").text
    assert "ES as published" not in plain
    shown = visible_text(client.get("/outcomes?reference=true").text)
    assert "Published study: ES as published (type and measures not stated" in shown
    assert "not d_av" in shown
