"""Property tests of the response validators, the event rules and the listing cursor."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamsrv.db import Database
from streamsrv.errors import ApiError
from streamsrv.events import response_events
from streamsrv.models import DEFAULT_IMPROVEMENT_AREAS, DEFAULT_REWARDS
from streamsrv.survey.listing import Cursor
from streamsrv.survey.validation import MAX_COMMENT, SurveyRules, parse_response
from tests.conftest import Tenant
from tests.survey_support import make_setup, new_request

REWARDS = frozenset(r["code"] for r in DEFAULT_REWARDS)
AREAS = frozenset(a["code"] for a in DEFAULT_IMPROVEMENT_AREAS)
ALL_QUESTIONS = SurveyRules(rewards=REWARDS, areas=AREAS, ask_csat=True, ask_nps=True, ask_fcr=True)
NO_QUESTIONS = SurveyRules(rewards=REWARDS, areas=AREAS)

not_an_int = st.one_of(
    st.text(max_size=5),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def rejected(raw: dict[str, Any], rules: SurveyRules = ALL_QUESTIONS) -> set[str]:
    """The top-level field names a 422 names ("improvement_areas.0" counts as "improvement_areas")."""
    with pytest.raises(ApiError) as info:
        parse_response(raw, rules)
    assert info.value.status == 422
    return {name.split(".", 1)[0] for name in info.value.fields}


@given(st.integers(min_value=1, max_value=5))
def test_every_rating_in_range_is_accepted(rating: int) -> None:
    assert parse_response({"rating": rating}, NO_QUESTIONS).rating == rating


@given(st.integers().filter(lambda n: not 1 <= n <= 5))
def test_every_rating_out_of_range_is_rejected(rating: int) -> None:
    assert "rating" in rejected({"rating": rating})


@given(not_an_int)
def test_non_integers_are_never_ratings(value: Any) -> None:
    assert "rating" in rejected({"rating": value})


@given(st.integers(min_value=0, max_value=10), st.integers(min_value=1, max_value=5))
def test_nps_and_csat_in_range(nps: int, csat: int) -> None:
    data = parse_response({"rating": 3, "nps": nps, "csat": csat, "fcr": True}, ALL_QUESTIONS)
    assert (data.nps, data.csat, data.fcr) == (nps, csat, True)


@given(st.integers().filter(lambda n: not 0 <= n <= 10))
def test_nps_out_of_range(nps: int) -> None:
    assert "nps" in rejected({"rating": 3, "nps": nps})


@given(st.integers().filter(lambda n: not 1 <= n <= 5))
def test_csat_out_of_range(csat: int) -> None:
    assert "csat" in rejected({"rating": 3, "csat": csat})


@given(not_an_int, st.sampled_from(["nps", "csat"]))
def test_strings_and_others_are_not_scores(value: Any, name: str) -> None:
    assert name in rejected({"rating": 3, name: value})


@given(
    st.sampled_from(["csat", "nps", "fcr"]),
    st.one_of(st.integers(min_value=1, max_value=5), st.booleans()),
)
def test_questions_the_account_did_not_enable(name: str, value: Any) -> None:
    if name == "fcr":
        value = bool(value)
    assert name in rejected({"rating": 3, name: value}, NO_QUESTIONS)


@given(st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=MAX_COMMENT))
def test_comments_up_to_the_limit(comment: str) -> None:
    data = parse_response({"rating": 4, "comment": comment}, NO_QUESTIONS)
    assert data.comment == comment


@given(st.text(min_size=MAX_COMMENT + 1, max_size=MAX_COMMENT + 50))
def test_comments_over_the_limit(comment: str) -> None:
    assert "comment" in rejected({"rating": 4, "comment": comment})


@given(st.text(min_size=1, max_size=40).filter(lambda c: c not in REWARDS), st.integers(1, 5))
def test_unknown_rewards_are_rejected(code: str, rating: int) -> None:
    assert "reward" in rejected({"rating": rating, "reward": code})


@given(
    st.lists(st.sampled_from(sorted(AREAS)), max_size=3),
    st.text(min_size=1, max_size=40).filter(lambda c: c not in AREAS),
    st.integers(1, 3),
)
def test_unknown_improvement_areas_are_rejected(known: list[str], unknown: str, rating: int) -> None:
    assert "improvement_areas" in rejected({"rating": rating, "improvement_areas": [*known, unknown]})


@given(st.sampled_from(sorted(REWARDS)), st.integers(1, 5))
def test_rewards_only_for_good_ratings(code: str, rating: int) -> None:
    raw = {"rating": rating, "reward": code}
    if rating >= 4:
        assert parse_response(raw, NO_QUESTIONS).reward == code
    else:
        assert "reward" in rejected(raw)


@given(st.lists(st.sampled_from(sorted(AREAS)), min_size=1, max_size=4), st.integers(1, 5))
def test_improvement_areas_only_for_poor_ratings(areas: list[str], rating: int) -> None:
    raw = {"rating": rating, "improvement_areas": areas}
    if rating <= 3:
        assert parse_response(raw, NO_QUESTIONS).improvement_areas == list(dict.fromkeys(areas))
    else:
        assert "improvement_areas" in rejected(raw)


# --- events (pure) ---------------------------------------------------------------------------


@given(
    created=st.booleans(),
    reward=st.one_of(st.none(), st.sampled_from(sorted(REWARDS))),
    previous=st.one_of(st.none(), st.sampled_from(sorted(REWARDS))),
    hidden=st.booleans(),
)
def test_event_rules(created: bool, reward: str | None, previous: str | None, hidden: bool) -> None:
    response = {
        "id": 7,
        "account_id": 1,
        "team_id": 2,
        "agent_id": 3,
        "reward": reward,
        "comment": "secret",
        "comment_hidden": hidden,
    }
    events = response_events(
        response, created=created, previous_reward=None if created else previous, catalogue=DEFAULT_REWARDS
    )
    assert events[0].type == ("feedback.received" if created else "feedback.updated")
    assert events[0].streams == ["agent:3", "team:2", "account:1"]
    assert events[0].payload["comment"] == (None if hidden else "secret")
    announces = reward is not None and (created or reward != previous)
    assert [e.type for e in events[1:]] == (["reward.suggested"] if announces else [])
    if announces:
        assert events[1].payload["reward"]["code"] == reward
        assert set(events[1].payload) == {"response_id", "agent_id", "reward"}


# --- listing cursor ---------------------------------------------------------------------------


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=1, max_value=2**31 - 1),  # row ids are INTEGER columns
)
def test_cursor_round_trip(moment: datetime, row_id: int) -> None:
    cursor = Cursor(moment.replace(tzinfo=UTC), row_id)
    assert Cursor.decode(cursor.encode()) == cursor


def encoded(value: object) -> str:
    """Base64url of JSON, the way the API's own cursors look."""
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


