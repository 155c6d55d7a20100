"""The blended agent scorecard: one 0-100 number from the customer rating, CSAT, NPS, FCR and QA.

Pure arithmetic on counts (no database here): the dashboard breakdown, the CSV export and the
1:1 page gather the counts (``streamsrv.dashboard.blended``) and ask this module for the score,
so every surface computes it the same way. docs/scorecard.md explains it for users.

Each component is normalised to 0-100:

- rating: average stars 1-5 -> ``(average - 1) / 4 * 100``;
- csat: share of CSAT answers that are 4 or 5 (the dashboard's CSAT %);
- nps: NPS -100..100 -> ``(nps + 100) / 2``;
- fcr: share of first-contact-resolution answers that are "yes";
- qa: mean score (0-100) of the agent's QA evaluations.

The account's weights (integers summing to 100) say how much each counts. A component without
data in the period (nobody answered the NPS question, no QA evaluation) is left out and the
weights of the components that have data are scaled up proportionally so that they add up to
100 again. An agent with fewer responses than the account's minimum gets no score at all
(``None`` with the reason ``not_enough_responses``): a handful of answers must not swing it.
When none of the components with a weight has data the reason is ``no_data``.

The arithmetic is exact (``Fraction``) and rounded once, at the end, to one decimal, so a
recount from the rows gives the same number on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

Component = Literal["rating", "csat", "nps", "fcr", "qa"]
COMPONENTS: tuple[Component, ...] = ("rating", "csat", "nps", "fcr", "qa")
DEFAULT_WEIGHTS: dict[str, int] = {"rating": 100, "csat": 0, "nps": 0, "fcr": 0, "qa": 0}
DEFAULT_MIN_RESPONSES = 5
TOTAL_WEIGHT = 100

Reason = Literal["not_enough_responses", "no_data"]
NOT_ENOUGH: Reason = "not_enough_responses"
NO_DATA: Reason = "no_data"


@dataclass(frozen=True)
class Inputs:
    """What one agent did in one period: the dashboard's integer counts and the QA scores."""

    responses: int = 0
    rating_sum: int = 0
    csat_answers: int = 0
    csat_satisfied: int = 0
    nps_answers: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    fcr_answers: int = 0
    fcr_resolved: int = 0
    qa_scores: tuple[float, ...] = ()


@dataclass(frozen=True)
class Part:
    """One component: its 0-100 value (None without data), the weight set and the weight used."""

    component: Component
    value: Fraction | None
    weight: int
    applied: Fraction

    def json(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "value": None if self.value is None else round(float(self.value), 1),
            "weight": self.weight,
            "applied_weight": round(float(self.applied), 1),
        }


@dataclass(frozen=True)
class Blended:
    score: float | None
    reason: Reason | None
    responses: int
    min_responses: int
    parts: tuple[Part, ...]

    def json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "reason": self.reason,
            "responses": self.responses,
            "min_responses": self.min_responses,
            "components": [p.json() for p in self.parts],
        }


def weights_of(stored: Mapping[str, Any] | None) -> dict[str, int]:
    """An account's weights with every component present; a missing or broken set (older rows)
    is the default: the customer rating alone."""
    if not stored:
        return dict(DEFAULT_WEIGHTS)
    weights = {c: stored.get(c, 0) for c in COMPONENTS}
    if any(not isinstance(w, int) or isinstance(w, bool) or w < 0 for w in weights.values()):
        return dict(DEFAULT_WEIGHTS)
    if sum(weights.values()) != TOTAL_WEIGHT:
        return dict(DEFAULT_WEIGHTS)
    return {c: int(w) for c, w in weights.items()}


def _share(part: int, whole: int) -> Fraction | None:
    return Fraction(100 * part, whole) if whole > 0 else None


def components(inputs: Inputs) -> dict[Component, Fraction | None]:
    """Each component on the 0-100 scale, or None when the period holds no data for it."""
    rating = None
    if inputs.responses > 0:
        rating = Fraction(inputs.rating_sum - inputs.responses, inputs.responses) * 25
    nps = None
    if inputs.nps_answers > 0:
        nps = Fraction(inputs.nps_promoters - inputs.nps_detractors, inputs.nps_answers) * 50 + 50
    qa = None
    if inputs.qa_scores:
        qa = sum((Fraction(s) for s in inputs.qa_scores), Fraction(0)) / len(inputs.qa_scores)
    return {
        "rating": rating,
        "csat": _share(inputs.csat_satisfied, inputs.csat_answers),
        "nps": nps,
        "fcr": _share(inputs.fcr_resolved, inputs.fcr_answers),
        "qa": qa,
    }


def _clamp(value: Fraction) -> Fraction:
    return min(Fraction(100), max(Fraction(0), value))


def blend(inputs: Inputs, weights: Mapping[str, int], min_responses: int) -> Blended:
    """The blended score of ``inputs`` under ``weights`` (see the module's docstring)."""
    values = {c: (None if v is None else _clamp(v)) for c, v in components(inputs).items()}
    present = sum(weights.get(c, 0) for c in COMPONENTS if values[c] is not None)
    parts = tuple(
        Part(
            c,
            values[c],
            weights.get(c, 0),
            Fraction(100 * weights.get(c, 0), present) if present and values[c] is not None else Fraction(0),
        )
        for c in COMPONENTS
    )
    minimum = max(1, min_responses)
    if inputs.responses < minimum:
        return Blended(None, NOT_ENOUGH, inputs.responses, minimum, parts)
    if present == 0:
        return Blended(None, NO_DATA, inputs.responses, minimum, parts)
    total = sum((p.value * p.applied for p in parts if p.value is not None), Fraction(0)) / 100
    return Blended(round(float(_clamp(total)), 1), None, inputs.responses, minimum, parts)
