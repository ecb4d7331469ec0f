"""session impersonation: the user a global administrator acts as in a sign-in session

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:10:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('impersonating', sa.String(length=201), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_column('impersonating')
