"""The planner's workspace: uploaded procedures by revision, and kept scenarios

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'workspace_procedure',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('revision', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('procedure_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('definition', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('changed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('change', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.PrimaryKeyConstraint('id', 'revision'),
    )
    with op.batch_alter_table('workspace_procedure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workspace_procedure_owner'), ['owner'],
                              unique=False)
    op.create_table(
        'workspace_scenario',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('procedure', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('levers', sa.JSON(), nullable=False),
        sa.Column('saved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('workspace_scenario', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workspace_scenario_procedure'), ['procedure'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('workspace_scenario', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workspace_scenario_procedure'))
    op.drop_table('workspace_scenario')
    with op.batch_alter_table('workspace_procedure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workspace_procedure_owner'))
    op.drop_table('workspace_procedure')
