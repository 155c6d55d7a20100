"""``/api/v1/smtp-settings``: the organization's own SMTP server for survey emails.

Without one, survey emails go through the server-wide ``STREAMSRV_SMTP_URL``. Only an
administrator of the whole organization may read or change it: the server sends as the
organization. The password is stored encrypted and never returned (``password_set``).
"""

from __future__ import annotations

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.api.schemas_mail import SmtpSettingsIn, SmtpSettingsOut
from streamsrv.errors import ApiError
from streamsrv.kernel import Call, Reply, route
from streamsrv.mail import smtp_settings
from streamsrv.models import SmtpSettings
from streamsrv.org.common import require_org_admin
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


NO_STORE = {"Cache-Control": "no-store"}


@route(
    "GET",
    PATH,
    summary="The organization's own SMTP server (404: the server-wide one is used)",
    tag=TAG,
    response=SmtpSettingsOut,
    errors=(404,),
    scope="admin",
    guard=require_org_admin,
)
def get_smtp_settings(call: Call[None, None], session: Session) -> Reply:
    row = smtp_settings.get(session, call.identity.org_id)
    if row is None:
        raise ApiError(404, "this organization has no SMTP settings of its own; STREAMSRV_SMTP_URL is used")
    return Reply(settings_out(row), headers=NO_STORE)


@route(
    "PUT",
    PATH,
    summary="Set the organization's own SMTP server (the password is stored encrypted, never returned)",
    tag=TAG,
    body=SmtpSettingsIn,
    response=SmtpSettingsOut,
    scope="admin",
    guard=require_org_admin,
)
def put_smtp_settings(call: Call[SmtpSettingsIn, None], session: Session) -> Reply:
    body = call.body
    row = smtp_settings.put(
        session,
        Sealer(call.ctx.settings.secret_key, SMTP_CREDENTIALS),
        call.identity.org_id,
        host=body.host,
        port=body.port,
        security=body.security,
        username=body.username,
        password=body.password if "password" in body.model_fields_set else smtp_settings.KEEP,
        from_address=body.from_address,
        from_name=body.from_name,
        now=call.now,
    )
    return Reply(settings_out(row), headers=NO_STORE)


@route(
    "DELETE",
    PATH,
    summary="Forget the organization's SMTP server: survey emails use STREAMSRV_SMTP_URL again",
    tag=TAG,
    status=204,
    scope="admin",
    guard=require_org_admin,
)
def delete_smtp_settings(call: Call[None, None], session: Session) -> None:
    smtp_settings.delete(session, call.identity.org_id)


routes: list[BaseRoute] = [get_smtp_settings, put_smtp_settings, delete_smtp_settings]
