"""blended scorecard: per-account weights and the minimum responses for a score

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing accounts start with the customer rating alone (what the boards rank by) and the
    # same minimum as the leaderboards' default.
    # Plain ADD COLUMN with constant defaults: a batch copy of ``accounts`` (which a default
    # written as an SQL expression makes Alembic do on SQLite) would have to drop a table that
    # every other table references.
    op.add_column(
        'accounts',
        sa.Column(
            'scorecard_weights',
            sa.JSON(),
            nullable=False,
            server_default='{"rating": 100, "csat": 0, "nps": 0, "fcr": 0, "qa": 0}',
        ),
    )
    op.add_column(
        'accounts', sa.Column('scorecard_min_responses', sa.Integer(), nullable=False, server_default='5')
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch copy of ``accounts`` would have to
    # drop a table that every other table references.
    op.drop_column('accounts', 'scorecard_min_responses')
    op.drop_column('accounts', 'scorecard_weights')
