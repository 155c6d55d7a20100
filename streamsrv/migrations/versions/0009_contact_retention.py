"""contact retention

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import streamsrv.models


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOLDS_CONTACT = sa.text(
    "(customer_email IS NOT NULL OR customer_name IS NOT NULL OR customer_phone IS NOT NULL)"
)


def upgrade() -> None:
    # Existing accounts take the default a new account gets.
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_retention_days', sa.Integer(), nullable=False, server_default=sa.text("30")))

    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_erased_at', streamsrv.models.UTCDateTime(), nullable=True))

    op.create_index(
        'ix_interactions_contact_held',
        'interactions',
        ['account_id', 'created_at'],
        unique=False,
        sqlite_where=HOLDS_CONTACT,
        postgresql_where=HOLDS_CONTACT,
    )


def downgrade() -> None:
    op.drop_index('ix_interactions_contact_held', table_name='interactions')

    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_column('contact_erased_at')

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('contact_retention_days')
