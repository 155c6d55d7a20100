"""An organization's own SMTP server, as stored: the password sealed, never handed back."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from streamsrv.mail.smtp import DEFAULT_PORTS
from streamsrv.models import SmtpSecurity, SmtpSettings
from streamsrv.security.sealed import Sealer

# Marks "the caller did not send a password": the stored one stays.
KEEP = object()


def get(session: Session, org_id: int) -> SmtpSettings | None:
    return session.get(SmtpSettings, org_id)


def put(
    session: Session,
    sealer: Sealer,
    org_id: int,
    *,
    host: str,
    port: int | None,
    security: SmtpSecurity,
    username: str | None,
    password: str | object | None,
    from_address: str,
    from_name: str | None,
    now: datetime,
) -> SmtpSettings:
    row = get(session, org_id) or SmtpSettings(org_id=org_id, host=host, port=0, from_address=from_address)
    row.host = host
    row.port = port or DEFAULT_PORTS[security]
    row.security = security
    row.username = username
    if password is not KEEP:
        row.password_sealed = sealer.seal(password) if isinstance(password, str) else None
    row.from_address = from_address
    row.from_name = from_name
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def delete(session: Session, org_id: int) -> bool:
    row = get(session, org_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
