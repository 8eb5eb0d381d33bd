"""帮办代办: staff acting on a case for its applicant (case_agent)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_agent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('agent', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('acting_for', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('authorisation', sqlmodel.sql.sqltypes.AutoString(length=500),
                  nullable=False),
        sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('case_agent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_agent_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_agent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_agent_case_id'))
    op.drop_table('case_agent')
