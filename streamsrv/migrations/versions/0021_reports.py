"""scheduled reports: the account's report hour and weekly report day

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-26 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing accounts keep the chat digest's old hour (7 am) and get the weekly report on Mondays.
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_hour', sa.Integer(), nullable=False, server_default='7'))
        batch_op.add_column(
            sa.Column('weekly_report_day', sa.Integer(), nullable=False, server_default='1')
        )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch copy of ``accounts`` would have to
    # drop a table that every other table references.
    op.drop_column('accounts', 'weekly_report_day')
    op.drop_column('accounts', 'report_hour')
