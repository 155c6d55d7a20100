from __future__ import annotations

from tests.conftest import Tenant


def test_health_and_ready(tenant: Tenant) -> None:
    assert tenant.api.get("/healthz").json() == {"status": "ok"}
    ready = tenant.api.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["redis"]["ok"] is True


def test_unknown_api_route_is_json_404(tenant: Tenant) -> None:
    r = tenant.api.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
