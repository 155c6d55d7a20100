"""The score of an evaluation, computed on the server from the template and the answers.

A criterion's value is a fraction: yes 1, no 0; on the 1-5 scale (v - 1) / 4. A section's score
is the weighted mean of its criteria, the evaluation's the weighted mean of its sections, times
100. An auto-fail criterion at 0 (answered no, or 1 on the scale) makes the whole score 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

YES_NO = "yes_no"
SCALE = "scale_1_5"
KINDS = (YES_NO, SCALE)


class AnswerError(ValueError):
    def __init__(self, criterion: str, message: str) -> None:
        super().__init__(f"{criterion}: {message}")
        self.criterion = criterion
        self.message = message


@dataclass(frozen=True)
class Scored:
    score: float
    auto_failed: bool


def value_of(kind: str, answer: Any, criterion: str) -> float:
    if kind == YES_NO:
        if answer == "yes":
            return 1.0
        if answer == "no":
            return 0.0
        raise AnswerError(criterion, "answer yes or no")
    if isinstance(answer, bool) or not isinstance(answer, int) or not 1 <= answer <= 5:
        raise AnswerError(criterion, "answer a whole number from 1 to 5")
    return (answer - 1) / 4


def score(sections: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]) -> Scored:
    """Every criterion needs an answer; an answer to no criterion is refused."""
    known = {c["id"] for s in sections for c in s["criteria"]}
    for key in answers:
        if key not in known:
            raise AnswerError(key, "no such criterion in this scorecard")
    total = 0.0
    section_weights = 0.0
    failed = False
    for section in sections:
        inner = 0.0
        weights = 0.0
        for criterion in section["criteria"]:
            cid = criterion["id"]
            if cid not in answers:
                raise AnswerError(cid, "an answer is required")
            value = value_of(criterion["kind"], answers[cid], cid)
            if criterion.get("auto_fail") and value == 0.0:
                failed = True
            inner += criterion["weight"] * value
            weights += criterion["weight"]
        total += section["weight"] * (inner / weights)
        section_weights += section["weight"]
    if failed:
        return Scored(0.0, True)
    return Scored(round(100 * total / section_weights, 2), False)


@dataclass(frozen=True)
class Spread:
    count: int
    mean: float | None
    spread: float | None  # max - min
    std_dev: float | None  # population standard deviation


def spread(scores: Sequence[float]) -> Spread:
    if not scores:
        return Spread(0, None, None, None)
    mean = sum(scores) / len(scores)
    var = sum((s - mean) ** 2 for s in scores) / len(scores)
    return Spread(len(scores), round(mean, 2), round(max(scores) - min(scores), 2), round(math.sqrt(var), 2))
