"""An account's coaching alert rules: read by whoever coaches in it, replaced by administrators."""

from __future__ import annotations

from sqlmodel import Session

from streamsrv import audit as audit_log
from streamsrv.auth import Identity
from streamsrv.coaching.access import coachable_teams
from streamsrv.coaching.schemas import AlertRulesIn, AlertRulesOut
from streamsrv.errors import not_found
from streamsrv.models import Account, alert_rules_of
from streamsrv.org.common import get_in_org


def rules_out(account: Account) -> AlertRulesOut:
    assert account.id is not None
    return AlertRulesOut(
        account_id=account.id, alert_rules=AlertRulesIn.model_validate(alert_rules_of(account))
    )


def _leads_in(session: Session, identity: Identity, account_id: int) -> bool:
    """Team leaders read the rules of the accounts their teams belong to."""
    return any(t.account_id == account_id for t in coachable_teams(session, identity))


def read_rules(session: Session, identity: Identity, account_id: int) -> AlertRulesOut:
    account = get_in_org(session, Account, account_id, identity.org_id, "account")
    if not identity.sees_account(account_id) and not _leads_in(session, identity, account_id):
        raise not_found("account")
    return rules_out(account)


def replace_rules(
    session: Session, identity: Identity, account_id: int, rules: AlertRulesIn
) -> AlertRulesOut:
    if not identity.sees_account(account_id):
        raise not_found("account")
    account = get_in_org(session, Account, account_id, identity.org_id, "account")
    # A new dict: the JSON column notices replacement, not mutation in place.
    account.alert_rules = rules.model_dump(mode="json")
    session.add(account)
    session.flush()
    audit_log.record(
        session, identity, "account.alert_rules_updated", f"account:{account_id}", account.alert_rules
    )
    return rules_out(account)
