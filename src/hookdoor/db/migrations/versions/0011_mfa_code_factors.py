"""email and SMS second factors: mfa_factors.email_enabled, mfa_factors.phone_enabled (mfa/)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mfa_factors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_enabled', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('phone_enabled', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('mfa_factors', schema=None) as batch_op:
        batch_op.drop_column('phone_enabled')
        batch_op.drop_column('email_enabled')
