"""A workspace procedure shared read-only with named colleagues

Revision ID: 0011
Revises: 0010

What was shared before stays shared: the ``shared`` column of ``workspace_procedure``
still shares a procedure with every colleague who reads workspaces.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'workspace_share',
        sa.Column('procedure', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('reader', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('shared_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('procedure', 'reader'),
    )
    with op.batch_alter_table('workspace_share', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workspace_share_reader'), ['reader'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('workspace_share', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workspace_share_reader'))
    op.drop_table('workspace_share')
