"""wallboard display options: top N, names below it, shout-out pin time

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 19:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing screens keep showing what they showed: everyone (top_n null), by name.
    with op.batch_alter_table('displays', schema=None) as batch_op:
        batch_op.add_column(sa.Column('top_n', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('below_top', sa.String(length=20), nullable=False, server_default='hidden')
        )
        batch_op.add_column(
            sa.Column('shoutout_pin_minutes', sa.Integer(), nullable=False, server_default='10')
        )


def downgrade() -> None:
    with op.batch_alter_table('displays', schema=None) as batch_op:
        batch_op.drop_column('shoutout_pin_minutes')
        batch_op.drop_column('below_top')
        batch_op.drop_column('top_n')
