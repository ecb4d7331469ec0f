"""casbin rules: the policy rules of adapters kept in this database, and the authz generation

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:15:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('casbin_rules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('adapter', sa.String(length=201), nullable=False),
    sa.Column('ptype', sa.String(length=100), nullable=False),
    *(sa.Column(f'v{i}', sa.Text(), nullable=False) for i in range(6)),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_casbin_rules'))
    )
    with op.batch_alter_table('casbin_rules', schema=None) as batch_op:
        batch_op.create_index('ix_casbin_rules_adapter', ['adapter', 'ptype'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('casbin_rules', schema=None) as batch_op:
        batch_op.drop_index('ix_casbin_rules_adapter')

    op.drop_table('casbin_rules')
