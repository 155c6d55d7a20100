"""``/api/v1/smtp-settings``: the organization's own SMTP server for survey emails.

Without one, survey emails go through the server-wide ``STREAMSRV_SMTP_URL``. Only an
administrator of the whole organization may read or change it: the server sends as the
organization. The password is stored encrypted and never returned (``password_set``).
"""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.admin_common import app_ctx, require_org_admin
from streamsrv.api.schemas_mail import SmtpSettingsIn, SmtpSettingsOut
from streamsrv.auth import authenticate
from streamsrv.errors import ApiError
from streamsrv.http import endpoint, json_response, read_json
from streamsrv.mail import smtp_settings
from streamsrv.models import SmtpSettings, utcnow
from streamsrv.security.sealed import SMTP_CREDENTIALS, Sealer

TAG = "smtp-settings"
PATH = "/api/v1/smtp-settings"


def settings_out(row: SmtpSettings) -> SmtpSettingsOut:
    return SmtpSettingsOut(
        host=row.host,
        port=row.port,
        security=row.security,
        username=row.username,
        password_set=bool(row.password_sealed),
        from_address=row.from_address,
        from_name=row.from_name,
        updated_at=row.updated_at,
    )


@endpoint(
    "GET",
    PATH,
    summary="The organization's own SMTP server (404: the server-wide one is used)",
    tag=TAG,
    response=SmtpSettingsOut,
    errors=(404,),
    scope="admin",
)
async def get_smtp_settings(request: Request) -> Response:
    identity = await authenticate(request)
    require_org_admin(identity)

    def fetch(session: Session) -> SmtpSettingsOut:
        row = smtp_settings.get(session, identity.org_id)
        if row is None:
            raise ApiError(404, "this organization has no SMTP settings of its own; STREAMSRV_SMTP_URL is used")
        return settings_out(row)

    return json_response(await app_ctx(request).db.run(fetch), headers={"Cache-Control": "no-store"})


@endpoint(
    "PUT",
    PATH,
    summary="Set the organization's own SMTP server (the password is stored encrypted, never returned)",
    tag=TAG,
    body=SmtpSettingsIn,
    response=SmtpSettingsOut,
    scope="admin",
)
async def put_smtp_settings(request: Request) -> Response:
    identity = await authenticate(request)
    require_org_admin(identity)
    body = await read_json(request, SmtpSettingsIn)
    ctx = app_ctx(request)
    sealer = Sealer(ctx.settings.secret_key, SMTP_CREDENTIALS)

    def store(session: Session) -> SmtpSettingsOut:
        row = smtp_settings.put(
            session,
            sealer,
            identity.org_id,
            host=body.host,
            port=body.port,
            security=body.security,
            username=body.username,
            password=body.password if "password" in body.model_fields_set else smtp_settings.KEEP,
            from_address=body.from_address,
            from_name=body.from_name,
            now=utcnow(),
        )
        return settings_out(row)

    return json_response(await ctx.db.run(store), headers={"Cache-Control": "no-store"})


@endpoint(
    "DELETE",
    PATH,
    summary="Forget the organization's SMTP server: survey emails use STREAMSRV_SMTP_URL again",
    tag=TAG,
    status=204,
    scope="admin",
)
async def delete_smtp_settings(request: Request) -> Response:
    identity = await authenticate(request)
    require_org_admin(identity)
    await app_ctx(request).db.run(lambda session: smtp_settings.delete(session, identity.org_id))
    return Response(status_code=204)


routes: list[BaseRoute] = [get_smtp_settings, put_smtp_settings, delete_smtp_settings]
