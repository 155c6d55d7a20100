"""Fair leaderboard scores: pure functions, no I/O (property-tested in tests/test_scoring_props.py).

A plain average rewards luck: one 5-star answer beats forty answers averaging 4.9. The fair score
is a Bayesian-adjusted average that pulls each agent towards the board's overall mean ``m`` with
the weight of ``C`` imaginary responses (``C`` = the account's ``leaderboard_min_responses``):

    score = (C * m + sum(ratings)) / (C + n)

Agents with fewer than ``C`` responses are listed below the ranked ones as "not ranked yet".
Ties share a rank (standard competition ranking: 1, 2, 2, 4) and are shown in name order.
Scores are compared as exact fractions so that equal inputs always tie, whatever float rounding
would say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Totals:
    """One agent's sums for one period."""

    agent_id: int
    name: str
    count: int
    rating_sum: int
    rewards: int
    photo: str | None = None


@dataclass(frozen=True)
class Standing:
    agent_id: int
    name: str
    photo: str | None
    count: int
    rating_sum: int
    rewards: int
    average: float | None
    score: float | None
    # None: not ranked yet (fewer responses than the minimum).
    rank: int | None


def board_mean(totals: Sequence[Totals]) -> Fraction:
    """The overall mean rating of the board for the period (0 when nobody has answers yet)."""
    count = sum(t.count for t in totals)
    if count == 0:
        return Fraction(0)
    return Fraction(sum(t.rating_sum for t in totals), count)


def fair_score(rating_sum: int, count: int, mean: Fraction, min_responses: int) -> Fraction:
    """(C*m + sum) / (C + n); with C = 0 and n = 0 there is nothing to rank, so 0."""
    weight = max(min_responses, 0)
    if weight + count == 0:
        return Fraction(0)
    return (weight * mean + rating_sum) / (weight + count)


def average(rating_sum: int, count: int) -> float | None:
    return round(rating_sum / count, 2) if count else None


def rank(totals: Sequence[Totals], min_responses: int) -> list[Standing]:
    """Ranked agents first (best fair score first, ties by name), then the not-ranked-yet ones."""
    mean = board_mean(totals)
    threshold = max(min_responses, 1)
    scored = [(fair_score(t.rating_sum, t.count, mean, min_responses), t) for t in totals]
    ranked = sorted(
        ((s, t) for s, t in scored if t.count >= threshold),
        key=lambda st: (-st[0], st[1].name.casefold(), st[1].agent_id),
    )
    waiting = sorted(
        (t for t in totals if t.count < threshold),
        key=lambda t: (-t.count, t.name.casefold(), t.agent_id),
    )
    out: list[Standing] = []
    previous: Fraction | None = None
    current_rank = 0
    for position, (score, t) in enumerate(ranked, start=1):
        if score != previous:
            current_rank = position
            previous = score
        out.append(_standing(t, float(round(score, 4)), current_rank))
    out.extend(_standing(t, None, None) for t in waiting)
    return out


def _standing(t: Totals, score: float | None, position: int | None) -> Standing:
    return Standing(
        agent_id=t.agent_id,
        name=t.name,
        photo=t.photo,
        count=t.count,
        rating_sum=t.rating_sum,
        rewards=t.rewards,
        average=average(t.rating_sum, t.count),
        score=score,
        rank=position,
    )
