"""The outcome summary on the demo clinic: the CLI, the JSON API and the clinician page agree
exactly, and every figure is recomputed independently from the exported scores.csv with SciPy.

The independent computation below uses only numpy/scipy and the published rules (NHS Talking
Therapies: caseness PHQ-9 >= 10 or GAD-7 >= 8, reliable change 6 and 4 points, jointly over
both measures; no reliable change without published norms, so none for the SCS-SF; IMMPACT
pain change 2 points, 30% and 50%; counts withheld below 5 pairs; Hedges' J = 1 - 3 / (4 df - 1);
the d_av interval by inverting the noncentral t, Algina & Keselman 2003; Holm 1979), not
Tend's code.

The demo clinic is seeded relative to today, so every test here runs at the fixed instants of
tests/clock.py (`@pytest.mark.clock`), and the CLI they run is given the same instant (TEND_NOW).
"""

import csv
import html
import json
import math
import os
import subprocess
import sys
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy import optimize, stats
from sqlalchemy import Engine
from sqlmodel import col, select

from app import clock, demo
from app.clinics.models import User
from app.config import PROJECT_ROOT, Settings
from app.db import open_session
from app.groups.models import Group
from app.outcomes import export_rows
from app.outcomes import safety as safety_flags
from app.programme import service as programme_service
from tests.clock import DATE_INSTANTS, LONDON, child_environment
from tests.factories import login

DEMO_PASSWORD = "demo-password-for-tests"
CONTRACT_KEYS = {
    "instrument",
    "from",
    "to",
    "n_pairs",
    "pre_mean",
    "pre_sd",
    "post_mean",
    "post_sd",
    "mean_change",
    "mean_change_ci",
    "t",
    "p",
    "d_av",
    "d_av_ci",
    "g_av",
    "g_av_ci",
    "d_z",
    "higher_is_better",
    "reliable_improvement",
    "no_reliable_change",
    "reliable_deterioration",
    "p_holm",
}
TALKING_THERAPIES_KEYS = {
    "from",
    "to",
    "n_pairs",
    "n_cases_at_baseline",
    "recovered",
    "reliable_improvement",
    "reliable_recovery",
    "reliable_deterioration",
    "no_reliable_change",
    "definition",
}
INFERENCE = {"t", "p", "d_av", "d_av_ci", "g_av", "g_av_ci", "d_z", "p_holm"}
LOWER_IS_BETTER = {"pain_intensity", "pain_distress", "phq9", "gad7", "peg"}
FIXED_THRESHOLDS = {"phq9": 6.0, "gad7": 4.0}
CUT_OFFS = {"phq9": 10.0, "gad7": 8.0}
PAIN_MEASURES = {"pain_intensity"}


def _seed(engine: Engine, settings: Settings) -> None:
    with open_session(engine, write=True) as session:
        path = programme_service.default_programme_path(settings.programmes_dir)
        programme_service.load_programme_file(session, path)
        demo.seed_demo(session, today=clock.today(LONDON), seed=7, password=DEMO_PASSWORD)
        session.commit()


def _tend(settings: Settings, *args: str, returncode: int = 0) -> str:
    env = {
        **os.environ,
        "TEND_DATABASE_URL": settings.resolved_database_url,
        "TEND_DATA_DIR": str(settings.data_dir),
        "TEND_SECRET_KEY": settings.secret_key,
        **child_environment(),
    }
    result = subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == returncode, result.stderr
    return result.stdout


