"""Published effect sizes to show beside a clinic's own (``references.yaml``): the figures of a
different sample, labelled with the type of effect size the study reported."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from app.datafiles import validate

REFERENCES_FILE = Path(__file__).parent / "references.yaml"


class PublishedEffect(BaseModel):
    """One study's effect size for one outcome, shown beside the clinic's measure of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    study: str = Field(min_length=1)
    citation: str = Field(min_length=1)
    outcome: str = Field(min_length=1, description="what was measured, in words")
    measure: str = Field(min_length=1, description="id of the clinic's instrument")
    from_: str = Field(default="baseline", alias="from")
    to: str = "end"
    effect_size: float
    type: str = Field(min_length=1, description="the type of effect size, as the study says it")
    direction: Literal["improvement"] = "improvement"

    def as_json(self) -> dict[str, object]:
        """The figure as the summary JSON gives it."""
        return {
            "study": self.study,
            "citation": self.citation,
            "outcome": self.outcome,
            "effect_size": self.effect_size,
            "type": self.type,
            "direction": self.direction,
        }


class _References(RootModel[list[PublishedEffect]]):
    pass


def load_references(paths: Sequence[Path]) -> list[PublishedEffect]:
    """Every published figure in these files, in order (files that do not exist are skipped)."""
    figures: list[PublishedEffect] = []
    for path in paths:
        if path.is_file():
            figures.extend(validate(_References, path)[0].root)
    return figures
