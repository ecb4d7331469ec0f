"""multi-factor authentication and WebAuthn: mfa_factors, mfa_setups, mfa_challenges,
webauthn_credentials, webauthn_ceremonies (mfa/, webauthn/)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:50:00.000000
"""

from alembic import op
import sqlalchemy as sa

from hookdoor.db.types import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mfa_factors',
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('totp_secret', sa.Text(), nullable=True),
    sa.Column('totp_last_step', sa.Integer(), nullable=False),
    sa.Column('recovery_code_hashes', sa.JSON(), nullable=False),
    sa.Column('preferred', sa.String(length=20), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_mfa_factors'))
    )
    with op.batch_alter_table('mfa_factors', schema=None) as batch_op:
        batch_op.create_index('ix_mfa_factors_user', ['owner', 'name'], unique=False)
    op.create_table('mfa_setups',
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('mfa_type', sa.String(length=20), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('recovery_code_hash', sa.String(length=64), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'mfa_type', name=op.f('pk_mfa_setups'))
    )
    with op.batch_alter_table('mfa_setups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mfa_setups_expires_at'), ['expires_at'], unique=False)
    op.create_table('mfa_challenges',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('application', sa.String(length=100), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_mfa_challenges'))
    )
    with op.batch_alter_table('mfa_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mfa_challenges_expires_at'), ['expires_at'], unique=False)
    op.create_table('webauthn_credentials',
    sa.Column('credential_id', sa.String(length=1400), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('sign_count', sa.Integer(), nullable=False),
    sa.Column('transports', sa.JSON(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('credential_id', name=op.f('pk_webauthn_credentials'))
    )
    with op.batch_alter_table('webauthn_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webauthn_credentials_user_id'), ['user_id'], unique=False)
    op.create_table('webauthn_ceremonies',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('challenge', sa.String(length=200), nullable=False),
    sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_webauthn_ceremonies'))
    )
    with op.batch_alter_table('webauthn_ceremonies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webauthn_ceremonies_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    for table in ('webauthn_ceremonies', 'webauthn_credentials', 'mfa_challenges', 'mfa_setups'):
        op.drop_table(table)
    with op.batch_alter_table('mfa_factors', schema=None) as batch_op:
        batch_op.drop_index('ix_mfa_factors_user')
    op.drop_table('mfa_factors')
