"""users' emails unique per organization; answers the customer gave are marked

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0001 declared the column unique without a name: PostgreSQL named it, SQLite did not (until a
# downgrade of this revision named it).
_PG_EMAIL_KEY = 'users_email_key'
_NAMING = {'uq': 'uq_%(table_name)s_%(column_0_name)s'}


def _drop_global_email_key() -> None:
    found = sa.inspect(op.get_bind()).get_unique_constraints('users')
    name = next(c['name'] for c in found if c['column_names'] == ['email'])
    # On SQLite the table is rebuilt without it; the convention names an unnamed one to drop it.
    with op.batch_alter_table('users', naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint(name or 'uq_users_email', type_='unique')


def upgrade() -> None:
    _drop_global_email_key()
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_users_org_email', ['org_id', 'email'])
        batch_op.create_index(batch_op.f('ix_users_email'), ['email'], unique=False)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('by_customer', sa.Boolean(), nullable=False, server_default=sa.false()))
    # Before this column nothing told who last wrote an answer. Every answer to a request that had
    # a link may have come from the customer, so those are protected; ingest-only requests have
    # no link (empty nonce) and stay ingest's own.
    op.execute(
        "UPDATE responses SET by_customer = TRUE WHERE request_id IN "
        "(SELECT id FROM feedback_requests WHERE nonce <> '')"
    )


def downgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('by_customer')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_email'))
        batch_op.drop_constraint('uq_users_org_email', type_='unique')
    # Fails, as it must, if two organizations now share an address.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_unique_constraint(_PG_EMAIL_KEY, ['email'])