class _Cells(HTMLParser):
    """Rows of the outcome tables: (instrument, from, to) -> {field: exact value}; the joint
    NHS Talking Therapies rows under the instrument "talking_therapies"."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.current: tuple[str, str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tr":
            self.current = None
            if values.get("data-from"):
                self.current = (
                    values.get("data-instrument") or "talking_therapies",
                    values["data-from"] or "",
                    values["data-to"] or "",
                )
                self.rows[self.current] = {}
        elif tag == "span" and self.current and values.get("data-field"):
            self.rows[self.current][values["data-field"] or ""] = json.loads(
                values["data-value"] or "null"
            )


@pytest.fixture
def demo_clinic(engine: Engine, settings: Settings) -> Settings:
    _seed(engine, settings)
    return settings


@pytest.mark.clock(*DATE_INSTANTS)
def test_cli_api_and_clinician_page_show_the_same_summary(
    demo_clinic: Settings, client: TestClient
) -> None:
    from_cli = json.loads(_tend(demo_clinic, "outcomes", "summary", "--format", "json"))
    measures = from_cli["measures"]
    assert measures, "the demo clinic has outcome measures"
    for measure in measures:
        assert set(measure) >= CONTRACT_KEYS
        if measure["instrument"] in PAIN_MEASURES:
            assert "pain_change" in measure  # null below 5 pairs
    pain = [m["pain_change"] for m in measures if m["instrument"] in PAIN_MEASURES]
    assert any(pain) and all(
        set(counts) >= {"two_points", "thirty_percent", "fifty_percent", "n"}
        for counts in pain
        if counts
    )
    joint = from_cli["talking_therapies"]
    assert [(tt["from"], tt["to"]) for tt in joint] == [
        ("baseline", "end"),
        ("baseline", "follow_up"),
    ]
    assert all(set(tt) >= TALKING_THERAPIES_KEYS for tt in joint)
    pairs = {(m["instrument"], m["from"], m["to"]) for m in measures}
    for instrument in ("pain_distress", "pain_intensity", "gad7", "phq9", "pseq", "scs_sf"):
        assert (instrument, "baseline", "end") in pairs
        assert (instrument, "baseline", "follow_up") in pairs

    login(client, "clinician@demo.example", DEMO_PASSWORD)
    assert client.get("/api/v1/outcomes/summary").json() == from_cli

    page = client.get("/outcomes")
    assert page.status_code == 200
    paired_plots = page.text.count('<figure class="chart-figure small">')
    assert paired_plots == sum(1 for measure in measures if measure["n_pairs"])
    parser = _Cells()
    parser.feed(page.text)
    joint_rows = {("talking_therapies", tt["from"], tt["to"]) for tt in joint}
    assert set(parser.rows) == pairs | joint_rows
    for measure in measures:
        shown = parser.rows[(measure["instrument"], measure["from"], measure["to"])]
        names = CONTRACT_KEYS - {"instrument", "from", "to", "higher_is_better"}
        if measure["too_few"]:
            names -= INFERENCE
        for name in names:
            assert shown[name] == measure[name], (measure["instrument"], name)
        assert shown["n_started"] == measure["n_started"]
        for name, value in (measure.get("pain_change") or {}).items():
            if name != "n" and name != "baseline_at_best":
                assert shown[f"pain_{name}"] == value, (measure["instrument"], name)
    for tt in joint:
        shown = parser.rows[("talking_therapies", tt["from"], tt["to"])]
        for name in TALKING_THERAPIES_KEYS - {"from", "to", "definition"}:
            if tt[name] is not None:
                assert shown[f"tt_{name}"] == tt[name], (tt["to"], name)
        assert shown["tt_only_one_measure"] == tt["only_one_measure"]
    with_reference = _Cells()
    with_reference.feed(client.get("/outcomes?reference=true").text)
    for measure in measures:
        shown = with_reference.rows[(measure["instrument"], measure["from"], measure["to"])]
        published = [figure["effect_size"] for figure in measure["published"]]
        assert shown.get("published_effect_size") == (published[-1] if published else None)
    assert any(m["published"] for m in measures)
    text = html.unescape(page.text)
    # The forest plot draws the table's headline, d_av, turned so that right is better.
    for measure in measures:
        if measure["d_av"] is not None:
            sign = 1 if measure["higher_is_better"] else -1
            drawn = f"{sign * measure['d_av']:.2f}".replace("-", "\u2212")
            assert f": {drawn} (95% CI" in text, measure["instrument"]
    assert from_cli["multiple_testing"] in text
    assert f"Prorated totals included: {from_cli['prorated_totals']}" in text

    as_facilitator = ("outcomes", "summary", "--as", "facilitator2@demo.example")
    scoped = json.loads(_tend(demo_clinic, *as_facilitator, "--format", "json"))
    assert scoped["groups"] == ["DEMO-B"]
    refused = _tend(
        demo_clinic, *as_facilitator, "--group", "DEMO-A", "--format", "json", returncode=2
    )
    assert "No group 'DEMO-A' that you can see" in refused

    table = _tend(demo_clinic, "outcomes", "summary", "--format", "table")
    assert "gad7 baseline->end" in table and "no comparison group" in table
    assert "NHS Talking Therapies" in table and "Holm" in table


def _noncentral_interval(t: float, df: int) -> tuple[float, float]:
    """The noncentralities putting t at the 97.5th and 2.5th percentiles (stepping out from t)."""

    def root(target: float, step: float) -> float:
        def gap(nc: float) -> float:
            return float(stats.nct.cdf(t, df, nc)) - target

        near, far = t, t + step
        while gap(near) * gap(far) > 0:
            near, far = far, far + step
        return float(optimize.brentq(gap, min(near, far), max(near, far), xtol=1e-12))

    # A larger noncentrality lowers cdf(t): the lower limit lies below t, the upper above.
    return root(0.975, -0.25), root(0.025, 0.25)


def _read_scores(path: Path) -> tuple[dict[tuple[str, str, str], float], set[tuple[str, str, str]]]:
    """Every score by (participant, instrument, timepoint), and which of them were prorated."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {
        "participant_code",
        "group_code",
        "instrument",
        "timepoint",
        "score",
        "completed_at",
        "prorated",
    } <= set(rows[0])
    key = ("participant_code", "instrument", "timepoint")
    scores = {tuple(r[k] for k in key): float(r["score"]) for r in rows}
    prorated = {tuple(r[k] for k in key) for r in rows if r["prorated"] == "1"}
    return scores, prorated  # type: ignore[return-value]


