"""statements: per-agent monthly reward cap on the account; cap and currency of closed months

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Whole cents of the catalogue's currency; null (every existing account) means no cap.
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reward_cap_per_agent', sa.Integer(), nullable=True))
    # What a month was closed with (months closed before this release: no cap, today's currency).
    with op.batch_alter_table('statement_closes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reward_cap', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch copy of ``accounts`` would have to
    # drop a table that every other table references.
    op.drop_column('statement_closes', 'currency')
    op.drop_column('statement_closes', 'reward_cap')
    op.drop_column('accounts', 'reward_cap_per_agent')
