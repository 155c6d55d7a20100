"""``/api/v1/accounts/{id}/logo``: the logo on an account's survey pages and emails.

Uploads are checked like agent photos: recognised by their first bytes, never by the name or
Content-Type sent. The logo is served publicly at ``/media/accounts/{id}/logo`` (customers have
no login); its URL carries the version, so it is cached for a long time and still changes on
re-upload. The accent colour's stylesheet is served beside it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from streamsrv import branding
from streamsrv.api.images import IMMUTABLE_CACHE, image_response, read_image
from streamsrv.errors import not_found
from streamsrv.kernel import Call, route
from streamsrv.models import Account, AccountLogo
from streamsrv.org.common import get_in_org, require_writer

TAG = "accounts"
LOGO_FIELD = "logo"


class LogoOut(BaseModel):
    account_id: int
    # Absolute public URL, as put in emails and pages.
    logo: str
    content_type: str
    bytes: int
    version: int
    updated_at: datetime


@route(
    "PUT",
    "/api/v1/accounts/{account_id:int}/logo",
    summary="Upload or replace the account's logo (multipart field 'logo' or a raw PNG/JPEG/WebP/GIF body)",
    tag=TAG,
    response=LogoOut,
    errors=(404, 413, 422),
    scope="admin",
    guard=require_writer,
)
async def put_logo(call: Call[None, None]) -> LogoOut:
    identity, account_id = call.identity, call.id("account_id")

    def writable(session: Session) -> Account:
        require_writer(identity, account_id)
        return get_in_org(session, Account, account_id, identity.org_id, "account")

    # Refuse unknown accounts before accepting megabytes of upload.
    await call.run(writable)
    image = await read_image(call.request, call.ctx.settings.max_upload_bytes, LOGO_FIELD)
    public_url = call.ctx.settings.public_url

    def store(session: Session) -> LogoOut:
        logo = branding.store_logo(session, writable(session), image.media_type, image.data, call.now)
        return LogoOut(
            account_id=account_id,
            logo=public_url + branding.logo_path(account_id, logo.version),
            content_type=logo.content_type,
            bytes=len(logo.data),
            version=logo.version,
            updated_at=logo.updated_at,
        )

    return await call.run(store)


@route(
    "DELETE",
    "/api/v1/accounts/{account_id:int}/logo",
    summary="Remove the account's logo (pages show the account's name instead)",
    tag=TAG,
    status=204,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def delete_logo(call: Call[None, None], session: Session) -> None:
    account_id = call.id("account_id")
    require_writer(call.identity, account_id)
    branding.delete_logo(session, get_in_org(session, Account, account_id, call.identity.org_id, "account"))


@route(
    "GET",
    "/media/accounts/{account_id:int}/logo",
    summary="The account's logo (public: survey pages and emails show it)",
    tag=TAG,
    errors=(404,),
    auth="none",
    content_type="image/*",
)
async def serve_logo(call: Call[None, None]) -> Response:
    account_id = call.id("account_id")
    logo = await call.run(lambda session: session.get(AccountLogo, account_id))
    if logo is None:
        raise not_found("logo")
    etag = f'"account-{account_id}-logo-v{logo.version}"'
    return image_response(call.request, logo.data, logo.content_type, etag, logo.version)


async def serve_brand_css(request: Request) -> Response:
    css = branding.brand_css(str(request.path_params["color"]))
    if css is None:
        raise not_found("stylesheet")
    # The text is a function of the URL alone, so it never changes.
    return Response(css, media_type="text/css", headers={"Cache-Control": IMMUTABLE_CACHE})


routes: list[BaseRoute] = [
    put_logo,
    delete_logo,
    serve_logo,
    Route("/media/brand/{color}.css", serve_brand_css, methods=["GET"], name="brand_css"),
]
