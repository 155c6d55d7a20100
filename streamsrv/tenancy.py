"""Creating tenants: an organization with its first admin and an admin API key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlmodel import Session

from streamsrv.models import ApiKey, Organization, Role, User
from streamsrv.security import apikeys
from streamsrv.security.password_policy import password_problem
from streamsrv.security.passwords import hash_password

ADMIN_NAME = "Administrator"


class TenancyError(ValueError):
    """The organization cannot be created as asked (an empty name, not an email address)."""

    code = "validation_error"
    fields: dict[str, str] = {}


class WeakPassword(TenancyError):
    """The admin password given is refused by the password rule."""

    code = "validation_error"

    def __init__(self, problem: str) -> None:
        super().__init__(f"password: {problem}")
        self.fields = {"password": problem}


@dataclass(frozen=True)
class NewOrg:
    org_id: int
    admin_user_id: int
    admin_email: str
    admin_password: str
    api_key: str

    def as_dict(self) -> dict[str, object]:
        return {
            "org_id": self.org_id,
            "admin": {
                "user_id": self.admin_user_id,
                "email": self.admin_email,
                "password": self.admin_password,
            },
            "api_key": self.api_key,
        }


def new_api_key(
    session: Session,
    org_id: int,
    name: str,
    scopes: list[str],
    account_ids: list[int] | None = None,
    created_by: int | None = None,
) -> tuple[ApiKey, str]:
    generated = apikeys.generate()
    key = ApiKey(
        org_id=org_id,
        name=name,
        prefix=generated.prefix,
        key_hash=generated.key_hash,
        scopes=sorted(set(scopes)),
        account_ids=sorted(set(account_ids or [])),
        created_by=created_by,
    )
    session.add(key)
    session.flush()
    return key, generated.plaintext


def create_org(session: Session, name: str, admin_email: str, admin_password: str | None = None) -> NewOrg:
    name = name.strip()
    email = admin_email.strip().lower()
    if not name:
        raise TenancyError("organization name must not be empty")
    if "@" not in email or len(email) > 254:
        raise TenancyError(f"not an email address: {admin_email!r}")
    if admin_password is not None:
        problem = password_problem(admin_password, email, ADMIN_NAME)
        if problem is not None:
            raise WeakPassword(problem)
    password = admin_password or secrets.token_urlsafe(12)
    org = Organization(name=name)
    session.add(org)
    session.flush()
    assert org.id is not None
    admin = User(
        org_id=org.id,
        email=email,
        name=ADMIN_NAME,
        password_hash=hash_password(password),
        role=Role.admin,
    )
    session.add(admin)
    session.flush()
    assert admin.id is not None
    _, key = new_api_key(session, org.id, "bootstrap admin key", ["admin"], created_by=admin.id)
    return NewOrg(
        org_id=org.id, admin_user_id=admin.id, admin_email=email, admin_password=password, api_key=key
    )
