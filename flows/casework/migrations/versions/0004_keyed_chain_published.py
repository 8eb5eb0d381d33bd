"""keyed audit chain (HMAC per event and on the head); published procedure definitions

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
    with op.batch_alter_table('procedure_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('published_by',
                                      sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('procedure_definition', schema=None) as batch_op:
        batch_op.drop_column('published_by')
        batch_op.drop_column('published_at')
    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.drop_column('mac')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('mac')
