"""The alert rules as pure functions: examples and properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streamsrv import labels
from streamsrv.coaching import rules
from streamsrv.coaching.rules import RuleSettings
from streamsrv.models import DEFAULT_ALERT_RULES

ratings = st.integers(min_value=1, max_value=5)
areas = st.sampled_from(["speed", "knowledge", "courtesy", "clarity"])


def test_negative_and_great_moment() -> None:
    assert rules.is_negative(2, 2) and rules.is_negative(1, 2) and not rules.is_negative(3, 2)
    assert rules.is_great_moment(5, "coffee")
    assert not rules.is_great_moment(5, None) and not rules.is_great_moment(4, "coffee")


def test_streak_examples() -> None:
    assert rules.streak_reached([3, 2, 1], 3)
    assert rules.streak_reached([3, 2, 1, 5], 3)
    assert not rules.streak_reached([3, 2, 1, 2], 3)  # already reported when it reached 3
    assert not rules.streak_reached([3, 2], 3)
    assert not rules.streak_reached([4, 2, 1], 3)


@given(st.lists(ratings, max_size=40), st.integers(min_value=1, max_value=6))
def test_streak_fires_once_per_run(history: list[int], count: int) -> None:
    """Replaying a rating history fires exactly once for every run of at least ``count`` lows."""
    fired = 0
    for i in range(len(history)):
        recent = list(reversed(history[: i + 1]))[: count + 1]
        fired += rules.streak_reached(recent, count)
    runs = 0
    length = 0
    for rating in [*history, 5]:
        if rating <= rules.LOW_RATING:
            length += 1
        else:
            runs += length >= count
            length = 0
    assert fired == runs


@given(
    st.lists(st.lists(areas, max_size=3), max_size=12),
    st.lists(areas, min_size=1, max_size=3),
    st.integers(1, 5),
)
def test_recurring_areas(window: list[list[str]], current: list[str], count: int) -> None:
    full = [*window, current]
    found = rules.recurring_areas(current, full, count)
    for area in set(current):
        mentions = sum(area in entry for entry in full)
        assert (area in found) == (mentions >= count)
    assert len(found) == len(set(found))
    # Already reported areas are never reported again within the window.
    assert rules.recurring_areas(current, full, count, already_alerted=found) == []


def test_settings_from_account_json() -> None:
    assert RuleSettings.of(DEFAULT_ALERT_RULES) == RuleSettings()
    odd = RuleSettings.of(
        {
            "low_streak": {"count": "3"},
            "recurring_area": {"count": True, "days": -1},
            "great_moment": {"enabled": False},
        }
    )
    assert odd.streak_count == 3 and odd.area_count == 3 and odd.area_days == 7 and not odd.great_moment


@given(st.text(max_size=20))
def test_label_falls_back_to_the_humanised_code(code: str) -> None:
    assert labels.catalogue_label(code, []) == labels.humanise(code)
    assert "_" not in labels.catalogue_label(code, [])
    assert labels.catalogue_label("coffee", [{"code": "coffee", "label": "Coffee"}]) == "Coffee"
