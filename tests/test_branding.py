"""An account's look on its survey pages: logo upload and serving, accent colour, intro text."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from streamsrv import migrate
from streamsrv.branding import brand_css, brand_stylesheet, logo_url
from streamsrv.db import Database
from streamsrv.models import Account
from tests.conftest import Tenant, fresh_database
from tests.reaching_support import customer, link, png
from tests.streaming import make_key
from tests.survey_support import make_setup

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def test_logo_upload_serving_and_removal(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    path = f"/api/v1/accounts/{setup.account_id}/logo"
    image = png()
    r = tenant.api.put(path, files={"logo": ("logo.png", image, "application/octet-stream")})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["content_type"] == "image/png" and out["version"] == 1 and out["bytes"] == len(image)
    assert out["logo"].endswith(f"/media/accounts/{setup.account_id}/logo?v=1")
    with db.session() as s:
        assert logo_url(s, setup.account_id) == f"/media/accounts/{setup.account_id}/logo?v=1"
        account = s.get(Account, setup.account_id)
        assert account is not None
        assert logo_url(s, account, "https://feedback.example.com") == (
            f"https://feedback.example.com/media/accounts/{setup.account_id}/logo?v=1"
        )

    with customer(tenant) as client:
        served = client.get(f"/media/accounts/{setup.account_id}/logo?v=1")
        assert served.status_code == 200 and served.content == image
        assert served.headers["content-type"] == "image/png"
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        etag = served.headers["etag"]
        assert client.get(f"/media/accounts/{setup.account_id}/logo").headers["cache-control"] == (
            "public, max-age=300"
        )
        assert (
            client.get(
                f"/media/accounts/{setup.account_id}/logo?v=1", headers={"If-None-Match": etag}
            ).status_code
            == 304
        )

    # A raw body works too, and a new upload gets a new URL.
    r = tenant.api.put(path, content=JPEG, headers={"Content-Type": "image/png"})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["content_type"] == "image/jpeg"

    # Not an image: 422 naming the field, and the stored logo is untouched.
    for bad in (
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"GIF-ish but not",
    ):
        r = tenant.api.put(path, files={"logo": ("logo.png", bad, "image/png")})
        assert r.status_code == 422 and "logo" in r.json()["error"]["fields"], r.text
    r = tenant.api.put(path, files={"image": ("logo.png", image, "image/png")})
    assert r.status_code == 422 and "logo" in r.json()["error"]["fields"]
    assert tenant.api.put(path, content=b"").status_code == 422
    with customer(tenant) as client:
        still = client.get(f"/media/accounts/{setup.account_id}/logo?v=2")
        assert still.status_code == 200 and still.content == JPEG

    assert tenant.api.delete(path).status_code == 204
    assert tenant.api.delete(path).status_code == 204
    with customer(tenant) as client:
        assert client.get(f"/media/accounts/{setup.account_id}/logo").status_code == 404
    with db.session() as s:
        assert logo_url(s, setup.account_id) is None


def test_logo_needs_an_administrator_of_the_account(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    other = make_setup(db, tenant.org_id)
    path = f"/api/v1/accounts/{setup.account_id}/logo"
    with tenant.client(make_key(db, tenant.org_id, ["read"])) as reader:
        assert reader.put(path, content=png()).status_code == 403
        assert reader.delete(path).status_code == 403
    with tenant.client(make_key(db, tenant.org_id, ["admin"], [other.account_id])) as elsewhere:
        assert elsewhere.put(path, content=png()).status_code == 404
    assert tenant.api.put("/api/v1/accounts/999999/logo", content=png()).status_code == 404
    with customer(tenant) as client:
        assert client.get(f"/media/accounts/{setup.account_id}/logo").status_code == 404


def test_logo_size_limit(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    limit = tenant.server.app.state.ctx.settings.max_upload_bytes
    big = png() + b"\x00" * limit
    r = tenant.api.put(f"/api/v1/accounts/{setup.account_id}/logo", content=big)
    assert r.status_code == 413


def test_accent_stylesheet() -> None:
    assert brand_stylesheet("#1A5E20") == "/media/brand/1a5e20.css"
    assert brand_stylesheet(None) is None and brand_stylesheet("red; }") is None
    assert brand_css("1a5e20") == ":root { --brand: #1a5e20; --focus: 0 0 0 3px #1a5e2073; }\n"
    assert brand_css("1a5e20;}") is None and brand_css("zzzzzz") is None


def test_pages_carry_the_brand(tenant: Tenant, db: Database) -> None:
    intro = "Thanks for shopping <b>with us</b>!\nIt takes ten seconds."
    setup = make_setup(db, tenant.org_id, brand_color="#1a5e20", survey_intro=intro)
    tenant.api.put(f"/api/v1/accounts/{setup.account_id}/logo", content=png())
    _, path = link(tenant, setup)
    with customer(tenant) as client:
        page = client.get(path)
        css = client.get("/media/brand/1a5e20.css")
        assert client.get("/media/brand/1a5e20;x.css").status_code == 404
    text = page.text
    assert '<link rel="stylesheet" href="/media/brand/1a5e20.css">' in text
    assert f'src="/media/accounts/{setup.account_id}/logo?v=1"' in text and 'class="survey-logo"' in text
    assert "Thanks for shopping &lt;b&gt;with us&lt;/b&gt;!\nIt takes ten seconds." in text
    assert "style=" not in text
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "--brand: #1a5e20" in css.text
    # Without a colour or logo the page keeps the default look and shows the account's name.
    plain = make_setup(db, tenant.org_id)
    _, plain_path = link(tenant, plain)
    with customer(tenant) as client:
        text = client.get(plain_path).text
    assert "/media/brand/" not in text and "survey-logo" not in text and 'class="survey-brand"' in text


def test_logo_migration_goes_both_ways(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as database:
        assert "account_logos" in inspect(database.engine).get_table_names()
        migrate.downgrade(database.engine, "0004")
        assert "account_logos" not in inspect(database.engine).get_table_names()
        migrate.upgrade(database.engine)
        columns = {c["name"] for c in inspect(database.engine).get_columns("account_logos")}
        assert columns == {"account_id", "org_id", "content_type", "data", "version", "updated_at"}
