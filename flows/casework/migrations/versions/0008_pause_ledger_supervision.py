"""The pause ledger of steps (step_pause; a step's open pause_reason, pause_counted), 督办
notices (supervision_notice), case_step.decided_at indexed (quarterly grades)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _text(length: int | None = None):
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table('case_step', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pause_reason', _text(30), nullable=True))
        batch_op.add_column(sa.Column('pause_counted', sa.Boolean(), nullable=True))
        batch_op.create_index(batch_op.f('ix_case_step_decided_at'), ['decided_at'],
                              unique=False)
    op.create_table(
        'step_pause',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', _text(40), nullable=False),
        sa.Column('case_step_id', sa.Integer(), nullable=False),
        sa.Column('step_id', _text(200), nullable=False),
        sa.Column('reason', _text(30), nullable=False),
        sa.Column('counted', sa.Boolean(), nullable=False),
        sa.Column('started_on', sa.Date(), nullable=False),
        sa.Column('started_by', _text(200), nullable=False),
        sa.Column('ended_on', sa.Date(), nullable=True),
        sa.Column('ended_by', _text(200), nullable=True),
        sa.Column('working_days', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['case_step_id'], ['case_step.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('step_pause', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_step_pause_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_step_pause_case_step_id'), ['case_step_id'],
                              unique=False)
    op.create_table(
        'supervision_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', _text(40), nullable=False),
        sa.Column('step_id', _text(200), nullable=False),
        sa.Column('department_id', _text(200), nullable=False),
        sa.Column('colour', _text(10), nullable=False),
        sa.Column('issued_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('reply_due_date', sa.Date(), nullable=False),
        sa.Column('answer', _text(), nullable=True),
        sa.Column('answered_by', _text(200), nullable=True),
        sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('escalated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'step_id', 'colour',
                            name='uq_supervision_notice_case_step_colour'),
    )
    with op.batch_alter_table('supervision_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_notice_case_id'), ['case_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_notice_department_id'),
                              ['department_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('supervision_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_notice_department_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_notice_case_id'))
    op.drop_table('supervision_notice')
    with op.batch_alter_table('step_pause', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_step_pause_case_step_id'))
        batch_op.drop_index(batch_op.f('ix_step_pause_case_id'))
    op.drop_table('step_pause')
    with op.batch_alter_table('case_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_step_decided_at'))
        batch_op.drop_column('pause_counted')
        batch_op.drop_column('pause_reason')
