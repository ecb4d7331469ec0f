"""refresh token expiry: tokens.refresh_expires_at, for refusing expired refresh tokens and purging

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:40:00.000000
"""

from alembic import op
import sqlalchemy as sa

import hookdoor.db.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refresh_expires_at', hookdoor.db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_column('refresh_expires_at')
