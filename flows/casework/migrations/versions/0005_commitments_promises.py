"""告知承诺 at the window (commitment letters and their 核查), revoked certificates, 容缺
promises (a submission's promised_at)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'commitment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('step_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('department_id', sqlmodel.sql.sqltypes.AutoString(length=200),
                  nullable=False),
        sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('signed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('signed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('check_due_date', sa.Date(), nullable=False),
        sa.Column('check_result', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column('check_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('checked_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('checked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'step_id', name='uq_commitment_case_step'),
    )
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitment_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitment_department_id'), ['department_id'],
                              unique=False)
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('revoked_reason', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=True))
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('promised_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('promised_at')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_column('revoked_reason')
        batch_op.drop_column('revoked_at')
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitment_department_id'))
        batch_op.drop_index(batch_op.f('ix_commitment_case_id'))
    op.drop_table('commitment')
