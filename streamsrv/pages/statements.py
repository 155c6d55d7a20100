"""``/statements``: an account's monthly reward statement for the people who pay it out.

Administrators, managers and client viewers whose scope covers the account read it (the same
rule as ``GET /api/v1/accounts/{id}/statements/{YYYY-MM}``); administrators and managers also
add adjustments and close the month, through the same functions as the API
(``streamsrv.ledger``), which check the caller again and write the audit log. Everything works
without scripts: the account and month are picked by a GET form, the adjustment and the close
are CSRF-protected POSTs, a mistake re-shows the page with the reason next to the field and
nothing stored, and closing asks for a confirmation first.

``?account=ID&month=YYYY-MM``: the account defaults to the one chosen in the header (else the
first), the month to last month while it is still open and holds lines (it is waiting to be
closed), else the current month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv import labels, ledger
from streamsrv.api.statements import AdjustmentIn
from streamsrv.auth import Identity, user_identity
from streamsrv.errors import ApiError
from streamsrv.models import Account, Agent, LedgerEntry, LedgerKind, utcnow
from streamsrv.pages.admin_forms import FORM_ERROR, errors_of, forbidden, posted, text
from streamsrv.pages.nav import DASHBOARD_ROLES, AccountChoice, parse_account_id
from streamsrv.pages.session import chosen_account, current_user, load, to_login
from streamsrv.templating import error_page, render

PAGE = "/statements"
# Who reads statements (the API: whole-account scope of a dashboard reader) and who changes them.
READERS = DASHBOARD_ROLES
WRITERS = ledger.WRITERS
MONTHS_OFFERED = 24
FIELD_TITLES = {"agent_id": "Agent", "amount": "Amount", "reason": "Reason", FORM_ERROR: "Adjustment"}
NOT_FOR_YOU = "Statements are for managers, administrators and client viewers of an account."


def _previous_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:])
    return f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"


def months_until(current: str, count: int = MONTHS_OFFERED) -> list[str]:
    out = [current]
    while len(out) < count:
        out.append(_previous_month(out[-1]))
    return out


def month_title(month: str) -> str:
    """``2026-10`` -> "October 2026"."""
    return datetime(int(month[:4]), int(month[5:]), 1).strftime("%B %Y")


def default_month(session: Session, account: Account, now: datetime) -> str:
    current = ledger.month_key(now, account.time_zone)
    last = _previous_month(current)
    assert account.id is not None
    if last in ledger.closed_months(session, account.id):
        return current
    waiting = session.exec(
        select(LedgerEntry.id).where(LedgerEntry.account_id == account.id, LedgerEntry.month == last).limit(1)
    ).first()
    return last if waiting is not None else current


@dataclass(frozen=True)
class Picked:
    account_id: int
    month: str | None


def _pick(
    request: Request, accounts: list[AccountChoice], account_raw: str, month_raw: str
) -> Picked | Response:
    """The account and month asked for; a readable 404/400 page for one that is not there."""
    ids = [a.id for a in accounts]
    if account_raw:
        wanted = parse_account_id(account_raw)
        if wanted is None or wanted not in ids:
            return error_page(request, 404, "Not found", "This account is not one whose statements you see.")
        account_id = wanted
    else:
        account_id = chosen_account(request) or ids[0]
    if month_raw and not ledger.MONTH_RE.match(month_raw):
        return error_page(request, 400, "Not a month", "Pick a month from the list (written YYYY-MM).")
    return Picked(account_id, month_raw or None)


def statement_view(
    session: Session, identity: Identity, account_id: int, month: str | None, now: datetime
) -> dict[str, Any]:
    """What the page shows: the statement with labels, names and formatted amounts."""
    account = session.get(Account, account_id)
    if account is None:
        raise ApiError(404, "account not found")
    month = month or default_month(session, account, now)
    data = ledger.statement(session, identity, account_id, month, now)
    currency = data["currency"]
    vocab = labels.vocabulary(account)
    codes = [str(item["code"]) for item in account.reward_catalogue if item.get("code")]
    for row in data["agents"]:
        codes.extend(code for code in row["rewards"] if code not in codes)
    used = [code for code in codes if any(code in row["rewards"] for row in data["agents"])]
    agents = {
        a.id: a
        for a in session.exec(
            select(Agent).where(Agent.account_id == account_id).order_by(col(Agent.name), col(Agent.id))
        ).all()
    }
    rows = []
    for row in data["agents"]:
        agent = agents.get(row["agent_id"])
        rows.append({**row, "name": agent.name if agent else f"Agent {row['agent_id']}"})
    rows.sort(key=lambda r: (str(r["name"]).lower(), r["agent_id"]))
    sums = {
        code: {
            "count": sum(r["rewards"].get(code, {}).get("count", 0) for r in rows),
            "value": ledger.from_cents(
                sum(ledger.to_cents(r["rewards"].get(code, {}).get("value", 0)) for r in rows)
            ),
        }
        for code in used
    }
    entries = session.exec(
        select(LedgerEntry)
        .where(
            LedgerEntry.account_id == account_id,
            LedgerEntry.month == month,
            LedgerEntry.kind == LedgerKind.adjustment,
        )
        .order_by(col(LedgerEntry.id))
    ).all()
    adjustments = [
        {
            "agent": agents[e.agent_id].name if e.agent_id in agents else f"Agent {e.agent_id}",
            "amount": labels.format_money(ledger.from_cents(e.amount_cents), e.currency),
            "reason": e.reason,
            "actor": e.actor or "",
            "at": e.created_at,
        }
        for e in entries
    ]
    current = ledger.month_key(now, account.time_zone)
    return {
        "account": account,
        "month": month,
        "month_title": month_title(month),
        "months": [(m, month_title(m)) for m in months_until(current)],
        "statement": data,
        "currency": currency,
        "columns": [(code, vocab.reward(code)) for code in used],
        "sums": sums,
        "rows": rows,
        "sum_capped": ledger.from_cents(sum(ledger.to_cents(r["capped"]) for r in rows)),
        "sum_adjustments": ledger.from_cents(sum(ledger.to_cents(r["adjustments"]) for r in rows)),
        "others": sorted(data["other_currencies"]),
        "adjustment_lines": adjustments,
        "agent_choices": [(a.id, a.name) for a in agents.values() if a.active],
        "export_base": f"/api/v1/accounts/{account_id}/statements/{month}",
    }


def page_url(account_id: int, month: str, **extra: Any) -> str:
    return PAGE + "?" + urlencode({"account": account_id, "month": month, **extra})


async def _show(
    request: Request,
    identity: Identity,
    accounts: list[AccountChoice],
    account_id: int,
    month: str | None,
    status: int = 200,
    **extra: Any,
) -> Response:
    now = utcnow()
    try:
        view = await load(request, lambda session: statement_view(session, identity, account_id, month, now))
    except ApiError as exc:
        if exc.status == 404:
            return error_page(request, 404, "Not found", "This account is not one whose statements you see.")
        if exc.code == "month_not_started":
            return error_page(request, 422, "Not started yet", "This month has not started yet.")
        return error_page(request, exc.status, "Cannot show this statement", exc.message)
    context = {
        **view,
        "accounts": accounts,
        "can_change": identity.role in WRITERS,
        "field_titles": FIELD_TITLES,
        "errors": {},
        "values": {},
        **extra,
    }
    return render(request, "statements.html", context, status=status)


def _accounts(request: Request) -> list[AccountChoice]:
    return list(getattr(request.state, "accounts", None) or [])


async def statements_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE + (f"?{request.url.query}" if request.url.query else ""))
    if user.role not in READERS:
        return forbidden(request, NOT_FOR_YOU)
    accounts = _accounts(request)
    if not accounts:
        return render(request, "statements.html", {"no_account": True, "accounts": []})
    params = request.query_params
    picked = _pick(request, accounts, params.get("account", ""), params.get("month", ""))
    if isinstance(picked, Response):
        return picked
    return await _show(
        request,
        user_identity(user),
        accounts,
        picked.account_id,
        picked.month,
        saved=params.get("saved", ""),
        confirm_close=params.get("confirm") == "close",
    )


def _writer_only(request: Request, identity: Identity) -> Response | None:
    if identity.role not in READERS:
        return forbidden(request, NOT_FOR_YOU)
    if identity.role not in WRITERS:
        return forbidden(request, "Only managers and administrators change statements.")
    return None


async def _posted_target(request: Request) -> tuple[Identity, Any, list[AccountChoice], int, str] | Response:
    done = await posted(request, PAGE, _writer_only)
    if isinstance(done, Response):
        return done
    accounts = _accounts(request)
    month = text(done.form, "month", 10)
    picked = _pick(request, accounts, text(done.form, "account", 12) or "-", month or "-")
    if isinstance(picked, Response):
        return picked
    assert picked.month is not None
    return done.identity, done.form, accounts, picked.account_id, picked.month


async def add_adjustment(request: Request) -> Response:
    """``POST /statements/adjustments``: the form of the page, through ``ledger.add_adjustment``."""
    target = await _posted_target(request)
    if isinstance(target, Response):
        return target
    identity, form, accounts, account_id, month = target
    values = {name: text(form, name, 600) for name in ("agent_id", "amount", "reason")}
    known = set(FIELD_TITLES)
    try:
        raw_agent = values["agent_id"]
        body = AdjustmentIn.model_validate(
            {
                "agent_id": int(raw_agent) if raw_agent.isdigit() and len(raw_agent) <= 10 else raw_agent,
                "amount": values["amount"].strip() or None,
                "reason": values["reason"],
            }
        )
        now = utcnow()
        await load(
            request,
            lambda session: ledger.add_adjustment(
                session,
                identity,
                account_id,
                month,
                body.agent_id,
                Decimal(body.amount),
                body.reason,
                now,
            ),
        )
    except ValidationError as exc:
        errors = errors_of(exc, known)
        # Every mistake at once, in words: the schema stops at the first one of some fields.
        if not values["agent_id"]:
            errors["agent_id"] = "Choose an agent"
        if not values["amount"].strip():
            errors["amount"] = "Enter an amount, such as 5.00 or -5.00"
        if not values["reason"].strip():
            errors.setdefault("reason", "A reason is required")
        ordered = {name: errors[name] for name in (*FIELD_TITLES, *errors) if name in errors}
        return await _show(request, identity, accounts, account_id, month, 422, errors=ordered, values=values)
    except ApiError as exc:
        if exc.status in (403, 404):
            return error_page(request, exc.status, "Not allowed", exc.message)
        errors = errors_of(exc, known)
        return await _show(
            request, identity, accounts, account_id, month, exc.status, errors=errors, values=values
        )
    return RedirectResponse(page_url(account_id, month, saved="adjustment"), status_code=303)


async def close_month(request: Request) -> Response:
    """``POST /statements/close``: closes after the confirmation step (``confirm=yes``)."""
    target = await _posted_target(request)
    if isinstance(target, Response):
        return target
    identity, form, accounts, account_id, month = target
    if text(form, "confirm", 5) != "yes":
        return RedirectResponse(page_url(account_id, month, confirm="close"), status_code=303)
    now = utcnow()
    try:
        await load(request, lambda session: ledger.close_statement(session, identity, account_id, month, now))
    except ApiError as exc:
        if exc.status in (403, 404):
            return error_page(request, exc.status, "Not allowed", exc.message)
        errors = {FORM_ERROR: exc.message}
        return await _show(request, identity, accounts, account_id, month, exc.status, close_errors=errors)
    return RedirectResponse(page_url(account_id, month, saved="closed"), status_code=303)


routes: list[BaseRoute] = [
    Route(PAGE, statements_page, methods=["GET"], name="statements"),
    Route(PAGE + "/adjustments", add_adjustment, methods=["POST"], name="statements_adjust"),
    Route(PAGE + "/close", close_month, methods=["POST"], name="statements_close"),
]