# Cursors this API never handed out: plain junk, base64 of junk, JSON of the wrong shape, and the
# right shape with any integers (far past what a timestamp or a row id can be, too).
garbage_cursors = st.one_of(
    st.text(max_size=60),
    st.binary(min_size=1, max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")),
    st.lists(
        st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.booleans(), st.none()), max_size=3
    ).map(encoded),
    st.tuples(st.integers(), st.integers()).map(lambda pair: encoded(list(pair))),
    st.tuples(
        st.integers(min_value=0, max_value=2**62), st.integers(min_value=-(2**70), max_value=2**70)
    ).map(lambda pair: encoded(list(pair))),
)


def test_garbage_cursors_fail_cleanly(tenant: Tenant, db: Database) -> None:
    """docs/api-feedback.md: "A cursor that was not returned by this API -> 422 naming `cursor`".

    Anything that does not decode as a cursor is that 422, with the error body naming the field;
    a well-formed cursor the API could have issued (it is not signed) may list a page. Never a 500.
    And after all of it, the cursors the API does hand out still page through every row.
    """
    setup = make_setup(db, tenant.org_id)
    created = []
    for n in range(3):
        r = tenant.api.post(
            "/api/v1/feedback",
            json={
                "account_id": setup.account_id,
                "agent_id": setup.agent_id,
                "channel": "chat",
                "external_id": f"cursor-{n}",
                "rating": 4,
            },
        )
        assert r.status_code == 201, r.text
        created.append(r.json()["response"]["id"])

    def page(cursor: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"account_id": setup.account_id, "limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        r = tenant.api.get("/api/v1/feedback", params=params)
        assert r.status_code == 200, r.text
        return dict(r.json())

    @settings(max_examples=200, deadline=None)
    @given(garbage_cursors)
    def check(text: str) -> None:
        try:
            decoded: Cursor | None = Cursor.decode(text)
        except ValueError:
            decoded = None  # the decoder refuses with ValueError only; anything else is a bug
        r = tenant.api.get("/api/v1/feedback", params={"account_id": setup.account_id, "cursor": text})
        assert r.status_code != 500, (text, r.text)
        if decoded is None and text:
            assert r.status_code == 422, (text, r.status_code, r.text)
        else:
            assert r.status_code in (200, 422), (text, r.status_code, r.text)
        if r.status_code == 422:
            error = r.json()["error"]
            assert error["code"] == "validation_error", r.text
            assert "cursor" in error["fields"], r.text
        else:
            assert isinstance(r.json()["items"], list)

    check()

    first = page(None)
    assert [item["id"] for item in first["items"]] == created[:0:-1]
    assert first["next_cursor"]
    rest = page(first["next_cursor"])
    assert [item["id"] for item in rest["items"]] == created[:1]
    assert rest["next_cursor"] is None


# --- one property over real HTTP ------------------------------------------------------------


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rating=st.one_of(st.integers(min_value=-3, max_value=8), st.text(max_size=3), st.booleans(), st.none())
)
def test_http_rating_property(tenant: Tenant, db: Database, rating: Any) -> None:
    setup = make_setup(db, tenant.org_id)
    token = new_request(tenant, setup)["request"]["token"]
    with tenant.client() as client:
        r = client.post(f"/api/v1/responses/{token}", json={"rating": rating})
    valid = isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5
    if valid:
        assert r.status_code == 201, r.text
        assert r.json()["response"]["rating"] == rating
    else:
        assert r.status_code == 422, r.text
        assert "rating" in r.json()["error"]["fields"]
