"""provider links: sign-in through other providers (federation/)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 00:30:00.000000
"""

from alembic import op
import sqlalchemy as sa

from hookdoor.db.types import UTCDateTime

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('provider_links',
    sa.Column('organization', sa.String(length=100), nullable=False),
    sa.Column('provider', sa.String(length=201), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('username', sa.String(length=255), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('organization', 'provider', 'subject', name=op.f('pk_provider_links'))
    )
    with op.batch_alter_table('provider_links', schema=None) as batch_op:
        batch_op.create_index('ix_provider_links_user', ['user_id', 'provider'], unique=True)
    op.create_table('provider_sign_ins',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('browser_hash', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=201), nullable=False),
    sa.Column('application', sa.String(length=100), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('user_name', sa.String(length=100), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('next', sa.Text(), nullable=False),
    sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_provider_sign_ins'))
    )
    with op.batch_alter_table('provider_sign_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_sign_ins_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('provider_sign_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provider_sign_ins_expires_at'))
    op.drop_table('provider_sign_ins')
    with op.batch_alter_table('provider_links', schema=None) as batch_op:
        batch_op.drop_index('ix_provider_links_user')
    op.drop_table('provider_links')
