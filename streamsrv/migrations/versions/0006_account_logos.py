"""account logos

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import streamsrv.models


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('account_logos',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', streamsrv.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('account_id')
    )
    with op.batch_alter_table('account_logos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_logos_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('account_logos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_logos_org_id'))

    op.drop_table('account_logos')
