"""Each case's change marker: the audit chain's seq of its last event

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changed_seq', sa.Integer(), nullable=False,
                                      server_default='0'))
    op.execute("UPDATE cases SET changed_seq = COALESCE((SELECT max(seq) FROM audit_event "
               "WHERE audit_event.case_id = cases.id), 0)")


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('changed_seq')
