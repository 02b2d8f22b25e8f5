"""The outcome summary on the demo clinic: the CLI, the JSON API and the clinician page agree
exactly, and every figure is recomputed independently from the exported scores.csv with SciPy.

The independent computation below uses only numpy/scipy and the published rules (NHS Talking
Therapies thresholds PHQ-9 6 and GAD-7 4 points; Jacobson & Truax 1991 for the SCS-SF with
r = 0.86 and the baseline SD; Hedges' J = 1 - 3 / (4 df - 1); the interval for the
standardised mean change by inverting the noncentral t, Algina & Keselman 2003), not Tend's code.

The demo clinic is seeded relative to today, so every test here runs at the fixed instants of
tests/clock.py (`@pytest.mark.clock`), and the CLI they run is given the same instant (TEND_NOW).
"""

import csv
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
from app.outcomes import service as outcomes_service
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
    "g_av",
    "g_av_ci",
    "d_z",
    "higher_is_better",
    "reliable_improvement",
    "no_reliable_change",
    "reliable_deterioration",
}
LOWER_IS_BETTER = {"pain_intensity", "pain_distress", "phq9", "gad7", "peg"}
FIXED_THRESHOLDS = {"phq9": 6.0, "gad7": 4.0}
SCS_SF_RELIABILITY = 0.86


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
    """Rows of the outcome table: (instrument, from, to) -> {field: exact value}."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.current: tuple[str, str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tr" and values.get("data-instrument"):
            self.current = (
                values["data-instrument"] or "",
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
    assert set(parser.rows) == pairs
    for measure in measures:
        shown = parser.rows[(measure["instrument"], measure["from"], measure["to"])]
        names = CONTRACT_KEYS - {"instrument", "from", "to", "higher_is_better"}
        if measure["too_few"]:
            names -= {"t", "p", "d_av", "g_av", "g_av_ci", "d_z"}
        for name in names:
            assert shown[name] == measure[name], (measure["instrument"], name)
        assert shown["n_started"] == measure["n_started"]

    as_facilitator = ("outcomes", "summary", "--as", "facilitator2@demo.example")
    scoped = json.loads(_tend(demo_clinic, *as_facilitator, "--format", "json"))
    assert scoped["groups"] == ["DEMO-B"]
    refused = _tend(
        demo_clinic, *as_facilitator, "--group", "DEMO-A", "--format", "json", returncode=2
    )
    assert "No group 'DEMO-A' that you can see" in refused

    table = _tend(demo_clinic, "outcomes", "summary", "--format", "table")
    assert "gad7 baseline->end" in table and "no comparison group" in table


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


def _read_scores(path: Path) -> dict[tuple[str, str, str], float]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {
        "participant_code",
        "group_code",
        "instrument",
        "timepoint",
        "score",
        "completed_at",
    } <= set(rows[0])
    return {
        (r["participant_code"], r["instrument"], r["timepoint"]): float(r["score"]) for r in rows
    }


@pytest.mark.clock(*DATE_INSTANTS)
def test_every_figure_recomputed_from_the_exported_scores(
    demo_clinic: Settings, tmp_path: Path
) -> None:
    summary = json.loads(_tend(demo_clinic, "outcomes", "summary", "--format", "json"))
    _tend(demo_clinic, "export", "--out", str(tmp_path / "bundle"))
    scores = _read_scores(tmp_path / "bundle" / "scores.csv")
    by_instrument: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for (participant, instrument, timepoint), value in scores.items():
        by_instrument[instrument][timepoint][participant] = value

    close = {"abs": 5e-4}
    for measure in summary["measures"]:
        at = by_instrument[measure["instrument"]]
        started = at[measure["from"]]
        people = sorted(set(started) & set(at[measure["to"]]))
        n = len(people)
        assert measure["n_started"] == len(started)
        assert measure["n_pairs"] == n
        pre = np.array([started[p] for p in people])
        post = np.array([at[measure["to"]][p] for p in people])
        diff = post - pre
        assert measure["too_few"] is (n < 5)
        assert measure["pre_mean"] == pytest.approx(pre.mean(), **close)
        assert measure["post_mean"] == pytest.approx(post.mean(), **close)
        assert measure["pre_sd"] == pytest.approx(pre.std(ddof=1), **close)
        assert measure["post_sd"] == pytest.approx(post.std(ddof=1), **close)
        assert measure["mean_change"] == pytest.approx(diff.mean(), **close)
        assert measure["higher_is_better"] is (measure["instrument"] not in LOWER_IS_BETTER)

        if n < 5:
            # Below five pairs only means and SDs are given: no interval, test or effect size.
            inference = ("mean_change_ci", "t", "p", "d_av", "g_av", "g_av_ci", "d_z")
            assert [measure[name] for name in inference] == [None] * len(inference)
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
            scale = j * diff.std(ddof=1) / sd_av / math.sqrt(n)
            assert measure["g_av_ci"] == pytest.approx([low * scale, high * scale], **close)

        improvement = -diff if measure["instrument"] in LOWER_IS_BETTER else diff
        threshold = FIXED_THRESHOLDS.get(measure["instrument"])
        if measure["instrument"] == "scs_sf":
            sd = pre.std(ddof=1)
            threshold = 1.96 * sd * math.sqrt(2) * math.sqrt(1 - SCS_SF_RELIABILITY)
        counts = [
            measure[k]
            for k in ("reliable_improvement", "no_reliable_change", "reliable_deterioration")
        ]
        if threshold is None:
            assert counts == [None, None, None]
        else:
            better = int(np.sum(improvement >= threshold - 1e-9))
            worse = int(np.sum(-improvement >= threshold - 1e-9))
            assert counts == [better, n - better - worse, worse]
        if measure["instrument"] == "pain_intensity":
            important = sum(
                1
                for a, b in zip(pre, post, strict=True)
                if a - b >= 2 or (a > 0 and (a - b) / a >= 0.3)
            )
            assert measure["important_improvement"] == important
        if measure["instrument"] in FIXED_THRESHOLDS:
            cut = {"phq9": 10, "gad7": 8}[measure["instrument"]]
            cases = pre >= cut
            recovered = cases & (post < cut)
            reliable = improvement >= FIXED_THRESHOLDS[measure["instrument"]]
            tt = measure["talking_therapies"]
            assert tt["case_at_baseline"] == int(cases.sum())
            assert tt["recovery"] == int(recovered.sum())
            assert tt["reliable_recovery"] == int((recovered & reliable).sum())


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
                for row in outcomes_service.score_export_rows(
                    session, group_ids=[g.id or 0 for g in groups]
                )
            ]
            clinician = session.exec(
                select(User).where(User.login == "clinician@demo.example")
            ).one()
            flags = [
                f"{v.group_code} {v.participant_code} {v.flag.item_id}={v.flag.answer}"
                for v in outcomes_service.open_safety_flags(session, viewer=clinician)
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
