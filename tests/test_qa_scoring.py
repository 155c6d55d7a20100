"""QA score computation: worked examples and properties (weighted mean, auto-fail, spread)."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamsrv.qa import scoring


def card(*sections: list[dict[str, Any]], weights: list[float] | None = None) -> list[dict[str, Any]]:
    out = []
    n = 0
    for i, criteria in enumerate(sections):
        crits = []
        for c in criteria:
            n += 1
            crits.append({"id": f"c{n}", "auto_fail": False, "weight": 1, **c})
        out.append({"name": f"s{i}", "weight": (weights or [1] * len(sections))[i], "criteria": crits})
    return out


def test_weighted_mean_of_sections_and_criteria() -> None:
    sections = card(
        [{"kind": "yes_no", "weight": 3}, {"kind": "yes_no", "weight": 1}],
        [{"kind": "scale_1_5"}],
        weights=[1, 3],
    )
    result = scoring.score(sections, {"c1": "yes", "c2": "no", "c3": 4})
    # section 1: 3/4 = 0.75; section 2: (4-1)/4 = 0.75 -> 75
    assert result == scoring.Scored(75.0, False)
    assert scoring.score(sections, {"c1": "yes", "c2": "yes", "c3": 5}).score == 100.0
    assert scoring.score(sections, {"c1": "no", "c2": "no", "c3": 1}).score == 0.0


def test_auto_fail_makes_zero_only_when_failed() -> None:
    sections = card([{"kind": "yes_no", "auto_fail": True}, {"kind": "scale_1_5", "auto_fail": True}])
    assert scoring.score(sections, {"c1": "no", "c2": 5}) == scoring.Scored(0.0, True)
    assert scoring.score(sections, {"c1": "yes", "c2": 1}) == scoring.Scored(0.0, True)
    assert scoring.score(sections, {"c1": "yes", "c2": 2}) == scoring.Scored(62.5, False)


@pytest.mark.parametrize(
    ("answers", "criterion"),
    [
        ({"c1": "yes"}, "c2"),  # missing
        ({"c1": "maybe", "c2": 3}, "c1"),
        ({"c1": "yes", "c2": 6}, "c2"),
        ({"c1": "yes", "c2": True}, "c2"),
        ({"c1": "yes", "c2": 3, "c9": "yes"}, "c9"),  # unknown
    ],
)
def test_bad_answers_name_the_criterion(answers: dict[str, Any], criterion: str) -> None:
    sections = card([{"kind": "yes_no"}, {"kind": "scale_1_5"}])
    with pytest.raises(scoring.AnswerError) as err:
        scoring.score(sections, answers)
    assert err.value.criterion == criterion


criterion_st = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(scoring.KINDS),
        "weight": st.floats(min_value=0.01, max_value=100),
        "auto_fail": st.booleans(),
    }
)
sections_st = st.lists(st.lists(criterion_st, min_size=1, max_size=5), min_size=1, max_size=4)


@st.composite
def card_and_answers(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    raw = draw(sections_st)
    weights = draw(st.lists(st.floats(min_value=0.01, max_value=100), min_size=len(raw), max_size=len(raw)))
    sections = card(*raw, weights=weights)
    answers: dict[str, Any] = {}
    for s in sections:
        for c in s["criteria"]:
            answers[c["id"]] = draw(
                st.sampled_from(["yes", "no"]) if c["kind"] == "yes_no" else st.integers(1, 5)
            )
    return sections, answers


def _fraction(kind: str, answer: Any) -> float:
    return (1.0 if answer == "yes" else 0.0) if kind == "yes_no" else (answer - 1) / 4


@given(card_and_answers())
def test_score_matches_a_recount(case: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    sections, answers = case
    result = scoring.score(sections, answers)
    assert 0.0 <= result.score <= 100.0
    failed = any(
        c["auto_fail"] and _fraction(c["kind"], answers[c["id"]]) == 0.0
        for s in sections
        for c in s["criteria"]
    )
    assert result.auto_failed is failed
    if failed:
        assert result.score == 0.0
        return
    per_section = [
        sum(c["weight"] * _fraction(c["kind"], answers[c["id"]]) for c in s["criteria"])
        / sum(c["weight"] for c in s["criteria"])
        for s in sections
    ]
    expected = (
        100
        * sum(s["weight"] * v for s, v in zip(sections, per_section, strict=True))
        / sum(s["weight"] for s in sections)
    )
    assert math.isclose(result.score, expected, abs_tol=0.006)


@given(st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=20))
def test_spread_matches_statistics(scores: list[float]) -> None:
    s = scoring.spread(scores)
    assert s.count == len(scores)
    assert s.spread is not None and s.std_dev is not None and s.mean is not None
    assert math.isclose(s.spread, max(scores) - min(scores), abs_tol=0.006)
    assert math.isclose(s.std_dev, statistics.pstdev(scores), abs_tol=0.006)
    assert math.isclose(s.mean, statistics.fmean(scores), abs_tol=0.006)


def test_spread_of_nothing() -> None:
    assert scoring.spread([]) == scoring.Spread(0, None, None, None)