def _holm(p_values: list[float | None]) -> list[float | None]:
    """Holm 1979 written out: the k-th smallest of m times (m - k + 1), never below the last."""
    present = [p for p in p_values if p is not None]
    order = np.argsort(present)
    adjusted = np.minimum(
        1, np.maximum.accumulate(np.sort(present) * (len(present) - np.arange(len(present))))
    )
    by_rank = dict(zip(order.tolist(), adjusted.tolist(), strict=True))
    result: list[float | None] = []
    seen = 0
    for p in p_values:
        result.append(None if p is None else by_rank[seen])
        seen += p is not None
    return result


def _check_measure(measure: dict[str, Any], at: dict[str, dict[str, float]]) -> None:
    close = {"abs": 5e-4}
    started = at[measure["from"]]
    people = sorted(set(started) & set(at[measure["to"]]))
    n = len(people)
    assert measure["n_started"] == len(started)
    assert measure["n_pairs"] == n
    pre = np.array([started[p] for p in people])
    post = np.array([at[measure["to"]][p] for p in people])
    diff = post - pre
    assert measure["pre_mean"] == pytest.approx(pre.mean(), **close)
    assert measure["post_mean"] == pytest.approx(post.mean(), **close)
    assert measure["pre_sd"] == pytest.approx(pre.std(ddof=1), **close)
    assert measure["post_sd"] == pytest.approx(post.std(ddof=1), **close)
    assert measure["mean_change"] == pytest.approx(diff.mean(), **close)
    assert measure["higher_is_better"] is (measure["instrument"] not in LOWER_IS_BETTER)
    if n < 5:
        assert measure["too_few"] and measure["d_av"] is None and measure["g_av"] is None
        assert measure["mean_change_ci"] is None
    else:
        ci = stats.t.interval(0.95, n - 1, loc=diff.mean(), scale=stats.sem(diff))
        assert measure["mean_change_ci"] == pytest.approx(list(ci), **close)
        test = stats.ttest_rel(post, pre)
        assert measure["t"] == pytest.approx(test.statistic, **close)
        assert measure["p"] == pytest.approx(test.pvalue, **close)
        sd_av = (pre.std(ddof=1) + post.std(ddof=1)) / 2
        d_av = diff.mean() / sd_av
        j = 1 - 3 / (4 * (n - 1) - 1)
        assert measure["d_av"] == pytest.approx(d_av, **close)
        assert measure["g_av"] == pytest.approx(d_av * j, **close)
        assert measure["d_z"] == pytest.approx(diff.mean() / diff.std(ddof=1), **close)
        low, high = _noncentral_interval(float(test.statistic), n - 1)
        scale = diff.std(ddof=1) / sd_av / math.sqrt(n)
        assert measure["d_av_ci"] == pytest.approx([low * scale, high * scale], **close)
        assert measure["g_av_ci"] == measure["d_av_ci"]

    improvement = -diff if measure["instrument"] in LOWER_IS_BETTER else diff
    threshold = FIXED_THRESHOLDS.get(measure["instrument"])
    counts = [
        measure[k] for k in ("reliable_improvement", "no_reliable_change", "reliable_deterioration")
    ]
    if threshold is None or n < 5:
        assert counts == [None, None, None]
    else:
        better = int(np.sum(improvement >= threshold - 1e-9))
        worse = int(np.sum(-improvement >= threshold - 1e-9))
        assert counts == [better, n - better - worse, worse]
    if measure["instrument"] in PAIN_MEASURES:
        could = pre > 0
        percent = np.divide(improvement, pre, out=np.zeros(n), where=could) * 100
        expected = {
            "two_points": int(np.sum(could & (improvement >= 2))),
            "thirty_percent": int(np.sum(could & (percent >= 30 - 1e-9))),
            "fifty_percent": int(np.sum(could & (percent >= 50 - 1e-9))),
            "n": int(could.sum()),
            "baseline_at_best": int((~could).sum()),
        }
        assert measure["pain_change"] == (expected if n >= 5 else None)
    else:
        assert "pain_change" not in measure


