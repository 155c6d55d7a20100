"""Input shapes of the QA API (answers are built as dicts, documented in docs/qa.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from streamsrv.ids import Id, StrictId

MAX_COMMENT = 2000
Weight = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _clean(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value.strip()


def _named(value: str) -> str:
    value = _clean(value)
    if not value:
        raise ValueError("must not be blank")
    return value


class CriterionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    weight: Weight = 1
    kind: Literal["yes_no", "scale_1_5"]
    auto_fail: StrictBool = False

    _name = field_validator("name")(_named)


class SectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    weight: Weight = 1
    criteria: Annotated[list[CriterionIn], Field(min_length=1, max_length=100)]

    _name = field_validator("name")(_named)

    @model_validator(mode="after")
    def _unique(self) -> SectionIn:
        names = [c.name.casefold() for c in self.criteria]
        if len(set(names)) != len(names):
            raise ValueError(f"criterion names must be unique within the section {self.name!r}")
        return self


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    sections: Annotated[list[SectionIn], Field(min_length=1, max_length=50)]

    _name = field_validator("name")(_named)

    @model_validator(mode="after")
    def _unique(self) -> TemplateIn:
        names = [s.name.casefold() for s in self.sections]
        if len(set(names)) != len(names):
            raise ValueError("section names must be unique")
        return self


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interaction_id: StrictId
    template_id: StrictId
    answers: dict[str, Literal["yes", "no"] | StrictInt]
    comment: Annotated[str, Field(max_length=MAX_COMMENT)] = ""

    _comment = field_validator("comment")(_clean)


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["acknowledge", "dispute"]
    comment: Annotated[str, Field(max_length=MAX_COMMENT)] = ""

    _comment = field_validator("comment")(_clean)

    @model_validator(mode="after")
    def _dispute_says_why(self) -> ReplyIn:
        if self.action == "dispute" and not self.comment:
            raise ValueError("a dispute needs a comment saying why")
        return self


class EvaluationsQuery(BaseModel):
    agent_id: Id | None = None
    interaction_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
