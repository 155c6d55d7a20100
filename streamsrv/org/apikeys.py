"""API keys for integrations; the secret is shown once, at creation.

Only an administrator of the whole organization manages keys: a key can grant ``admin``, so a
narrower credential minting keys would be an escalation path. A revoked key stops working on
the next request: ``streamsrv.auth`` caches a key for a few seconds at most, and revoking clears
that cache on every node (``streamsrv.revocation``).
"""

from __future__ import annotations

from sqlmodel import Session, select

from streamsrv import audit as audit_log
from streamsrv.auth import Identity
from streamsrv.models import Account, ApiKey, utcnow
from streamsrv.org.common import Page, check_ids_in_org, get_in_org, paginate
from streamsrv.org.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, PageQuery
from streamsrv.tenancy import new_api_key


def key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


def create(session: Session, identity: Identity, body: ApiKeyCreate) -> ApiKeyCreated:
    check_ids_in_org(session, Account, body.account_ids, identity.org_id, "account_ids")
    key, plaintext = new_api_key(
        session,
        identity.org_id,
        body.name,
        body.scopes,
        account_ids=body.account_ids,
        created_by=identity.user_id,
    )
    audit_log.record(session, identity, "api_key.created", f"api_key:{key.id}", {"name": key.name})
    return ApiKeyCreated(**key_out(key).model_dump(), key=plaintext)


def listing(session: Session, identity: Identity, query: PageQuery) -> Page[ApiKeyOut]:
    stmt = select(ApiKey).where(ApiKey.org_id == identity.org_id)
    rows, cursor = paginate(session, stmt, ApiKey.id, query.cursor, query.limit)
    return Page([key_out(k) for k in rows], cursor)


def get(session: Session, identity: Identity, key_id: int) -> ApiKeyOut:
    return key_out(get_in_org(session, ApiKey, key_id, identity.org_id, "API key"))


def revoke(session: Session, identity: Identity, key_id: int) -> ApiKeyOut:
    """Repeating it is harmless: the first revocation time is kept."""
    key = get_in_org(session, ApiKey, key_id, identity.org_id, "API key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.flush()
        audit_log.record(session, identity, "api_key.revoked", f"api_key:{key_id}", {"name": key.name})
    return key_out(key)
