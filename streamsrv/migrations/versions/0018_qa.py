"""QA scorecards: versioned templates per account and evaluations of interactions

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from streamsrv.models import UTCDateTime

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'qa_templates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('family_id', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('sections', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id']),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.ForeignKeyConstraint(['created_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('family_id', 'version', name='uq_qa_templates_family_version'),
    )
    op.create_index('ix_qa_templates_org_id', 'qa_templates', ['org_id'])
    op.create_index('ix_qa_templates_account_id', 'qa_templates', ['account_id'])
    op.create_index('ix_qa_templates_family_id', 'qa_templates', ['family_id'])
    op.create_table(
        'qa_evaluations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('interaction_id', sa.Integer(), nullable=False),
        sa.Column('template_id', sa.Integer(), nullable=False),
        sa.Column('reviewer_id', sa.Integer(), nullable=False),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('comment', sa.String(length=2000), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('auto_failed', sa.Boolean(), nullable=False),
        sa.Column('agent_status', sa.String(length=20), nullable=False),
        sa.Column('agent_comment', sa.String(length=2000), nullable=False),
        sa.Column('agent_responded_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id']),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id']),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id']),
        sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id']),
        sa.ForeignKeyConstraint(['template_id'], ['qa_templates.id']),
        sa.ForeignKeyConstraint(['reviewer_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    for column in ('org_id', 'account_id', 'team_id', 'agent_id', 'interaction_id'):
        op.create_index(f'ix_qa_evaluations_{column}', 'qa_evaluations', [column])


def downgrade() -> None:
    op.drop_table('qa_evaluations')
    op.drop_table('qa_templates')
