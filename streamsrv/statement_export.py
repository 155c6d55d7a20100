"""A month's reward statement as a payroll sheet (CSV and XLSX).

One row per agent: name, external ids, each reward's count and value, the amount cut by the
account's monthly cap, adjustments, amounts in other currencies (kept out of the total) and the
total; a last row with the account's totals. Column titles use the account's reward labels, never
codes.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from sqlmodel import Session, col, select

from streamsrv.labels import vocabulary
from streamsrv.models import Account, Agent

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def payroll_table(session: Session, account: Account, statement: dict[str, Any]) -> list[list[Any]]:
    """Header, one row per agent, and the totals row."""
    vocab = vocabulary(account)
    codes = [str(item["code"]) for item in account.reward_catalogue if item.get("code")]
    for agent_row in statement["agents"]:
        codes.extend(code for code in agent_row["rewards"] if code not in codes)
    currency = statement["currency"]
    header: list[Any] = ["Agent", "External ids"]
    for code in codes:
        label = vocab.reward(code)
        header += [f"{label}: count", f"{label}: value ({currency})"]
    others = sorted(statement.get("other_currencies") or {})
    header += [f"Capped ({currency})", f"Adjustments ({currency})"]
    header += [f"Other currency, not in total ({code})" for code in others]
    header += [f"Total ({currency})"]
    ids = [a["agent_id"] for a in statement["agents"]]
    agents = {a.id: a for a in session.exec(select(Agent).where(col(Agent.id).in_(ids)))} if ids else {}
    rows: list[list[Any]] = [header]
    sums: dict[str, list[Any]] = {code: [0, 0] for code in codes}
    adjustments: Any = 0
    capped: Any = 0
    for agent_row in statement["agents"]:
        agent = agents.get(agent_row["agent_id"])
        name = agent.name if agent is not None else f"#{agent_row['agent_id']}"
        external = "; ".join(f"{k}: {v}" for k, v in sorted((agent.external_ids if agent else {}).items()))
        row: list[Any] = [_text(name), _text(external)]
        for code in codes:
            reward = agent_row["rewards"].get(code, {"count": 0, "value": 0})
            row += [reward["count"], reward["value"]]
            sums[code][0] += reward["count"]
            sums[code][1] += reward["value"]
        row += [agent_row.get("capped", 0), agent_row["adjustments"]]
        row += [agent_row.get("other_currencies", {}).get(code, {}).get("total", 0) for code in others]
        row += [agent_row["total"]]
        adjustments += agent_row["adjustments"]
        capped += agent_row.get("capped", 0)
        rows.append(row)
    totals: list[Any] = ["Total", ""]
    for code in codes:
        totals += sums[code]
    totals += [capped, adjustments]
    totals += [statement["other_currencies"][code]["total"] for code in others]
    totals += [statement["total"]]
    rows.append(totals)
    return rows


def to_csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def to_xlsx(rows: list[list[Any]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(account: Account, month: str, ext: str) -> str:
    return f"statement-{account.id}-{month}.{ext}"
