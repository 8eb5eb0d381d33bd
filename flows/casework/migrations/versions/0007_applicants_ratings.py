"""The applicant's own pages and 好差评: enterprise applicants (kind, legal representative),
ratings and their follow-ups, one-time login codes, uploaded material files

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applicant_kind', _TEXT(length=20), nullable=False,
                                      server_default='person'))
        batch_op.add_column(sa.Column('legal_representative', _TEXT(length=200),
                                      nullable=True))
    op.create_table(
        'rating',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', _TEXT(length=40), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('comment', _TEXT(length=500), nullable=True),
        sa.Column('channel', _TEXT(length=20), nullable=False),
        sa.Column('rated_at', _TIME(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id'),
    )
    op.create_table(
        'rating_follow_up',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rating_id', sa.Integer(), nullable=False),
        sa.Column('case_id', _TEXT(length=40), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('called_back_at', _TIME(), nullable=True),
        sa.Column('called_back_by', _TEXT(length=200), nullable=True),
        sa.Column('call_back_note', _TEXT(length=2000), nullable=True),
        sa.Column('rectified_at', _TIME(), nullable=True),
        sa.Column('rectified_by', _TEXT(length=200), nullable=True),
        sa.Column('rectification', _TEXT(length=2000), nullable=True),
        sa.Column('appealed_at', _TIME(), nullable=True),
        sa.Column('appealed_by', _TEXT(length=200), nullable=True),
        sa.Column('appeal_reason', _TEXT(length=2000), nullable=True),
        sa.Column('appeal_upheld', sa.Boolean(), nullable=True),
        sa.Column('appeal_decided_by', _TEXT(length=200), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['rating_id'], ['rating.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('rating_id'),
    )
    with op.batch_alter_table('rating_follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_follow_up_case_id'), ['case_id'],
                              unique=False)
    op.create_table(
        'applicant_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subject_digest', _TEXT(length=64), nullable=False),
        sa.Column('code_digest', _TEXT(length=64), nullable=False),
        sa.Column('created_at', _TIME(), nullable=False),
        sa.Column('expires_at', _TIME(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('used_at', _TIME(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('applicant_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applicant_code_subject_digest'),
                              ['subject_digest'], unique=False)
    op.create_table(
        'material_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', _TEXT(length=40), nullable=False),
        sa.Column('material_id', _TEXT(length=200), nullable=False),
        sa.Column('file_name', _TEXT(length=200), nullable=False),
        sa.Column('content_type', _TEXT(length=100), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('sha256', _TEXT(length=64), nullable=False),
        sa.Column('uploaded_at', _TIME(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('material_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_material_file_case_id'), ['case_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('material_file')
    op.drop_table('applicant_code')
    op.drop_table('rating_follow_up')
    op.drop_table('rating')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('legal_representative')
        batch_op.drop_column('applicant_kind')
