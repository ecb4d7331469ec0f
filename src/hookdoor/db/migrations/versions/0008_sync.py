"""synchronization: the last run of each syncer and LDAP server, and run leases (sync/)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:45:00.000000
"""

from alembic import op
import sqlalchemy as sa

from hookdoor.db.types import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sync_runs',
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=201), nullable=False),
    sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'key', name=op.f('pk_sync_runs'))
    )
    op.create_table('sync_leases',
    sa.Column('key', sa.String(length=220), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sync_leases'))
    )
    _ldaps_keyed_by_id()


def _ldaps_keyed_by_id() -> None:
    """LDAP servers are keyed by their id now (stored as the name): one saved before has its name as id."""
    ldaps = sa.table('ldaps', sa.column('owner'), sa.column('name'), sa.column('data', sa.JSON()))
    connection = op.get_bind()
    for owner, name, data in connection.execute(sa.select(ldaps.c.owner, ldaps.c.name, ldaps.c.data)).all():
        if isinstance(data, dict) and not data.get('id'):
            connection.execute(sa.update(ldaps).where(ldaps.c.owner == owner, ldaps.c.name == name)
                               .values(data={**data, 'id': name}))


def downgrade() -> None:
    op.drop_table('sync_leases')
    op.drop_table('sync_runs')
