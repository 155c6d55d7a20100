"""One vocabulary (streamsrv/labels.py): every code people could read has one label, a code
nobody labelled is humanised, and the one date format is the language's, in the account's zone."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from streamsrv import i18n, labels
from streamsrv.models import DEFAULT_IMPROVEMENT_AREAS, DEFAULT_REWARDS, Account, Channel, Role
from streamsrv.pages.nav import SURFACES, current_key


def test_codes_people_read_have_labels() -> None:
    assert labels.channel_label("sms") == "SMS"
    assert labels.channel_label("in_store") == "In store"
    assert labels.role_label("team_leader") == "Team leader"
    assert labels.role_label("client_viewer") == "Client viewer"
    assert labels.status_label("claimed") == "Claimed"
    assert {c.value for c in Channel} <= set(labels.CHANNEL_LABELS)
    assert {r.value for r in Role} <= set(labels.ROLE_LABELS)


def test_the_account_catalogue_labels_rewards_and_areas() -> None:
    words = labels.vocabulary(Account(org_id=1, name="A"))
    assert words.reward("gift_card") == "Gift card"
    assert words.reward("high_five") == "High five"
    assert words.area_list(["follow_up", "speed"]) == ["Follow-up", "Speed of response"]
    # Translated where the survey is: the built-in labels, and the account's own translations.
    spanish = labels.vocabulary(Account(org_id=1, name="A"), i18n.translator("de"))
    assert spanish.reward("coffee") == "Kaffee"
    own = [{"code": "tea", "label": "Tea break", "labels": {"es": "Un té"}}]
    assert labels.catalogue_label("tea", own, i18n.translator("es")) == "Un té"
    assert {str(r["label"]) for r in DEFAULT_REWARDS} | {a["label"] for a in DEFAULT_IMPROVEMENT_AREAS} == (
        i18n.BUILT_IN_LABELS
    )


def test_a_response_carries_each_code_with_its_label() -> None:
    words = labels.vocabulary(Account(org_id=1, name="A"))
    item = {"channel": "in_store", "reward": "gift_card", "improvement_areas": ["follow_up", "night_shift"]}
    assert words.labelled(item) == {
        **item,
        "channel_label": "In store",
        "reward_label": "Gift card",
        "improvement_area_labels": ["Follow-up", "Night shift"],
    }
    assert words.label_fields({"channel": "sms", "reward": None})["reward_label"] is None


@given(st.text(max_size=30))
def test_an_unknown_code_is_humanised_never_raw(code: str) -> None:
    for label in (
        labels.channel_label(code) if code not in labels.CHANNEL_LABELS else "",
        labels.catalogue_label(code, []),
        labels.role_label(code) if code not in labels.ROLE_LABELS else "",
    ):
        assert "_" not in label
        assert label == label.strip()


def test_one_date_format_in_the_account_zone() -> None:
    moment = datetime(2026, 11, 27, 13, 30, tzinfo=UTC)
    assert labels.format_datetime(moment, "Europe/Madrid") == "Nov 27, 2026, 2:30\u202fPM (GMT+01:00)"
    # Naive times from the database are UTC; ISO strings from the API too.
    assert (
        labels.format_datetime(moment.replace(tzinfo=None), "UTC") == "Nov 27, 2026, 1:30\u202fPM (GMT+00:00)"
    )
    assert labels.format_datetime("2026-11-27T13:30:00Z", "UTC") == "Nov 27, 2026, 1:30\u202fPM (GMT+00:00)"
    assert labels.format_datetime(None) == ""


def test_the_current_surface_of_a_path() -> None:
    assert current_key("/") == "home"
    assert current_key("/wallboard/team/3") == "wallboard"
    assert current_key("/admin/integrations") == "admin"
    assert current_key("/livex") is None
    assert len({s.key for s in SURFACES}) == len(SURFACES)
