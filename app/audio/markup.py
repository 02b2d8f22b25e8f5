"""Script markup: paragraphs of speech separated by blank lines, and `[pause 20s]` lines."""

import re
from collections.abc import Sequence
from dataclasses import dataclass

PAUSE_SECONDS_RANGE = (1, 300)
PAUSE_MINUTES_RANGE = (1, 10)

# Anything in square brackets is markup, so a typo such as "[paws 3s]" is reported
# rather than read aloud to someone listening with their eyes closed.
_TAG = re.compile(r"\[[^\[\]]*\]")
_PAUSE_TAG = re.compile(r"\[\s*pause\b(?P<length>[^\]]*)\]", re.IGNORECASE)
_LENGTH = re.compile(r"\s*(?P<amount>\d+)\s*(?P<unit>[a-z]+)\s*", re.IGNORECASE)
_SECONDS = {"s", "sec", "secs", "second", "seconds"}
_MINUTES = {"m", "min", "mins", "minute", "minutes"}
_PAUSE_HELP = "write it like [pause 20s] (1 to 300 seconds) or [pause 2m] (1 to 10 minutes)"


@dataclass(frozen=True)
class Speech:
    """A paragraph to be spoken."""

    text: str


@dataclass(frozen=True)
class Pause:
    """Silence between paragraphs."""

    seconds: float


Segment = Speech | Pause


class ScriptError(ValueError):
    """Malformed script markup, with the 1-based line it was found on."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"Line {line}: {message}")
        self.line = line
        self.message = message


def parse_script(text: str) -> list[Segment]:
    """Split a script into spoken paragraphs and pauses, raising ScriptError on bad markup."""
    segments: list[Segment] = []
    paragraph: list[str] = []

    def end_paragraph() -> None:
        if paragraph:
            segments.append(Speech(" ".join(paragraph)))
            paragraph.clear()

    for number, raw in enumerate(text.splitlines(), start=1):
        line = " ".join(raw.split())
        if not line:
            end_paragraph()
            continue
        if "[" in line or "]" in line:
            pause = _pause_line(line, number)
            if pause is not None:
                end_paragraph()
                segments.append(pause)
                continue
        paragraph.append(line)
    end_paragraph()

    if not segments:
        raise ScriptError(1, "the script is empty; write a paragraph to be spoken or a pause")
    return segments


def _pause_line(line: str, number: int) -> Pause | None:
    """Return the Pause a line holds, None for plain text, or raise for broken markup."""
    tags = _TAG.findall(line)
    leftover = _TAG.sub("", line)
    if "[" in leftover or "]" in leftover:
        raise ScriptError(number, "a square bracket is not closed; " + _PAUSE_HELP)
    pauses = [_pause(tag, number) for tag in tags]
    if len(pauses) > 1 or leftover.strip():
        raise ScriptError(number, "a pause must be on a line of its own")
    return pauses[0] if pauses else None


def _pause(tag: str, number: int) -> Pause:
    """Read one bracket tag, which must be a pause of an allowed length."""
    pause_tag = _PAUSE_TAG.fullmatch(tag)
    if pause_tag is None:
        raise ScriptError(number, f"unknown tag {tag}; the only tag is a pause: " + _PAUSE_HELP)
    length = _LENGTH.fullmatch(pause_tag["length"])
    unit = length["unit"].lower() if length else ""
    if length is None or unit not in _SECONDS | _MINUTES:
        raise ScriptError(number, f"cannot read the length of {tag}; " + _PAUSE_HELP)
    value = int(length["amount"])
    low, high = PAUSE_SECONDS_RANGE if unit in _SECONDS else PAUSE_MINUTES_RANGE
    if not low <= value <= high:
        raise ScriptError(number, f"{tag} is out of range; " + _PAUSE_HELP)
    return Pause(float(value if unit in _SECONDS else value * 60))


def transcript_text(text: str) -> str:
    """Return the script's spoken words without markup, one paragraph per blank-line block."""
    return "\n\n".join(s.text for s in parse_script(text) if isinstance(s, Speech))


def estimate_seconds(segments: Sequence[Segment], words_per_minute: float = 130) -> float:
    """Estimate the spoken length of a script: its words at an even pace plus its pauses."""
    words = sum(len(s.text.split()) for s in segments if isinstance(s, Speech))
    pauses = sum(s.seconds for s in segments if isinstance(s, Pause))
    return words * 60.0 / words_per_minute + pauses