def _check_talking_therapies(
    joint: dict[str, Any], by_instrument: dict[str, dict[str, dict[str, float]]]
) -> None:
    phq, gad = by_instrument["phq9"], by_instrument["gad7"]
    first, then = joint["from"], joint["to"]
    with_phq = set(phq[first]) & set(phq[then])
    with_gad = set(gad[first]) & set(gad[then])
    people = sorted(with_phq & with_gad)
    assert joint["n_pairs"] == len(people)
    assert joint["only_one_measure"] == len(with_phq ^ with_gad)
    before = {m: np.array([by_instrument[m][first][p] for p in people]) for m in CUT_OFFS}
    after = {m: np.array([by_instrument[m][then][p] for p in people]) for m in CUT_OFFS}
    fell = {m: before[m] - after[m] >= FIXED_THRESHOLDS[m] for m in CUT_OFFS}
    rose = {m: after[m] - before[m] >= FIXED_THRESHOLDS[m] for m in CUT_OFFS}
    case = (before["phq9"] >= 10) | (before["gad7"] >= 8)
    recovered = case & (after["phq9"] < 10) & (after["gad7"] < 8)
    improved = (fell["phq9"] | fell["gad7"]) & ~(rose["phq9"] | rose["gad7"])
    deteriorated = (rose["phq9"] | rose["gad7"]) & ~(fell["phq9"] | fell["gad7"])
    expected = {
        "n_cases_at_baseline": int(case.sum()),
        "recovered": int(recovered.sum()),
        "reliable_improvement": int(improved.sum()),
        "reliable_recovery": int((recovered & improved).sum()),
        "reliable_deterioration": int(deteriorated.sum()),
        "no_reliable_change": int((~improved & ~deteriorated).sum()),
    }
    if len(people) < 5:
        expected = dict.fromkeys(expected)
    assert {name: joint[name] for name in expected} == expected


