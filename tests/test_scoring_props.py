"""Properties of the fair leaderboard score (streamsrv/boards/scoring.py)."""

from __future__ import annotations

import itertools
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from streamsrv.boards.scoring import Totals, board_mean, fair_score, rank

ratings_lists = st.lists(st.integers(min_value=1, max_value=5), max_size=30)


@st.composite
def boards(draw: st.DrawFn) -> list[Totals]:
    agents = draw(st.lists(ratings_lists, min_size=0, max_size=12))
    names = draw(
        st.lists(st.sampled_from(["Ana", "Bo", "Cy", "Di", "Ed"]), min_size=len(agents), max_size=len(agents))
    )
    return [
        Totals(
            agent_id=i + 1,
            name=names[i],
            count=len(r),
            rating_sum=sum(r),
            rewards=draw(st.integers(0, len(r))),
        )
        for i, r in enumerate(agents)
    ]


@given(boards(), st.integers(min_value=0, max_value=20))
def test_everyone_listed_once_ranked_first(totals: list[Totals], minimum: int) -> None:
    standings = rank(totals, minimum)
    assert sorted(s.agent_id for s in standings) == sorted(t.agent_id for t in totals)
    ranked = [s for s in standings if s.rank is not None]
    waiting = [s for s in standings if s.rank is None]
    assert standings == ranked + waiting
    assert all(s.count >= max(minimum, 1) for s in ranked)
    assert all(s.count < max(minimum, 1) and s.score is None for s in waiting)


@given(boards(), st.integers(min_value=0, max_value=20))
def test_competition_ranking_and_name_order_for_ties(totals: list[Totals], minimum: int) -> None:
    mean = board_mean(totals)
    ranked = [s for s in rank(totals, minimum) if s.rank is not None]
    exact = {t.agent_id: fair_score(t.rating_sum, t.count, mean, minimum) for t in totals}
    for position, s in enumerate(ranked, start=1):
        better = sum(1 for o in ranked if exact[o.agent_id] > exact[s.agent_id])
        assert s.rank == better + 1  # 1, 2, 2, 4
        assert s.rank <= position
    for a, b in itertools.pairwise(ranked):
        assert exact[a.agent_id] >= exact[b.agent_id]
        if exact[a.agent_id] == exact[b.agent_id]:
            assert a.rank == b.rank and a.name.casefold() <= b.name.casefold()


@given(ratings_lists, st.integers(min_value=0, max_value=20), st.fractions(min_value=1, max_value=5))
def test_score_lies_between_mean_and_own_average(ratings: list[int], c: int, mean: Fraction) -> None:
    score = fair_score(sum(ratings), len(ratings), mean, c)
    if not ratings:
        assert score == (mean if c else 0)
        return
    own = Fraction(sum(ratings), len(ratings))
    assert min(own, mean) <= score <= max(own, mean)
    if c == 0:
        assert score == own


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=1, max_value=10))
def test_more_evidence_moves_further_from_the_mean(n: int, c: int) -> None:
    mean = Fraction(3)
    few = fair_score(5 * n, n, mean, c)
    many = fair_score(5 * (n + 1), n + 1, mean, c)
    assert many > few > mean


def test_known_example() -> None:
    # A lucky one-off 5 is not ranked at C=5; steady 4.8s are, and the twins tie.
    totals = [
        Totals(1, "Lucky", 1, 5, 0),
        Totals(2, "Steady", 10, 48, 3),
        Totals(3, "Twin A", 5, 20, 0),
        Totals(4, "Twin B", 5, 20, 1),
    ]
    standings = rank(totals, 5)
    assert [(s.name, s.rank) for s in standings] == [
        ("Steady", 1),
        ("Twin A", 2),
        ("Twin B", 2),
        ("Lucky", None),
    ]
    assert standings[0].average == 4.8 and standings[0].rewards == 3
