"""webhook endpoints

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-26 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import streamsrv.models


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('account_ids', sa.JSON(), nullable=False),
    sa.Column('secret_sealed', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('previous_secret_sealed', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('previous_until', streamsrv.models.UTCDateTime(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('disabled_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('disabled_at', streamsrv.models.UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', streamsrv.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', streamsrv.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    # Ids are never reused: a deleted endpoint's delivery log must not show as a new one's.
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_endpoints_org_id'), ['org_id'], unique=False)
    # The delivery log of one endpoint reads the newest rows of its queue.
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_queue_id', ['queue', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_queue_id')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_endpoints_org_id'))
    op.drop_table('webhook_endpoints')