def _by_instrument(
    scores: dict[tuple[str, str, str], float], leave_out: set[tuple[str, str, str]]
) -> dict[str, dict[str, dict[str, float]]]:
    by_instrument: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for (participant, instrument, timepoint), value in scores.items():
        if (participant, instrument, timepoint) not in leave_out:
            by_instrument[instrument][timepoint][participant] = value
    return by_instrument


@pytest.mark.clock(*DATE_INSTANTS)
def test_every_figure_recomputed_from_the_exported_scores(
    demo_clinic: Settings, tmp_path: Path
) -> None:
    _tend(demo_clinic, "export", "--out", str(tmp_path / "bundle"))
    scores, prorated = _read_scores(tmp_path / "bundle" / "scores.csv")
    # The demo has one prorated PHQ-9 (a paper form with an item left blank).
    assert [key[1:] for key in prorated] == [("phq9", "end")]
    for options, leave_out in (((), set()), (("--exclude-prorated",), prorated)):
        summary = json.loads(
            _tend(demo_clinic, "outcomes", "summary", "--format", "json", *options)
        )
        assert (summary["exclude_prorated"], summary["prorated_totals"]) == (bool(options), 1)
        by_instrument = _by_instrument(scores, leave_out)
        for measure in summary["measures"]:
            _check_measure(measure, by_instrument[measure["instrument"]])
        expected_holm = _holm([m["p"] for m in summary["measures"]])
        assert [m["p_holm"] for m in summary["measures"]] == pytest.approx(expected_holm)
        assert summary["talking_therapies"]
        for joint in summary["talking_therapies"]:
            _check_talking_therapies(joint, by_instrument)


@pytest.mark.clock(*DATE_INSTANTS)
def test_demo_effect_sizes_resemble_the_seed_study(demo_clinic: Settings) -> None:
    """DEMO-B alone: plausible improvements of the size the seed study reported (0.2 to 0.9)."""
    summary = json.loads(
        _tend(demo_clinic, "outcomes", "summary", "--group", "DEMO-B", "--format", "json")
    )
    end = {m["instrument"]: m for m in summary["measures"] if m["to"] == "end"}
    for instrument in ("pain_distress", "pain_intensity", "gad7", "phq9", "pseq"):
        measure = end[instrument]
        assert measure["n_pairs"] >= 5
        better = measure["d_av"] if measure["higher_is_better"] else -measure["d_av"]
        assert 0.1 < better < 1.0, (instrument, better)


@pytest.mark.clock(*DATE_INSTANTS)
def test_demo_outcomes_are_reproducible_with_one_open_safety_flag(
    engine: Engine, settings: Settings
) -> None:
    def snapshot() -> tuple[list[tuple[Any, ...]], list[str]]:
        with open_session(engine) as session:
            groups = session.exec(select(Group).order_by(col(Group.code))).all()
            rows = [
                row[:5]
                for row in export_rows.score_export_rows(
                    session, group_ids=[g.id or 0 for g in groups]
                )
            ]
            clinician = session.exec(
                select(User).where(User.login == "clinician@demo.example")
            ).one()
            flags = [
                f"{v.group_code} {v.participant_code} {v.flag.item_id}={v.flag.answer}"
                for v in safety_flags.open_safety_flags(session, viewer=clinician)
            ]
        return rows, flags

    _seed(engine, settings)
    first = snapshot()
    with open_session(engine, write=True) as session:
        demo.seed_demo(session, today=clock.today(LONDON), seed=7, password=DEMO_PASSWORD)
        session.commit()
    assert snapshot() == first
    rows, flags = first
    assert len(flags) == 1 and flags[0].startswith("DEMO-A ") and flags[0].endswith("q9=1")
    timepoints = {(r[1], r[3]) for r in rows}
    assert ("DEMO-B", "follow_up") in timepoints and ("DEMO-A", "week_1") in timepoints
    assert ("DEMO-A", "end") not in timepoints
    # Drop-outs of DEMO-B have a baseline only; everyone in DEMO-B has a baseline.
    demo_b = {r[0] for r in rows if r[1] == "DEMO-B" and r[3] == "baseline"}
    assert len(demo_b) == 10
