"""outbox fanout

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-26 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows were fanned out (or needed none) when they were written.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fanout', sa.Boolean(), nullable=False, server_default=sa.text("false")))
    op.create_index(
        'ix_outbox_fanout',
        'outbox',
        ['id'],
        unique=False,
        # As the fan-out query is rendered on each: SQLite's planner needs ``= 1`` to use it.
        sqlite_where=sa.text("fanout = 1"),
        postgresql_where=sa.text("fanout"),
    )


def downgrade() -> None:
    op.drop_index('ix_outbox_fanout', table_name='outbox')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('fanout')
