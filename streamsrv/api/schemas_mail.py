"""Request and response models of the survey-email endpoints: SMTP settings and suppressions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from streamsrv.models import SmtpSecurity, SuppressionReason
from streamsrv.org.schemas import Email, Input, Line, SenderName

# A host name, IPv4 or IPv6 address: nothing that could smuggle a path, a user or a port.
Host = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\[\]-]+$"),
]


class SmtpSettingsIn(Input):
    """``PUT /api/v1/smtp-settings``. Omitting ``password`` keeps the stored one; null clears it."""

    host: Host
    # Default: 587 for starttls, 465 for tls, 25 for none.
    port: Annotated[int, Field(strict=True, ge=1, le=65535)] | None = None
    security: SmtpSecurity = SmtpSecurity.starttls
    username: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254), Line] | None
    ) = None
    password: Annotated[str, StringConstraints(min_length=1, max_length=500), Line] | None = None
    from_address: Email
    from_name: SenderName | None = None


class SmtpSettingsOut(BaseModel):
    host: str
    port: int
    security: str
    username: str | None
    # The password itself is never returned.
    password_set: bool
    from_address: str
    from_name: str | None
    updated_at: datetime


class SuppressionIn(Input):
    email: Email
    reason: SuppressionReason = SuppressionReason.manual


class SuppressionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    account_id: int
    email: str
    reason: str
    created_at: datetime
