"""notification channels: Slack and Microsoft Teams incoming webhooks

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-26 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import streamsrv.models


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('url_sealed', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('url_hint', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('created_at', streamsrv.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', streamsrv.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification_channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_channels_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notification_channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_channels_org_id'))
    op.drop_table('notification_channels')
