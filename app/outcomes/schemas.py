"""API shapes for questionnaires: what is due, draft answers, a submitted result."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class OptionRead(BaseModel):
    value: int
    label: str


class ItemRead(BaseModel):
    id: str
    text: str | None
    options: list[OptionRead]


class DueQuestionnaire(BaseModel):
    """A questionnaire the patient may fill in now, with any answers saved so far."""

    instrument: str
    version: str
    # The language of the title, instructions and items: the patient's only when the clinic
    # supplied a validated translation, else the original's.
    language: str
    title: str
    short_name: str
    timepoint: str
    optional: bool
    opens_on: date
    closes_on: date
    instructions: str | None
    items: list[ItemRead]
    answers: dict[str, int | None]
    answers_url: str
    submit_url: str


class AnswersUpdate(BaseModel):
    """Answers to save (item id to value; null clears an answer). Values are checked by the
    service, not here: a malformed answer must not stop a risk answer beside it being seen."""

    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(default_factory=dict)


class AdministrationRead(BaseModel):
    id: int
    instrument: str
    version: str
    timepoint: str
    status: str
    answers: dict[str, int | None]
    score: float | None
    band: str | None
    is_case: bool | None
    started_at: datetime
    submitted_at: datetime | None


class SubmitResult(BaseModel):
    """A submitted questionnaire; ``crisis_text`` is set when an answer calls for support now."""

    administration: AdministrationRead
    safety_flag_raised: bool
    crisis_text: str | None
