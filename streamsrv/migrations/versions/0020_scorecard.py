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
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'scorecard_weights',
                sa.JSON(),
                nullable=False,
                server_default=sa.text(
                    """'{"rating": 100, "csat": 0, "nps": 0, "fcr": 0, "qa": 0}'"""
                ),
            )
        )
        batch_op.add_column(
            sa.Column('scorecard_min_responses', sa.Integer(), nullable=False, server_default=sa.text("5"))
        )


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('scorecard_min_responses')
        batch_op.drop_column('scorecard_weights')
