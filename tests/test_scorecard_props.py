"""Properties of the blended scorecard (streamsrv/scorecard.py): always 0-100, the weights are
honoured (a component alone is its own value; missing ones hand their weight to the others) and
an agent below the minimum never gets a number."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from streamsrv import scorecard
from streamsrv.scorecard import COMPONENTS, Inputs, blend, components, weights_of


@st.composite
def agent_inputs(draw: st.DrawFn) -> Inputs:
    ratings = draw(st.lists(st.integers(1, 5), min_size=0, max_size=40))
    csat = draw(st.lists(st.integers(1, 5), max_size=len(ratings)))
    nps = draw(st.lists(st.integers(0, 10), max_size=len(ratings)))
    fcr = draw(st.lists(st.booleans(), max_size=len(ratings)))
    qa = draw(st.lists(st.floats(0, 100, allow_nan=False), max_size=8))
    return Inputs(
        responses=len(ratings),
        rating_sum=sum(ratings),
        csat_answers=len(csat),
        csat_satisfied=sum(1 for c in csat if c >= 4),
        nps_answers=len(nps),
        nps_promoters=sum(1 for n in nps if n >= 9),
        nps_detractors=sum(1 for n in nps if n <= 6),
        fcr_answers=len(fcr),
        fcr_resolved=sum(fcr),
        qa_scores=tuple(qa),
    )


@st.composite
def weight_sets(draw: st.DrawFn) -> dict[str, int]:
    """Five integers 0-100 adding up to exactly 100."""
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=4, max_size=4)))
    bounds = [0, *cuts, 100]
    return {c: bounds[i + 1] - bounds[i] for i, c in enumerate(COMPONENTS)}


@given(agent_inputs(), weight_sets(), st.integers(1, 50))
def test_the_score_is_between_0_and_100_or_null_with_a_reason(
    inputs: Inputs, weights: dict[str, int], minimum: int
) -> None:
    result = blend(inputs, weights, minimum)
    if result.score is None:
        assert result.reason in ("not_enough_responses", "no_data")
    else:
        assert 0 <= result.score <= 100 and result.reason is None
    applied = sum(p.applied for p in result.parts)
    assert applied in (0, 100)
    for part in result.parts:
        assert part.weight == weights[part.component]
        if part.value is not None:
            assert 0 <= part.value <= 100


@given(agent_inputs(), weight_sets(), st.integers(1, 50))
def test_below_the_minimum_there_is_never_a_number(
    inputs: Inputs, weights: dict[str, int], minimum: int
) -> None:
    result = blend(inputs, weights, minimum)
    if inputs.responses < minimum:
        assert result.score is None and result.reason == "not_enough_responses"
        assert result.min_responses == minimum and result.responses == inputs.responses


@given(agent_inputs(), st.sampled_from(COMPONENTS))
def test_a_component_weighted_100_is_the_score_alone(inputs: Inputs, only: str) -> None:
    weights = {c: (100 if c == only else 0) for c in COMPONENTS}
    result = blend(inputs, weights, 1)
    value = components(inputs)[only]  # type: ignore[index]
    if inputs.responses < 1:
        assert result.score is None
    elif value is None:
        assert result.score is None and result.reason == "no_data"
    else:
        assert result.score == round(float(min(Fraction(100), max(Fraction(0), value))), 1)


@given(agent_inputs(), weight_sets())
def test_the_score_is_the_weighted_mean_of_the_present_components(
    inputs: Inputs, weights: dict[str, int]
) -> None:
    result = blend(inputs, weights, 1)
    values = components(inputs)
    present = {c: v for c, v in values.items() if v is not None and weights[c] > 0}
    if inputs.responses == 0 or not present:
        assert result.score is None
        return
    total = sum(weights[c] for c in present)
    expected = sum((v * weights[c] for c, v in present.items()), Fraction(0)) / total
    assert result.score == round(float(expected), 1)
    # The score lies between the smallest and the largest weighted component.
    assert round(float(min(present.values())), 1) <= result.score <= round(float(max(present.values())), 1)


def test_normalisation_of_each_component() -> None:
    inputs = Inputs(
        responses=4,
        rating_sum=14,  # average 3.5 -> 62.5
        csat_answers=4,
        csat_satisfied=3,  # 75 %
        nps_answers=5,
        nps_promoters=3,
        nps_detractors=1,  # NPS 40 -> 70
        fcr_answers=2,
        fcr_resolved=1,  # 50 %
        qa_scores=(80.0, 90.0),  # 85
    )
    assert {c: float(v) for c, v in components(inputs).items() if v is not None} == {
        "rating": 62.5,
        "csat": 75.0,
        "nps": 70.0,
        "fcr": 50.0,
        "qa": 85.0,
    }
    weights = {"rating": 60, "csat": 10, "nps": 10, "fcr": 0, "qa": 20}
    # 0.6 * 62.5 + 0.1 * 75 + 0.1 * 70 + 0.2 * 85 = 37.5 + 7.5 + 7 + 17 = 69
    assert blend(inputs, weights, 4).score == 69.0
    assert blend(inputs, weights, 5).score is None


def test_missing_components_hand_their_weight_on_proportionally() -> None:
    inputs = Inputs(responses=5, rating_sum=25, csat_answers=5, csat_satisfied=0)
    weights = {"rating": 60, "csat": 20, "nps": 0, "fcr": 0, "qa": 20}
    result = blend(inputs, weights, 5)
    # No QA evaluation: rating 60/80 = 75 %, CSAT 20/80 = 25 % -> 0.75 * 100 + 0.25 * 0.
    assert result.score == 75.0
    applied = {p.component: float(p.applied) for p in result.parts}
    assert applied == {"rating": 75.0, "csat": 25.0, "nps": 0.0, "fcr": 0.0, "qa": 0.0}
    only_qa = blend(inputs, {"rating": 0, "csat": 0, "nps": 0, "fcr": 0, "qa": 100}, 5)
    assert only_qa.score is None and only_qa.reason == "no_data"


def test_stored_weights_fall_back_to_the_rating_alone() -> None:
    assert weights_of(None) == scorecard.DEFAULT_WEIGHTS
    assert weights_of({"rating": 50, "qa": 50}) == {"rating": 50, "csat": 0, "nps": 0, "fcr": 0, "qa": 50}
    assert weights_of({"rating": 50}) == scorecard.DEFAULT_WEIGHTS
    assert weights_of({"rating": True, "qa": 99}) == scorecard.DEFAULT_WEIGHTS
