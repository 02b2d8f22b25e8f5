import pytest

from app.audio.markup import (
    Pause,
    ScriptError,
    Speech,
    estimate_seconds,
    parse_script,
    transcript_text,
)

SCRIPT = """\
Settle into a comfortable position.
Let your eyes close,   if that feels right.


[pause 20s]
[PAUSE 2m]

Notice the breath.\r
[pause 3 seconds]
Come back when you are ready.
"""


def test_parses_paragraphs_and_pauses() -> None:
    assert parse_script(SCRIPT) == [
        Speech("Settle into a comfortable position. Let your eyes close, if that feels right."),
        Pause(20.0),
        Pause(120.0),
        Speech("Notice the breath."),
        Pause(3.0),
        Speech("Come back when you are ready."),
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("[pause 1s]", 1.0), ("[pause 300s]", 300.0), ("[pause 1m]", 60.0), ("[pause 10m]", 600.0)],
)
def test_accepts_pause_limits(text: str, seconds: float) -> None:
    assert parse_script(text) == [Pause(seconds)]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("Hello.\n\n[pause 0s]", 3, "[pause 0s] is out of range"),
        ("[pause 301s]", 1, "out of range"),
        ("One.\nTwo.\n\n\n[pause 11m]", 5, "[pause 11m] is out of range"),
        ("Breathe.\n[paws 3s]", 2, "unknown tag [paws 3s]"),
        ("Rest [softly] here.", 1, "unknown tag [softly]"),
        ("[pause 20]", 1, "cannot read the length"),
        ("[pause 1.5s]", 1, "cannot read the length"),
        ("[pause]", 1, "cannot read the length"),
        ("Breathe in [pause 3s]", 1, "on a line of its own"),
        ("[pause 3s] [pause 3s]", 1, "on a line of its own"),
        ("Ok.\n\nBreathe [in", 3, "not closed"),
        ("  \n\n ", 1, "empty"),
    ],
)
def test_reports_broken_markup_with_its_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script(text)
    assert caught.value.line == line
    assert fragment in caught.value.message
    assert str(caught.value).startswith(f"Line {line}: ")


def test_transcript_keeps_paragraphs_and_drops_markup() -> None:
    assert transcript_text(SCRIPT) == (
        "Settle into a comfortable position. Let your eyes close, if that feels right.\n\n"
        "Notice the breath.\n\n"
        "Come back when you are ready."
    )


def test_transcript_refuses_broken_markup() -> None:
    with pytest.raises(ScriptError):
        transcript_text("Hello.\n[pause 0s]")


def test_estimates_words_at_pace_plus_pauses() -> None:
    segments = [Speech(" ".join(["word"] * 130)), Pause(20.0), Speech("two words")]
    assert estimate_seconds(segments) == pytest.approx(60 + 20 + 60 * 2 / 130)
    assert estimate_seconds(segments, words_per_minute=65) == pytest.approx(120 + 20 + 60 * 4 / 130)
