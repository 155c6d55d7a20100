"""Accounts: the client programmes, with their survey settings and reward catalogue."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from streamsrv import audit as audit_log
from streamsrv.access import accounts_clause, visible
from streamsrv.auth import Identity
from streamsrv.errors import not_found
from streamsrv.models import Account
from streamsrv.org.common import (
    Page,
    apply,
    conflict,
    flush_or_conflict,
    get_in_org,
    get_visible,
    name_taken,
    paginate,
)
from streamsrv.org.schemas import DEFAULT_CURRENCY, AccountCreate, AccountOut, PageQuery
from streamsrv.scorecard import weights_of

DUPLICATE = "an account with this name already exists"


def account_out(account: Account) -> AccountOut:
    out = AccountOut.model_validate(account, from_attributes=True)
    # Rewards stored before they had a currency are in the default one.
    out.reward_catalogue = [
        {**item, "currency": item.get("currency") or DEFAULT_CURRENCY} for item in out.reward_catalogue
    ]
    out.scorecard_weights = weights_of(account.scorecard_weights)
    return out


def _name_taken(session: Session, org_id: int, name: str, except_id: int | None = None) -> bool:
    return name_taken(session, Account, col(Account.org_id) == org_id, name, except_id)


def load_visible(session: Session, identity: Identity, account_id: int) -> Account:
    return get_visible(session, Account, account_id, identity, accounts_clause(identity), "account")


def create(session: Session, identity: Identity, body: AccountCreate) -> AccountOut:
    if _name_taken(session, identity.org_id, body.name):
        raise conflict(DUPLICATE, "name")
    # Omitted catalogues keep the model's defaults rather than becoming empty.
    values: dict[str, Any] = body.model_dump(mode="json", exclude_none=True)
    account = Account(org_id=identity.org_id, **values)
    session.add(account)
    flush_or_conflict(session, DUPLICATE, "name")
    audit_log.record(session, identity, "account.created", f"account:{account.id}", {"name": account.name})
    return account_out(account)


def listing(session: Session, identity: Identity, query: PageQuery) -> Page[AccountOut]:
    stmt = visible(select(Account).where(Account.org_id == identity.org_id), accounts_clause(identity))
    rows, cursor = paginate(session, stmt, Account.id, query.cursor, query.limit)
    return Page([account_out(a) for a in rows], cursor)


def get(session: Session, identity: Identity, account_id: int) -> AccountOut:
    return account_out(load_visible(session, identity, account_id))


def update(session: Session, identity: Identity, account_id: int, changes: dict[str, Any]) -> AccountOut:
    if not identity.sees_account(account_id):
        # Same answer as for a missing row: a restricted key learns nothing about other accounts.
        raise not_found("account")
    account = get_in_org(session, Account, account_id, identity.org_id, "account")
    name = changes.get("name")
    if name is not None and _name_taken(session, identity.org_id, name, except_id=account_id):
        raise conflict(DUPLICATE, "name")
    apply(account, changes)
    session.add(account)
    flush_or_conflict(session, DUPLICATE, "name")
    audit_log.record(
        session, identity, "account.updated", f"account:{account_id}", {"fields": sorted(changes)}
    )
    return account_out(account)
