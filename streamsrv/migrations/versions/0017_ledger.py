"""reward ledger: immutable entries and closed statement months

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 20:20:00.000000
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlmodel
from alembic import op

import streamsrv.models
from streamsrv.models import FOLLOWUP_SOURCE
from streamsrv.org.schemas import DEFAULT_CURRENCY
from streamsrv.periods import zone

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ledger_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('response_id', sa.Integer(), nullable=True),
        sa.Column('reward', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column('amount_cents', sa.Integer(), nullable=False),
        sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('reverses_id', sa.Integer(), nullable=True),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('created_at', streamsrv.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id']),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id']),
        sa.ForeignKeyConstraint(['response_id'], ['responses.id']),
        sa.ForeignKeyConstraint(['reverses_id'], ['ledger_entries.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_ledger_account_month', 'ledger_entries', ['account_id', 'month'])
    op.create_index('ix_ledger_response', 'ledger_entries', ['response_id'])
    op.create_table(
        'statement_closes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('closed_at', streamsrv.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id']),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'month', name='uq_statement_close'),
    )
    _opening_awards()


def _opening_awards() -> None:
    """Responses stored before the ledger existed get their award line, so statements of past
    months are complete (value and currency from the catalogue as it is now)."""
    bind = op.get_bind()
    accounts = sa.table(
        'accounts', sa.column('id', sa.Integer()), sa.column('reward_catalogue', sa.JSON()),
        sa.column('time_zone', sa.String()),
    )
    responses = sa.table(
        'responses', sa.column('id', sa.Integer()), sa.column('org_id', sa.Integer()),
        sa.column('account_id', sa.Integer()), sa.column('agent_id', sa.Integer()),
        sa.column('reward', sa.String()), sa.column('source', sa.String()),
        sa.column('created_at', sa.DateTime()),
    )
    ledger = sa.table(
        'ledger_entries', sa.column('org_id', sa.Integer()), sa.column('account_id', sa.Integer()),
        sa.column('agent_id', sa.Integer()), sa.column('response_id', sa.Integer()),
        sa.column('reward', sa.String()), sa.column('amount_cents', sa.Integer()),
        sa.column('currency', sa.String()), sa.column('month', sa.String()), sa.column('kind', sa.String()),
        sa.column('reason', sa.String()), sa.column('created_at', sa.DateTime()),
    )
    catalogues = {}
    for account_id, catalogue, tz_name in bind.execute(
        sa.select(accounts.c.id, accounts.c.reward_catalogue, accounts.c.time_zone)
    ):
        items = json.loads(catalogue) if isinstance(catalogue, str) else (catalogue or [])
        catalogues[account_id] = ({str(i.get('code')): i for i in items}, tz_name)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    query = sa.select(responses).where(
        responses.c.reward.is_not(None), responses.c.source != FOLLOWUP_SOURCE
    ).order_by(responses.c.id)
    for r in bind.execute(query):
        items, tz_name = catalogues.get(r.account_id, ({}, 'UTC'))
        item = items.get(r.reward, {})
        local = r.created_at.replace(tzinfo=UTC).astimezone(zone(tz_name))
        rows.append({
            'org_id': r.org_id, 'account_id': r.account_id, 'agent_id': r.agent_id, 'response_id': r.id,
            'reward': r.reward, 'amount_cents': int((Decimal(str(item.get('value') or 0)) * 100).to_integral_value()),
            'currency': str(item.get('currency') or DEFAULT_CURRENCY), 'month': f'{local.year:04d}-{local.month:02d}',
            'kind': 'award', 'reason': 'opening balance', 'created_at': now,
        })
    if rows:
        op.bulk_insert(ledger, rows)


def downgrade() -> None:
    op.drop_table('statement_closes')
    op.drop_index('ix_ledger_response', table_name='ledger_entries')
    op.drop_index('ix_ledger_account_month', table_name='ledger_entries')
    op.drop_table('ledger_entries')
