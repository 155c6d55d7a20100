"""Account settings for reaching customers: sending, language, time zone and brand colour."""

from __future__ import annotations

import pytest

from streamsrv.branding import contrast_with_white
from tests.conftest import Tenant
from tests.test_admin_api import account, error, ok


def test_defaults_and_round_trip(tenant: Tenant) -> None:
    api = tenant.api
    created = account(api)
    assert created["send_channel"] == "email" and created["send_delay_minutes"] == 0
    assert created["default_locale"] == "en" and created["time_zone"] == "UTC"
    assert created["send_window"] is None and created["brand_color"] is None
    changes = {
        "send_delay_minutes": 90,
        "send_window": {"start": "08:30", "end": "19:00", "days": [5, 1, 2, 3, 4, 1]},
        "sender_name": "Aurora Care",
        "reply_to": "Care@Aurora.example",
        "email_footer": "Aurora Telecom, 1 Main St",
        "default_locale": "es",
        "time_zone": "Asia/Manila",
        "brand_color": "#1A4E8A",
        "survey_intro": "Thanks for calling Aurora.",
        "reward_catalogue": [{"code": "coffee", "label": "Coffee", "labels": {"es": "Un café"}, "value": 4}],
    }
    updated = ok(api.patch(f"/api/v1/accounts/{created['id']}", json=changes))
    assert updated["send_window"] == {"start": "08:30", "end": "19:00", "days": [1, 2, 3, 4, 5]}
    assert updated["reply_to"] == "care@aurora.example" and updated["brand_color"] == "#1a4e8a"
    assert updated["time_zone"] == "Asia/Manila" and updated["default_locale"] == "es"
    assert updated["reward_catalogue"][0]["labels"] == {"es": "Un café"}
    cleared = ok(
        api.patch(f"/api/v1/accounts/{created['id']}", json={"send_window": None, "brand_color": None})
    )
    assert cleared["send_window"] is None and cleared["brand_color"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"default_locale": "xx"}, "default_locale"),
        ({"default_locale": "pt-BR"}, "default_locale"),
        ({"brand_color": "#ffff00"}, "brand_color"),
        ({"brand_color": "blue"}, "brand_color"),
        ({"send_delay_minutes": 7 * 24 * 60 + 1}, "send_delay_minutes"),
        ({"send_window": {"start": "20:00", "end": "08:00"}}, "send_window.end"),
        ({"send_window": {"days": [0]}}, "send_window.days.0"),
        ({"send_channel": "sms"}, "send_channel"),
        ({"report_hour": 24}, "report_hour"),
        ({"report_hour": -1}, "report_hour"),
        ({"weekly_report_day": 0}, "weekly_report_day"),
        ({"weekly_report_day": 8}, "weekly_report_day"),
        ({"weekly_report_day": "monday"}, "weekly_report_day"),
        (
            {"reward_catalogue": [{"code": "c", "label": "C", "labels": {"xx": "?"}}]},
            "reward_catalogue.0.labels.xx.[key]",
        ),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(tenant: Tenant, changes: dict, field: str) -> None:
    api = tenant.api
    created = account(api)
    body = error(api.patch(f"/api/v1/accounts/{created['id']}", json=changes), 422)
    assert field in body["fields"], body
    assert ok(api.get(f"/api/v1/accounts/{created['id']}")) == created


def test_contrast_rule() -> None:
    assert contrast_with_white("#000000") == pytest.approx(21.0)
    assert contrast_with_white("#ffffff") == pytest.approx(1.0)
    assert contrast_with_white("#767676") >= 4.5 > contrast_with_white("#777777")


def test_report_hour_and_weekly_day(tenant: Tenant) -> None:
    api = tenant.api
    created = account(api)
    assert created["report_hour"] == 7 and created["weekly_report_day"] == 1
    updated = ok(
        api.patch(f"/api/v1/accounts/{created['id']}", json={"report_hour": 0, "weekly_report_day": 7})
    )
    assert updated["report_hour"] == 0 and updated["weekly_report_day"] == 7
    assert ok(api.get(f"/api/v1/accounts/{created['id']}"))["report_hour"] == 0
