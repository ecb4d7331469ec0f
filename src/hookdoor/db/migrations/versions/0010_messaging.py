"""messaging and verification: message_sends (send limits), verification_codes, captchas

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message_sends',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('destination', sa.String(length=320), nullable=False),
    sa.Column('caller', sa.String(length=320), nullable=False),
    sa.Column('sent_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_sends'))
    )
    with op.batch_alter_table('message_sends', schema=None) as batch_op:
        batch_op.create_index('ix_message_sends_destination', ['destination', 'sent_at'], unique=False)
        batch_op.create_index('ix_message_sends_caller', ['caller', 'sent_at'], unique=False)
        batch_op.create_index('ix_message_sends_sent_at', ['sent_at'], unique=False)
    op.create_table('verification_codes',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('organization', sa.String(length=100), nullable=False),
    sa.Column('application', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('receiver', sa.String(length=320), nullable=False),
    sa.Column('user_id', sa.String(length=201), nullable=False),
    sa.Column('provider', sa.String(length=201), nullable=False),
    sa.Column('remote_addr', sa.String(length=100), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.Column('wrong_tries', sa.Integer(), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('used', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_codes'))
    )
    with op.batch_alter_table('verification_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_codes_organization'), ['organization'], unique=False)
        batch_op.create_index('ix_verification_codes_receiver', ['receiver', 'created_at'], unique=False)
    op.create_table('captchas',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('answer_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_captchas'))
    )
    with op.batch_alter_table('captchas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_captchas_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_table('captchas')
    op.drop_table('verification_codes')
    op.drop_table('message_sends')
